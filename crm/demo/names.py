"""Word lists and name builders for the demo city (invented names; no database, no Flask)."""
from __future__ import annotations

import random

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
                "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫"
                "孔向汤曾覃单")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀华平刚桂英建文辉力斌宇浩凯鹏飞鑫波宁琳晨欣怡婷雪梅兰峰海"
             "亮晓春燕红霞玉成志国东新岩博远思源嘉德世安康泽瑞祥云硒")

# Trade names (字号) are two characters drawn from these; invented, so any match with a real firm is chance.
TRADE_CHARS = list("华瑞恒泰鑫德盛嘉汇康源达通宏远锦博天中新金银秦巴汉硒安兴隆丰和美信诚益海润晟昌正元永佳睿"
                   "智云星辰凯力方科创宇航祥福旭明光东南北亿万凤龙腾飞翔宝利群众合众联友邦富盈荣誉鼎峰岭川江")
LEGAL_FORMS = [("有限公司", 60), ("股份有限公司", 15), ("集团有限公司", 10), ("有限责任公司", 15)]

# origin region → (how company names begin, admin-division code used in its USCCs)
REGIONS = {
    "北京": (["北京", "北京市"], "110105"),
    "深圳": (["深圳市", "深圳"], "440300"),
    "苏州": (["苏州", "苏州市"], "320500"),
    "上海": (["上海", "上海市"], "310115"),
    "杭州": (["杭州", "杭州市"], "330100"),
    "廊坊": (["廊坊市", "廊坊"], "131000"),
    "雄安": (["雄安", "河北雄安"], "133100"),
    "东莞": (["东莞市"], "441900"),
    "西安": (["西安", "陕西"], "610100"),
    "武汉": (["武汉", "湖北"], "420100"),
    "广州": (["广州", "广东"], "440100"),
    "南京": (["南京", "江苏"], "320100"),
    "成都": (["成都", "四川"], "510100"),
    "宁波": (["宁波"], "330200"),
    "昆山": (["昆山"], "320583"),
    "十堰": (["十堰"], "420300"),
    "郑州": (["郑州", "河南"], "410100"),
    "安康": (["安康", "陕西安康"], "610900"),
}
# Where the bureau's trips and chambers are: weights for a lead's origin region.
REGION_WEIGHTS = {"深圳": 16, "北京": 14, "西安": 12, "上海": 9, "苏州": 8, "杭州": 7, "东莞": 6, "广州": 6,
                  "廊坊": 4, "雄安": 4, "武汉": 4, "南京": 3, "成都": 3, "宁波": 2, "昆山": 2, "十堰": 2,
                  "郑州": 2, "安康": 6}
FOREIGN_REGIONS = {"香港": ("香港", "国际投资有限公司"), "新加坡": ("新加坡", "控股私人有限公司"),
                   "韩国": ("韩国", "株式会社"), "德国": ("德国", "有限公司"), "台湾": ("台湾", "企业股份有限公司")}

# Words a firm in each industry (taxonomy code) puts after its trade name.
INDUSTRY_WORDS = {
    "selenium_food": ["富硒食品", "食品"], "selenium_tea": ["茶业", "富硒茶业", "茶叶"],
    "selenium_grain": ["粮油", "米业", "农产品"], "selenium_drink": ["饮品", "食品饮料", "魔芋食品"],
    "equipment": ["机械制造", "智能装备", "装备制造"], "auto_parts": ["汽车零部件", "汽配"],
    "new_energy_vehicle": ["新能源汽车", "动力电池"], "bio_pharma": ["生物医药", "医药", "生物科技"],
    "tcm_herbs": ["药业", "中药材", "生物药业"], "medical_devices": ["医疗器械", "医疗科技"],
    "new_materials": ["新型建材", "材料科技"], "metal_materials": ["新材料", "金属材料", "合金"],
    "chemical_materials": ["化工", "新材料科技"], "clean_energy": ["清洁能源", "能源科技"],
    "solar": ["光伏", "光电", "新能源"], "hydro": ["水电", "电力"], "cultural_tourism": ["文化旅游", "文旅发展"],
    "scenic": ["旅游开发", "景区管理"], "hospitality": ["酒店管理", "民宿"], "health_care": ["健康产业", "大健康"],
    "elderly_care": ["养老服务", "康养"], "logistics": ["物流", "供应链管理"], "cold_chain": ["冷链物流", "冷链"],
    "electronics": ["电子", "半导体", "信息技术"], "smart_terminal": ["智能终端", "电子科技"],
    "textiles": ["服饰", "纺织"], "plush_toys": ["玩具", "毛绒玩具", "工艺品"], "agriculture": ["现代农业", "农业科技"],
    "livestock": ["牧业", "畜牧"], "orchards": ["生态农业", "农业开发"],
    "digital_economy": ["网络科技", "软件", "数据科技"],
}
# Ankang's leading chains (富硒食品, 毛绒玩具, 新型材料, 装备制造, 生物医药, 清洁能源, 文化旅游) come up most.
INDUSTRY_WEIGHTS = {
    "selenium_tea": 10, "selenium_grain": 5, "selenium_drink": 6, "selenium_food": 4, "plush_toys": 10,
    "textiles": 3, "new_materials": 4, "metal_materials": 5, "chemical_materials": 3, "equipment": 5,
    "auto_parts": 4, "new_energy_vehicle": 3, "bio_pharma": 4, "tcm_herbs": 6, "medical_devices": 3,
    "clean_energy": 3, "solar": 4, "hydro": 3, "cultural_tourism": 4, "scenic": 3, "hospitality": 3,
    "health_care": 3, "elderly_care": 2, "logistics": 2, "cold_chain": 2, "electronics": 3, "smart_terminal": 4,
    "agriculture": 2, "livestock": 2, "orchards": 2, "digital_economy": 3,
}
INDUSTRY_TAGS = {"selenium_tea": ["茶", "富硒"], "selenium_grain": ["富硒"], "selenium_drink": ["富硒"],
                 "selenium_food": ["富硒"], "plush_toys": ["毛绒玩具"], "tcm_herbs": ["中药材"],
                 "solar": ["光伏"], "smart_terminal": ["智能终端"]}
