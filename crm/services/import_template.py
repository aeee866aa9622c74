"""The import's downloadable template: an XLSX with the headers the import recognises (crm.spreadsheets.headers)
and one example row that imports cleanly, so a county can fill in its 台账 without guessing."""
from __future__ import annotations

from flask_babel import gettext as _

from crm.services.permissions import require
from crm.spreadsheets import write_xlsx

# (header, example): the first header each field is known by, in the order a 台账 usually has them.
COLUMNS = [
    ("企业名称", "安康富硒茶业有限公司"), ("类型", "企业"), ("统一社会信用代码", ""), ("所属行业", "富硒茶"),
    ("标签", "富硒、茶叶"), ("所在地", "浙江杭州"), ("籍贯", "汉滨区"), ("所属县区", "汉滨区"),
    ("线索来源", "商会推荐"), ("状态", "已接洽"), ("重点客商", "是"), ("备注", "2027年春节回乡考察，有意在安康设厂"),
    ("联系人", "张建华"), ("职务", "董事长"), ("手机", "13912345678"), ("电话", "0915-3212345"),
    ("邮箱", "zhangjianhua@example.com"), ("微信", "zhangjh_ak"),
]
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_file(actor) -> tuple[str, bytes, str]:
    """(file name, content, mimetype) of the template; for those who may import."""
    require(actor, "import.create")
    headers = [header for header, _example in COLUMNS]
    content = write_xlsx(headers, [[example for _header, example in COLUMNS]], sheet_title=_("Leads"))
    return "import-template.xlsx", content, MIMETYPE
