"""Identity rules: USCC checksum, mobile and company-name normalisation, similarity, PIPL masking, pinyin keys."""
from __future__ import annotations

import pytest

from crm.services.identity import (
    LIKELY_DUPLICATE_THRESHOLD,
    mask_email,
    mask_mobile,
    mask_phone,
    mask_wechat,
    name_similarity,
    normalise_company_name,
    normalise_mobile,
    normalise_uscc,
    pinyin_keys,
    uscc_is_valid,
)

# --- USCC ----------------------------------------------------------------------------------------------

# GB 32100-2015 code values: digits 0–9, then the letters without I, O, S, V, Z valued 10–30.
_VALUES = {c: v for v, c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY")}
_CHARS = {v: c for c, v in _VALUES.items()}
_WEIGHTS = [3**i % 31 for i in range(17)]  # the standard's weights are 3^(i) mod 31


def _check_char(body: str) -> str:
    """Reference check character, written from the standard independently of the code under test."""
    remainder = sum(_VALUES[c] * w for c, w in zip(body, _WEIGHTS, strict=True)) % 31
    return _CHARS[0] if remainder == 0 else _CHARS[31 - remainder]


def test_reference_weights_match_the_published_table():
    assert _WEIGHTS == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_reference_check_char_matches_hand_worked_examples():
    # 91350100M000100Y4 (a code printed on a public licence, check char 3), worked by hand:
    #   values 9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4
    #   9·1 + 1·3 + 3·9 + 5·27 + 1·26 + 21·20 + 1·8 + 30·30 + 4·28
    #   = 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640;  1640 mod 31 = 28;  31 − 28 = 3
    assert 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 == 1640 and 1640 % 31 == 28
    assert _check_char("91350100M000100Y4") == "3"
    # 91610902MA70B1224: 9+3+54+27+234+34+420+290+175+88+24+20+60+112 = 1550 = 50·31, so 31 − 0 = 31 → 0
    assert 9 + 3 + 54 + 27 + 234 + 34 + 420 + 290 + 175 + 88 + 24 + 20 + 60 + 112 == 1550 == 50 * 31
    assert _check_char("91610902MA70B1224") == "0"


# Real-format codes: authority (1 机构编制, 5 民政, 9 工商, Y 其他) + kind, region code, 9-char body, check.
VALID_USCCS = [
    "91350100M000100Y43",  # public example
    "91610902MA70B12240",  # check char 0 (the 31 → 0 rule)
    "12610900MB0000001U",  # check char is a letter (27 = U)
    "51610900MJ000000A5",
    "91610900MA70B12344",
    *(body + _check_char(body) for body in (
        "91610902MA70XK3P1", "92610921MA7AB0C1D", "Y1610900000000001", "11100000000013127", "31610000MD0123456",
    )),
]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_with_correct_check_char_is_valid(code):
    assert uscc_is_valid(code)


@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_with_any_other_check_char_is_invalid(code):
    for wrong in (c for c in _VALUES if c != code[17]):
        assert not uscc_is_valid(code[:17] + wrong), wrong


@pytest.mark.parametrize("position", range(17))
def test_uscc_with_one_changed_character_is_invalid(position):
    code = "91350100M000100Y43"
    for other in (c for c in _VALUES if c != code[position]):
        assert not uscc_is_valid(code[:position] + other + code[position + 1:]), other


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", "", None, "9" * 17])
def test_uscc_of_wrong_length_is_invalid(code):
    assert not uscc_is_valid(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_uscc_with_forbidden_letter_is_invalid_whatever_the_check_char(letter):
    body = "91350100" + letter + "000100Y4"
    assert not any(uscc_is_valid(body + c) for c in _VALUES)


@pytest.mark.parametrize("raw", [
    " 9135 0100 M000 100Y 43 ", "91350100m000100y43", "９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43\t",
])
def test_uscc_as_typed_or_pasted_normalises_and_validates(raw):
    assert normalise_uscc(raw) == "91350100M000100Y43"
    assert uscc_is_valid(raw)


def test_normalise_uscc_of_nothing_is_empty():
    assert normalise_uscc(None) == "" and normalise_uscc("") == ""


# --- mobile ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13812345678", " 138 1234 5678 ", "138-1234-5678", "(138)1234-5678",
    "+86 138-1234-5678", "+8613812345678", "(+86) 138 1234 5678", "0086 138 1234 5678", "86-138-1234-5678",
    "１３８１２３４５６７８", "＋８６　１３８－１２３４－５６７８", "138–1234–5678",
])
def test_mobile_forms_normalise_to_eleven_digits(raw):
    assert normalise_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["19912345678", "+86 199 1234 5678", "15000000000"])
def test_other_mobile_prefixes_are_accepted(raw):
    assert normalise_mobile(raw) == raw.replace("+86", "").replace(" ", "")