GENERAL_TAGS = [("龙头企业", 8), ("上市公司", 5), ("500强", 3), ("专精特新", 5), ("高新技术企业", 6),
                ("央企", 2), ("民营", 10), ("链主企业", 3), ("重点客商", 4)]

# (name, origin region) of chambers of commerce away from home (异地商会) and trade associations.
CHAMBERS = [("深圳安康商会", "深圳"), ("西安安康商会", "西安"), ("北京陕西企业商会", "北京"),
            ("广东省陕西安康商会", "广州"), ("上海陕西商会", "上海"), ("苏州安康商会", "苏州"),
            ("杭州陕西商会", "杭州"), ("东莞安康商会", "东莞"), ("武汉陕西商会", "武汉"), ("浙江安康商会", "宁波"),
            ("江苏陕西商会", "南京"), ("成都安康商会", "成都"), ("雄安陕西商会", "雄安"), ("廊坊陕西商会", "廊坊"),
            ("宁波陕西商会", "宁波"), ("郑州安康商会", "郑州"),
            ("中国毛绒玩具产业联盟", "东莞"), ("长三角富硒产业协会", "上海"), ("粤港澳大湾区新材料产业协会", "深圳"),
            ("京津冀装备制造商会", "北京"), ("中国茶叶流通协会华南分会", "广州"), ("陕西省生物医药产业协会", "西安"),
            ("全国光伏行业协会西北分会", "西安"), ("中国旅游景区协会文旅投资分会", "北京"),
            ("中国中药协会秦巴分会", "西安")]
INTERMEDIARY_WORDS = ["投资咨询有限公司", "招商服务有限公司", "产业研究院", "企业管理咨询有限公司",
                      "商务咨询有限公司", "资本管理有限公司", "律师事务所"]
ADVISER_BACKGROUNDS = ["原某央企战略投资部总经理", "深圳某上市公司副总裁", "北京某产业基金合伙人", "上海某投行董事总经理",
                       "苏州工业园区原招商局局长", "某高校产业研究院院长", "杭州某电商平台副总裁"]
HOMETOWN_BUSINESS = ["在深圳经营毛绒玩具厂", "在苏州做精密制造", "在北京开办建筑公司", "在上海经营食品贸易",
                     "在杭州做电商供应链", "在东莞经营电子厂", "在西安从事医药流通", "在武汉经营物流企业"]

