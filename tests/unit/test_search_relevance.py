"""Relevance on a hand-made set: ≥ 30 queries a bureau's staff would type, each with the leads it must bring into
the top 5, over a small city of leads built like the services build them (industry with its ancestors and
synonyms from crm/reference/industries.tsv, tags, contacts, notes, visits) with look-alike leads as distractors."""

from __future__ import annotations

import pytest

from crm.search import SearchIndex

# A slice of crm/reference/industries.tsv: code -> (parent, name, synonyms).
INDUSTRIES = {
    "selenium_food": (None, "富硒食品", ["硒", "富硒", "食品", "食品加工", "农产品加工"]),
    "selenium_tea": ("selenium_food", "富硒茶", ["茶", "茶叶", "茶业", "绿茶", "紫阳毛尖"]),
    "selenium_drink": ("selenium_food", "富硒饮品", ["饮料", "饮品", "矿泉水", "魔芋"]),
    "equipment": (None, "装备制造", ["机械", "制造业", "装备", "设备"]),
    "new_energy_vehicle": ("equipment", "新能源汽车", ["电动车", "新能源车", "动力电池"]),
    "bio_pharma": (None, "生物医药", ["医药", "制药", "药业", "生物", "医疗"]),
    "tcm_herbs": ("bio_pharma", "中药材", ["中药", "中医药", "药材", "绞股蓝", "黄姜"]),
    "medical_devices": ("bio_pharma", "医疗器械", ["器械", "医疗设备", "耗材"]),
    "new_materials": (None, "新型材料", ["材料", "新材料", "建材"]),
    "metal_materials": ("new_materials", "金属材料", ["有色金属", "钢铁", "冶金"]),
    "clean_energy": (None, "清洁能源", ["新能源", "能源", "电力", "光伏", "水电"]),
    "solar": ("clean_energy", "光伏发电", ["太阳能", "光伏"]),
    "cultural_tourism": (None, "文化旅游", ["文旅", "旅游", "景区", "民宿"]),
    "hospitality": ("cultural_tourism", "酒店民宿", ["酒店", "民宿", "住宿"]),
    "health_care": (None, "康养", ["健康", "养老", "康养产业", "大健康"]),
    "elderly_care": ("health_care", "养老服务", ["养老", "养老院", "护理"]),
    "logistics": (None, "现代物流", ["物流", "仓储", "冷链", "快递"]),
    "cold_chain": ("logistics", "冷链物流", ["冷链", "冷库"]),
    "electronics": (None, "电子信息/智能终端", ["电子", "电子信息", "智能终端", "手机", "芯片", "半导体"]),
    "textiles": (None, "纺织服装(毛绒玩具)", ["纺织", "服装", "毛绒玩具", "玩具", "服饰"]),
    "plush_toys": ("textiles", "毛绒玩具", ["玩具", "毛绒", "布艺玩具"]),
    "agriculture": (None, "现代农业", ["农业", "种植", "养殖", "畜牧", "生猪"]),
    "orchards": ("agriculture", "特色种植", ["种植", "水果", "茶园", "林果"]),
}
CODES = list(INDUSTRIES)


def chain(code: str | None) -> list[str]:
    out = []
    while code:
        out.append(code)
        code = INDUSTRIES[code][0]
    return out


def lead(doc_id: int, name: str, industry: str | None = None, *, contacts=(), titles=(), tags=(), notes=None,
         visits=(), region=None, county=1, kind="enterprise", is_key=False) -> dict:
    codes = chain(industry)
    return {
        "type": "lead", "id": doc_id, "version": "v1", "name": name, "company": name,
        "person_names": list(contacts), "titles": list(titles),
        "industry_ids": [CODES.index(c) + 1 for c in codes],
        "industry_text": [w for c in codes for w in [INDUSTRIES[c][1], *INDUSTRIES[c][2]]],
        "tags": list(tags), "origin_region": region, "home_county": None, "notes": notes,
        "interactions": list(visits), "county_id": county, "kind": kind, "status": "engaged", "is_key": is_key,
        "last_contacted_at": None, "sort_name": name,
    }