@pytest.mark.parametrize("raw", [
    "029-85551234", "0915-3212345", "02985551234",  # landlines, one of them 11 digits
    "12812345678", "10012345678",  # 1 not followed by 3–9
    "1381234567", "138123456789", "+1 13812345678", "8813812345678",
    "138١٢٣٤٥٦٧٨",  # Arabic-Indic digits: digits to Unicode, but not ones we store or dial
    "abc", "", None,
])
def test_non_mobiles_normalise_to_none(raw):
    assert normalise_mobile(raw) is None


# --- company names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("陕西 恒信（集团）股份有限公司", "恒信集团有限公司"),
    ("安康市恒信建设有限公司", "恒信建设有限责任公司"),
    ("陕西省安康市汉滨区恒信建设有限公司", "恒信建设"),
    ("恒信（中国）投资有限公司", "恒信投资有限公司"),
    ("恒信(陕西)投资有限公司", "恒信投资"),
    ("北京市恒信控股有限公司", "恒信"),
    ("上海恒信集团", "深圳市恒信股份有限公司"),
    ("紫阳县富硒茶业有限公司", "富硒茶业"),
    ("恒信科技公司", "恒信科技"),
    ("旬阳市恒信", "旬阳恒信"),
    ("ＡＢＣ科技有限公司", "abc科技"),
    ("Hengxin Co., Ltd.", "HENGXIN"),
    ("恒信Co.,Ltd", "恒信"),
    ("【恒信】科技", "恒信 · 科技"),
    ("新疆维吾尔自治区恒信", "恒信"),
])
def test_company_name_variants_normalise_equal(a, b):
    assert normalise_company_name(a) == normalise_company_name(b)


@pytest.mark.parametrize(("a", "b"), [
    ("恒信建设有限公司", "安信建设有限公司"),
    ("恒信建设", "恒信建设工程"),
    ("恒信科技", "恒信食品"),
    ("中国建筑", "建筑"),  # 中国 outside brackets is part of the name
    ("北京区块链科技", "块链科技"),  # 北京 takes 市, never 区
    ("恒信（北方）科技", "恒信科技"),  # bracketed words other than regions and 中国 are kept
])
def test_different_company_names_stay_different(a, b):
    assert normalise_company_name(a) != normalise_company_name(b)


@pytest.mark.parametrize(("raw", "expected"), [
    ("陕西 恒信（集团）股份有限公司", "恒信"),
    ("陕西省安康市汉滨区恒信建设有限公司", "恒信建设"),
    ("Huawei Technologies Co., Ltd.", "huaweitechnologies"),
    ("北京", "北京"),  # nothing but a region: kept rather than emptied
    ("安康有限公司", "安康"),
    ("", ""),
    (None, ""),
])
def test_normalised_company_name(raw, expected):
    assert normalise_company_name(raw) == expected


# --- similarity ---------------------------------------------------------------------------------------------

def test_name_contained_in_longer_name_rates_above_different_trade_name():
    assert name_similarity("恒信建设", "恒信建设工程") > name_similarity("恒信", "安信")


@pytest.mark.parametrize(("a", "b"), [
    ("恒信建设", "恒信建设工程"),
    ("陕西恒信建设有限公司", "恒信建设工程有限公司"),
    ("秦巴药业", "秦巴生物药业"),
    ("华为", "华为技术有限公司"),  # a short name (简称) against the registered one
    ("陕西 恒信（集团）股份有限公司", "恒信集团有限公司"),
])
def test_likely_duplicates_reach_threshold(a, b):
    assert name_similarity(a, b) >= LIKELY_DUPLICATE_THRESHOLD


@pytest.mark.parametrize(("a", "b"), [
    ("恒信", "安信"),
    ("恒信建设", "安信建设"),
    ("恒信科技", "恒信食品"),
    ("富硒茶业", "秦巴药业"),
])
def test_different_firms_stay_below_threshold(a, b):
    assert name_similarity(a, b) < LIKELY_DUPLICATE_THRESHOLD


def test_similarity_orders_closer_names_higher():
    scores = [name_similarity("恒信建设", other) for other in ("恒信建设有限公司", "恒信建设工程", "安信建设", "安康富硒")]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0 and scores[2] > scores[3]


@pytest.mark.parametrize(("a", "b"), [("", "恒信"), (None, "恒信"), ("有限公司", None), ("", "")])
def test_similarity_with_an_empty_name_is_zero(a, b):
    assert name_similarity(a, b) == 0.0