CONTACT_TITLES = {
    "enterprise": ["董事长", "总经理", "副总经理", "投资总监", "战略发展部经理", "董事会秘书"],
    "chamber": ["会长", "常务副会长", "秘书长", "副秘书长"],
    "intermediary": ["合伙人", "总经理", "项目总监"],
    "foreign_investor": ["董事", "总经理", "中国区代表", "投资总监"],
}
MOBILE_PREFIXES = ["130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                   "158", "159", "166", "177", "180", "181", "183", "186", "187", "188", "189", "191", "199"]


_CUMULATIVE: dict[int, tuple[object, list, list[int]]] = {}


def weighted(rng: random.Random, table):
    """A key of `table` ({key: weight} or [(key, weight)], never changed afterwards) drawn by weight; the
    cumulative weights are worked out once per table (kept with the table, so its id is never reused)."""
    known = _CUMULATIVE.get(id(table))
    if known is None:
        items = list(table.items()) if isinstance(table, dict) else list(table)
        keys, total, cumulative = [k for k, _w in items], 0, []
        for _k, w in items:
            total += w
            cumulative.append(total)
        known = _CUMULATIVE[id(table)] = (table, keys, cumulative)
    return rng.choices(known[1], cum_weights=known[2])[0]


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    return rng.choice(SURNAMES) + given


def trade_name(rng: random.Random) -> str:
    first = second = rng.choice(TRADE_CHARS)
    while second == first:
        second = rng.choice(TRADE_CHARS)
    return first + second


def company_name(rng: random.Random, region: str, industry_code: str | None, trade: str) -> str:
    """e.g. 深圳市华瑞毛绒玩具有限公司: region + 字号 + industry word + legal form."""
    prefix = rng.choice(REGIONS[region][0])
    word = rng.choice(INDUSTRY_WORDS.get(industry_code or "") or ["实业"])
    return f"{prefix}{trade}{word}{weighted(rng, LEGAL_FORMS)}"


def foreign_name(rng: random.Random, region: str, trade: str) -> str:
    prefix, form = FOREIGN_REGIONS[region]
    return f"{prefix}{trade}{form}"


def intermediary_name(rng: random.Random, region: str, trade: str) -> str:
    return f"{rng.choice(REGIONS[region][0])}{trade}{rng.choice(INTERMEDIARY_WORDS)}"


# Which of Ankang's chains an industry (taxonomy code) belongs to, and what its projects are called.
CHAIN_OF = {"selenium_tea": "selenium", "selenium_grain": "selenium", "selenium_drink": "selenium",
            "selenium_food": "selenium", "plush_toys": "plush", "textiles": "plush",
            "metal_materials": "material", "new_materials": "material", "chemical_materials": "material",
            "solar": "energy", "hydro": "energy", "clean_energy": "energy", "scenic": "tourism",
            "hospitality": "tourism", "cultural_tourism": "tourism", "health_care": "tourism",
            "elderly_care": "tourism", "tcm_herbs": "pharma", "bio_pharma": "pharma", "medical_devices": "pharma",
            "equipment": "equipment", "auto_parts": "equipment", "new_energy_vehicle": "equipment",
            "electronics": "electronics", "smart_terminal": "electronics", "digital_economy": "electronics"}
PROJECT_PATTERNS = {
    "selenium": ["富硒茶精深加工项目", "富硒食品产业园项目", "年产{n}吨富硒农产品加工项目", "富硒饮品生产线项目"],
    "plush": ["毛绒玩具加工项目", "毛绒玩具智能制造基地项目", "年产{n}万件毛绒玩具生产线项目"],
    "material": ["新型建材生产基地项目", "年产{n}吨新材料项目", "高性能合金材料项目"],
    "energy": ["{n}MW分布式光伏发电项目", "抽水蓄能电站项目", "清洁能源综合利用项目"],
    "tourism": ["文旅康养综合体项目", "乡村旅游示范区项目", "精品民宿集群项目"],
    "pharma": ["中药材GAP种植基地项目", "生物医药产业基地项目", "医疗器械生产项目"],
    "equipment": ["装备制造产业园项目", "汽车零部件生产项目", "智能装备制造项目"],
    "electronics": ["智能终端制造项目", "电子元器件生产线项目", "数据中心项目"],
    "other": ["现代农业产业园项目", "冷链物流园项目", "生态养殖基地项目"],
}


_SIZES = {"吨": (500, 1000, 3000, 5000, 10000), "万件": (100, 300, 500, 1000), "MW": (20, 50, 100, 200)}


def project_name(rng: random.Random, trade: str, industry_code: str | None) -> str:
    pattern = rng.choice(PROJECT_PATTERNS[CHAIN_OF.get(industry_code or "", "other")])
    sizes = next((v for unit, v in _SIZES.items() if "{n}" + unit in pattern), (1,))
    return trade + pattern.format(n=rng.choice(sizes))


# --- identifiers ----------------------------------------------------------------------------------------

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(rng: random.Random) -> str:
    """A GB 11714 organisation code: eight digits and their check character (0–9 or X)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def uscc(rng: random.Random, division: str, *, prefix: str = "91") -> str:
    """A 统一社会信用代码 with a correct GB 32100-2015 check character ("91" firm, "51" association)."""
    body = prefix + division + _org_code(rng)
    total = sum(_USCC_CHARSET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARSET[(31 - total % 31) % 31]


def mobile(rng: random.Random) -> str:
    """A mainland mobile as people type it: mostly plain, sometimes spaced or with +86."""
    digits = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
    style = rng.random()
    if style < 0.15:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style < 0.22:
        return f"+86 {digits}"
    return digits


def landline(rng: random.Random, region: str) -> str:
    area = {"北京": "010", "上海": "021", "深圳": "0755", "苏州": "0512", "杭州": "0571", "西安": "029",
            "东莞": "0769", "广州": "020", "武汉": "027", "安康": "0915"}.get(region, "0915")
    return f"{area}-{rng.randint(6, 8)}{''.join(rng.choice('0123456789') for _ in range(7))}"