CITY = [
    lead(1, "恩施硒源富硒茶业有限公司", "selenium_tea", contacts=["张世波"], titles=["总经理"], tags=["茶"],
         region="湖北恩施", notes="计划在紫阳扩建茶园和加工厂", visits=["紫阳县招商局赴恩施拜访张世波，洽谈茶园扩建"]),
    lead(2, "安康生物医药有限公司", "bio_pharma", contacts=["李明"], titles=["董事长"], region="西安",
         notes="拟投资原料药生产线"),
    lead(3, "平利绞股蓝中药材合作社", "tcm_herbs", contacts=["王芳"], notes="绞股蓝种植基地三千亩"),
    lead(4, "紫阳县绿源公司", "selenium_food", tags=["茶", "乡贤"], notes="富硒绿茶深加工"),
    lead(5, "单卫东", "new_materials", kind="hometown_entrepreneur", contacts=["单卫东"], region="深圳",
         notes="在深圳经营建材贸易二十年，有意回乡投资"),
    lead(6, "深圳曾氏电子科技有限公司", "electronics", contacts=["曾志强"], titles=["创始人"], region="深圳",
         notes="手机主板贴片，计划转移产能"),
    lead(7, "北京解氏文化旅游发展公司", "cultural_tourism", contacts=["解文博"], region="北京",
         notes="运营古镇景区"),
    lead(8, "张家港华瑞机械制造公司", "equipment", contacts=["张伟"], region="江苏张家港"),
    lead(9, "旬阳拐枣饮品有限公司", "selenium_drink", contacts=["陈静"], notes="拐枣酒和饮料"),
    lead(10, "Foxconn 富士康科技集团", "electronics", contacts=["郭台明"], notes="iPhone 代工，考察智能终端产业园",
         kind="foreign_investor", is_key=True),
    lead(11, "汉阴县魔芋食品厂", "selenium_drink", contacts=["刘洋"], notes="魔芋精粉加工"),
    lead(12, "岚皋县山居民宿管理公司", "hospitality", contacts=["周敏"]),
    lead(13, "陕西秦巴医疗器械有限公司", "medical_devices", contacts=["赵刚"], notes="一次性医用耗材"),
    lead(14, "安康市冷链物流中心", "cold_chain", contacts=["孙磊"], notes="冷库二期"),
    lead(15, "石泉县蚕桑公司", "textiles", contacts=["吴娟"], notes="丝绸深加工，缫丝车间改造"),
    lead(16, "安康毛绒玩具产业园运营公司", "plush_toys", contacts=["黄丽"], notes="引进玩具企业四十家"),
    lead(17, "汉滨区光伏电站项目公司", "solar", contacts=["杨勇"]),
    lead(18, "宁陕县颐养中心", "elderly_care", contacts=["何平"], notes="养老院床位三百张"),
    lead(19, "白河县硫铁矿业公司", "metal_materials", contacts=["马超"]),
    lead(20, "镇坪县黄连种植户联合会", "tcm_herbs", kind="chamber", contacts=["罗秀"], notes="黄连和中药饮片"),
    lead(21, "比亚迪 BYD 新能源汽车西北基地", "new_energy_vehicle", contacts=["林海"], kind="foreign_investor",
         notes="动力电池配套", is_key=True),
    lead(22, "张北县大数据有限公司", None, contacts=["高燕"], notes="数据中心"),
    lead(23, "平利县茶园合作社", "orchards", contacts=["张玉兰"], notes="茶园五百亩"),
    lead(24, "紫阳县茶叶批发市场", None, contacts=["唐建国"], tags=["茶"]),
    lead(25, "安康市汉江水电开发公司", "clean_energy", contacts=["冯辉"], notes="水电站增容"),
    lead(26, "恩施州商会", None, kind="chamber", contacts=["谢飞"], region="湖北恩施", notes="在陕恩施籍企业家"),
    lead(27, "西安博远软件公司", None, contacts=["曾丽"], notes="政务软件"),
    lead(28, "汉中市单家建材厂", "new_materials", contacts=["单伟"], notes="水泥和预拌混凝土"),
    lead(29, "宝鸡解放路汽修厂", "equipment", contacts=["王军"]),
    lead(30, "杭州绿茶电商公司", "selenium_tea", contacts=["徐宁"], tags=["电商"], notes="线上销售紫阳毛尖"),
    lead(31, "旬阳县生猪养殖场", "agriculture", contacts=["曹刚"], notes="年出栏生猪两万头"),
    lead(32, "中国医药集团陕西分公司", "bio_pharma", contacts=["袁芳"], is_key=True, notes="药品流通"),
]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    index = SearchIndex(tmp_path_factory.mktemp("relevance") / "index")
    index.upsert(CITY)
    return index