# --- masking -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("１３８１２３４５６７８", "138****5678"),
    ("029-85551234", "029-****1234"),  # a landline in the mobile field is masked as a landline
    ("123", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_mobile(raw, expected):
    assert mask_mobile(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("0915-3212345", "0915-****2345"),
    ("029-85551234", "029-****1234"),
    ("02985551234", "029-****1234"),
    ("010-6512 3456", "010-****3456"),
    ("(0915)3212345转801", "0915-****2345"),
    ("0915-3212345-801", "0915-****2345"),
    ("+86 29 8555 1234", "029-****1234"),
    ("3212345", "****2345"),
    ("32123", "****23"),
    ("0915-123", "0915-****"),
    ("12", "****"),
    ("无", "****"),
    ("13812345678", "138****5678"),
    ("", ""),
    (None, ""),
])
def test_mask_phone_keeps_area_code_and_last_digits(raw, expected):
    assert mask_phone(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("zhangsan@example.com", "zh****@example.com"),
    ("abc@qq.com", "a****@qq.com"),
    ("a@x.cn", "****@x.cn"),
    ("@x.cn", "****@x.cn"),
    ("zhangsan", "zh****"),
    ("", ""),
    (None, ""),
])
def test_mask_email(raw, expected):
    assert mask_email(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("wxid_abc123", "wx****"),
    ("abcd", "ab****"),
    ("ab", "a****"),
    ("a", "****"),
    ("  ", ""),
    ("", ""),
    (None, ""),
])
def test_mask_wechat_shows_at_most_two_characters_and_never_half(raw, expected):
    assert mask_wechat(raw) == expected


# --- pinyin keys ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "person", "expected"), [
    ("张世波", False, ("zhangshibo", "zsb")),
    ("张世波", True, ("zhangshibo", "zsb")),
    ("张 世波", True, ("zhangshibo", "zsb")),
    ("单世波", True, ("shanshibo", "ssb")),
    ("曾国藩", True, ("zengguofan", "zgf")),
    ("解晓东", True, ("xiexiaodong", "xxd")),
    ("仇英", True, ("qiuying", "qy")),
    ("朴槿惠", True, ("piaojinhui", "pjh")),
    ("查良镛", True, ("zhaliangyong", "zly")),
    ("覃小明", True, ("qinxiaoming", "qxm")),
    ("尉迟恭", True, ("yuchigong", "ycg")),
    ("单位", False, ("danwei", "dw")),
    ("曾经", False, ("cengjing", "cj")),
    ("解决", False, ("jiejue", "jj")),
    ("单世波", False, ("danshibo", "dsb")),  # without person=True, 单 keeps its everyday reading
    ("富硒食品", False, ("fuxishipin", "fxsp")),
    ("吕布", True, ("lvbu", "lb")),
    ("ABC公司", False, ("abcgongsi", "abcgs")),
    ("恒信（集团）", False, ("hengxinjituan", "hxjt")),
    ("", True, ("", "")),
    (None, False, ("", "")),
])
def test_pinyin_keys(text, person, expected):
    assert pinyin_keys(text, person=person) == expected


def test_chambers_of_different_cities_do_not_normalise_equal():
    from crm.services.identity import normalise_company_name

    assert normalise_company_name("深圳安康商会") != normalise_company_name("西安安康商会")


# One surname table (crm.surnames) for the stored keys and the search index: the two copies had drifted
# (阚, 折, 薄 only in the index's, 尉 alone read yù in both), so a 乡贤 was found by one reading and looked up
# by another.
@pytest.mark.parametrize(("name", "full", "initials"), [
    ("单振华", "shanzhenhua", "szh"),
    ("曾德厚", "zengdehou", "zdh"),
    ("解晓东", "xiexiaodong", "xxd"),
    ("仇英", "qiuying", "qy"),
    ("朴正", "piaozheng", "pz"),
    ("区家明", "oujiaming", "ojm"),
    ("查良镛", "zhaliangyong", "zly"),
    ("盖伟", "gewei", "gw"),
    ("阚文", "kanwen", "kw"),
    ("折红梅", "shehongmei", "shm"),
    ("薄一波", "boyibo", "byb"),
    ("尉迟恭", "yuchigong", "ycg"),
    ("单于青", "chanyuqing", "cyq"),
    ("单于", "shanyu", "sy"),  # a compound surname needs a given name after it: this is 单 with the name 于
    ("尉缭", "weiliao", "wl"),  # 尉 alone is Wèi; yù only in 尉迟
    ("曾经理", "zengjingli", "zjl"),  # the given name converted on its own, not 曾经 as one word
])
def test_stored_keys_and_index_keys_read_a_persons_surname_alike(name, full, initials):
    from crm.search.analysis import char_pinyin
    from crm.search.analysis import pinyin_keys as index_keys

    assert pinyin_keys(name, person=True) == (full, initials)
    index_full, index_initials = index_keys(name, person=True)
    assert full in index_full and initials in index_initials
    assert "".join(char_pinyin(name, person=True)) == full


def test_company_names_keep_the_everyday_reading_of_a_surname_character():
    from crm.search.analysis import pinyin_keys as index_keys

    assert pinyin_keys("单位食堂", person=False) == ("danweishitang", "dwst")
    assert "shanweishitang" not in index_keys("单位食堂", person=False)[0]