# (query, leads that must all be in the top 5, leads that must not match at all)
CASES = [
    # industries, with their sub-industries
    ("医药", {2, 3, 13, 32}, set()),
    ("生物医药", {2, 3, 13}, set()),
    ("中药材", {3, 20}, {2, 13}),
    ("中药", {3, 20}, {13}),
    ("冷链", {14}, set()),
    ("光伏", {17}, set()),
    ("养老", {18}, set()),
    ("旅游", {7, 12}, set()),
    ("新材料", {5, 19, 28}, set()),
    # synonyms: 富硒茶 finds a 富硒食品 lead tagged 茶; 魔芋 is a synonym of 富硒饮品
    ("富硒茶", {1, 4, 30}, set()),
    ("茶叶", {1, 30}, set()),
    ("魔芋", {11}, set()),
    ("玩具", {16}, set()),
    ("动力电池", {21}, set()),
    # names: any part a user remembers
    ("世波", {1}, set()),
    ("张世波", {1}, set()),
    ("单卫东", {5}, set()),
    ("曾志强", {6}, set()),
    # companies by a fragment jieba cuts differently
    ("硒源", {1}, set()),
    ("恩施硒源", {1}, {26}),
    ("秦巴医疗", {13}, set()),
    ("绞股蓝", {3}, set()),
    ("拐枣", {9}, set()),
    ("恩施硒源茶业", {1}, set()),  # a name remembered with its middle left out (富硒)
    ("硒源茶业", {1}, set()),
    # full pinyin and initials (surnames with two readings: 单 shan, 曾 zeng, 解 xie)
    ("zhangshibo", {1}, set()),
    ("shibo", {1}, set()),
    ("zsb", {1}, set()),
    ("swyy", {2}, set()),
    ("shanweidong", {5}, set()),
    ("swd", {5}, set()),
    ("zengzhiqiang", {6}, set()),
    ("zzq", {6}, set()),
    ("xiewenbo", {7}, set()),
    ("xwb", {7}, set()),
    ("zhangsb", {1}, set()),  # surname in full, given name by initials
    ("shanwd", {5}, set()),
    ("wangfang", {3}, set()),
    ("jgl", {3}, set()),
    ("hanyin moyu", {11}, set()),
    # mixed Chinese/English and full-width letters
    ("foxconn", {10}, set()),
    ("Foxconn 智能终端", {10}, {6}),
    ("BYD 新能源", {21}, set()),
    ("ＢＹＤ", {21}, set()),
    ("iphone", {10}, set()),
    # prefixes
    ("张*", {1, 8, 22}, set()),
    ("zhang*", {1, 8, 22}, set()),
    ("恩施*", {1, 26}, set()),
    # phrases, OR, AND, negation, notes and visits
    ('"富硒 茶业"', {1}, set()),
    ('"茶园扩建"', {1}, {23}),
    ("魔芋 OR 拐枣", {9, 11}, set()),
    ("医药 -中药", {2, 13, 32}, {3, 20}),
    ("医药 NOT 中药", {2, 13, 32}, {3, 20}),
    ("深圳 建材", {5}, {6, 28}),
    ("丝绸", {15}, set()),
    ("黄连", {20}, set()),
    ("紫阳毛尖", {30}, set()),
    ("生猪", {31}, set()),
    ("恩施 茶", {1}, set()),
]


def top(index: SearchIndex, q: str, n: int = 5) -> list[int]:
    return [item["id"] for item in index.search(q, per_page=n).items]


def test_the_set_is_big_enough():
    assert len(CASES) >= 30
    assert len({q for q, _e, _x in CASES}) == len(CASES)


@pytest.mark.parametrize(("query", "expected", "excluded"), CASES, ids=[c[0] for c in CASES])
def test_expected_leads_are_in_the_top_5(city, query, expected, excluded):
    assert expected <= set(top(city, query)), (query, top(city, query, 10))
    if excluded:
        everything = {item["id"] for item in city.search(query, per_page=100).items}
        assert not everything & excluded, (query, sorted(everything & excluded))


@pytest.mark.parametrize(("query", "first"), [
    ("恩施硒源富硒茶业有限公司", 1),  # the whole name ranks its lead first
    ("zhangshibo", 1),
    ("单卫东", 5),  # the person, above 单家建材 and 单伟
    ("shanwei", 28),  # 单伟 of 单家建材厂 read shan as a surname
    ("曾丽", 27),
    ("平利县茶园合作社", 23),
    ("foxconn", 10),
])
def test_an_exact_name_comes_first(city, query, first):
    assert top(city, query)[:1] == [first], top(city, query)


def test_a_surname_reading_does_not_replace_the_everyday_one_in_company_names(city):
    # 单 in 汉中市单家建材厂 is a family name too, but company text keeps the everyday reading dan
    assert 28 in top(city, "danjia")
    assert 29 in top(city, "jiefanglu")  # 解放路: jie, not the surname xie
