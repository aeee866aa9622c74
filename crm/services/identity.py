"""Pure rules about a lead's identity (USCC, mobile, company name, masking, pinyin keys); no Flask, no database."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.core import Pinyin
from rapidfuzz import fuzz

from crm.surnames import surname_reading

# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------------------

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(f"[{_USCC_CHARSET}]{{18}}")


def normalise_uscc(code: str | None) -> str:
    """The code as stored: half-width, upper-case, no whitespace (people paste it with spaces from licences)."""
    if not code:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", code)).upper()


def uscc_is_valid(code: str | None) -> bool:
    """Length, charset and check character of the normalised code.

    The registration-authority prefix is not checked: amendments to the standard added authorities beyond
    1/5/9/Y (e.g. 3 for law firms, 8 for trade unions, N for rural collectives), so a fixed table would
    refuse real codes.
    """
    normalised = normalise_uscc(code)
    if not _USCC_RE.fullmatch(normalised):
        return False
    total = sum(_USCC_CHARSET.index(c) * w for c, w in zip(normalised, _USCC_WEIGHTS, strict=False))
    return _USCC_CHARSET[(31 - total % 31) % 31] == normalised[17]


# --- mobiles and landlines ------------------------------------------------------------------------------

_PHONE_NOISE = re.compile(r"[\s()\-‐‑‒–—]")
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")  # [0-9], not \d: \d also matches Arabic-Indic and other digits


def normalise_mobile(s: str | None) -> str | None:
    """The 11 digits of a mainland mobile number, or None when it is not one (landline, foreign, garbage)."""
    if not s:
        return None
    text = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", s))
    for prefix in ("+86", "0086", "86"):
        # Only a 13/14/15-character string can carry the country code; a bare 11-digit mobile never starts 86.
        if text.startswith(prefix) and len(text) - len(prefix) == 11:
            text = text[len(prefix):]
            break
    return text if _MOBILE_RE.fullmatch(text) else None


_EXTENSION = re.compile(r"转|分机|ext|#|x", re.IGNORECASE)
_COUNTRY_CODE = re.compile(r"^\s*\(?\s*(?:\+|00)\s*86\s*\)?\s*-?\s*")


def _split_landline(text: str) -> tuple[str, str]:
    """(area code, local number) of a mainland landline as people write it; any extension dropped."""
    text = _EXTENSION.split(unicodedata.normalize("NFKC", text), maxsplit=1)[0]
    groups = re.findall(r"[0-9]+", _COUNTRY_CODE.sub("0", text))
    if not groups:
        return "", ""
    first = groups[0]
    if len(groups) > 1 and first.startswith("0") and 3 <= len(first) <= 4:
        rest = "".join(groups[1:])
        # Local numbers have at most 8 digits: anything longer means the later groups are an extension.
        return first, rest if len(rest) <= 8 else groups[1]
    digits = "".join(groups)
    if not digits.startswith("0"):
        return "", digits
    area_length = 3 if digits[1] in "12" else 4  # 010 and 020–029 are the only three-digit area codes
    return digits[:area_length], digits[area_length:area_length + 8]


def landline_key(s: str | None) -> tuple[str, str] | None:
    """(area code or "", local number) of a mainland landline, extension dropped; None for a mobile or a number
    too short to name one line (fewer than 7 local digits)."""
    if not s or normalise_mobile(s) is not None:
        return None
    area, local = _split_landline(s)
    return (area, local) if len(local) >= 7 else None


# --- masking (PIPL: another county's contacts stay hidden until a logged reveal) -------------------------

_STARS = "****"


def _keep_head(text: str, keep: int) -> str:
    # Never show more than half of a short value, or masking "ab" would reveal all of it.
    return text[:min(keep, len(text) // 2)] + _STARS


def mask_mobile(s: str | None) -> str:
    if not s:
        return ""
    mobile = normalise_mobile(s)
    if mobile is None:
        return mask_phone(s)  # a landline typed into the mobile field is still masked, as a landline
    return f"{mobile[:3]}{_STARS}{mobile[7:]}"


def mask_phone(s: str | None) -> str:
    """Area code and the last 2–4 digits: enough to tell two numbers apart, not enough to dial."""
    if not s:
        return ""
    if normalise_mobile(s) is not None:
        return mask_mobile(s)
    area, local = _split_landline(s)
    keep = 4 if len(local) >= 7 else 2 if len(local) >= 5 else 0
    masked = _STARS + (local[-keep:] if keep else "")
    return f"{area}-{masked}" if area else masked


def mask_email(s: str | None) -> str:
    if not s:
        return ""
    local, at, domain = s.strip().rpartition("@")
    if not at:
        return mask_wechat(s)
    return f"{_keep_head(local, 2)}@{domain}"


def mask_wechat(s: str | None) -> str:
    if not s or not s.strip():
        return ""
    return _keep_head(s.strip(), 2)


# --- company names ----------------------------------------------------------------------------------------

_PROVINCES = ("河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 "
              "陕西 甘肃 青海 台湾").split()
_MUNICIPALITIES = "北京 天津 上海 重庆".split()
_AUTONOMOUS = ("内蒙古 内蒙古自治区 广西 广西壮族自治区 西藏 西藏自治区 宁夏 宁夏回族自治区 新疆 新疆维吾尔自治区 "
               "香港 香港特别行政区 澳门 澳门特别行政区").split()
_CITIES = ("西安 宝鸡 咸阳 铜川 渭南 延安 汉中 榆林 安康 商洛 深圳 广州 杭州 南京 苏州 武汉 成都 郑州 长沙 "
           "青岛 宁波 厦门 大连 沈阳 济南 合肥 福州 昆明 南昌 哈尔滨 长春 石家庄 太原 兰州 西宁 银川 乌鲁木齐 "
           "拉萨 贵阳 南宁 海口 呼和浩特 无锡 东莞 佛山 温州 常州 烟台 廊坊 十堰 襄阳").split()
_ANKANG_COUNTIES = "汉滨区 汉阴县 石泉县 宁陕县 紫阳县 岚皋县 平利县 镇坪县 白河县 旬阳县 旬阳市".split()
# Each name only with the suffix it really takes, so that e.g. 北京区块链 does not lose 区.
_REGION_PREFIXES = tuple(sorted(
    {*_PROVINCES, *(p + "省" for p in _PROVINCES), *_MUNICIPALITIES, *(m + "市" for m in _MUNICIPALITIES),
     *_AUTONOMOUS, *_CITIES, *(c + "市" for c in _CITIES), *_ANKANG_COUNTIES, *(c[:2] for c in _ANKANG_COUNTIES)},
    key=len, reverse=True))

# Longest first, so 股份有限公司 goes as a whole before 有限公司 or 股份 could split it.
_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "股份", "集团", "控股", "公司")
_LATIN_LEGAL = re.compile(
    r"(?<![a-z0-9])(?:co|corp|corporation|company|ltd|limited|inc|incorporated|llc|group|holdings?)(?![a-z0-9])\.?")
_BRACKETS = str.maketrans({"【": "(", "〔": "(", "[": "(", "{": "(", "〖": "(",
                           "】": ")", "〕": ")", "]": ")", "}": ")", "〗": ")"})
_BRACKETED = re.compile(r"\(([^()]*)\)")
_QUALIFIERS = {"中国", "china", *_LEGAL_FORMS, *_REGION_PREFIXES}


def _drop_qualifier(match: re.Match[str]) -> str:
    # 恒信(中国)… and 恒信(陕西)… name the same firm as 恒信…; other bracketed words are part of the name.
    inner = re.sub(r"\s+", "", match.group(1))
    return "" if inner in _QUALIFIERS else f" {inner} "


# The first prefix (longest first) that leaves something after it: the lookahead makes a prefix that is the whole
# name fail and the alternation go on to shorter ones, as a loop over _REGION_PREFIXES would (one regex call
# instead of ~380 startswith calls per name).
_REGION_PREFIX_RE = re.compile("(?:" + "|".join(map(re.escape, _REGION_PREFIXES)) + ")(?=.)", re.DOTALL)


def _strip_region(name: str) -> str:
    while True:  # 陕西省安康市汉滨区… sheds one level at a time
        match = _REGION_PREFIX_RE.match(name)
        if match is None:
            return name
        name = name[match.end():]


def _strip_legal_forms(name: str) -> str:
    for form in _LEGAL_FORMS:
        name = name.replace(form, "")
    return name


def normalise_company_name(name: str | None) -> str:
    """The name reduced to what tells firms apart: no width, case, punctuation, region prefix or legal form."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).lower().translate(_BRACKETS)
    text = _LATIN_LEGAL.sub(" ", _BRACKETED.sub(_drop_qualifier, text))
    text = "".join(c for c in text if unicodedata.category(c)[0] in "LN")
    stripped = _strip_legal_forms(_strip_region(text))
    if stripped in _GENERIC_BODIES:
        # 深圳安康商会 and 西安安康商会 are told apart only by their regions: keep them.
        return _strip_legal_forms(text) or text
    # A name that is nothing but a region or a legal form keeps what it has rather than becoming "".
    return stripped or _strip_legal_forms(text) or text


_GENERIC_BODIES = {"", "商会", "协会", "同乡会", "联合会", "促进会", "总会", "工商联", "联谊会", "企业商会", "企业家协会",
                   "企业家联合会", "投资促进会", "行业协会"}


# WRatio scores a name contained in a longer one high (恒信建设 / 恒信建设工程: 0.9) and a different trade
# name low (恒信 / 安信: 0.5); 0.8 still catches an inserted industry word (秦巴药业 / 秦巴生物药业).
LIKELY_DUPLICATE_THRESHOLD = 0.8


def name_similarity(a: str | None, b: str | None) -> float:
    """0..1 similarity of two company names after normalise_company_name; 0 when either is empty."""
    left, right = normalise_company_name(a), normalise_company_name(b)
    if not left or not right:
        return 0.0
    return fuzz.WRatio(left, right) / 100.0


# --- pinyin keys for typeahead ----------------------------------------------------------------------------

def _ascii_key(parts: list[str]) -> str:
    return re.sub(r"[^a-z0-9]", "", "".join(parts).lower())


def pinyin_keys(text: str | None, *, person: bool = False) -> tuple[str, str]:
    """(full pinyin, initials) without tones or spaces: 张世波 → ("zhangshibo", "zsb").

    Latin and digit runs pass through whole in both keys, so "ABC公司" is found by "abcgs".
    """
    if not text:
        return "", ""
    text = unicodedata.normalize("NFKC", text).strip()
    full: list[str] = []
    initials: list[str] = []
    if person:
        found = surname_reading(text)
        if found:
            surname, syllables = found
            full += syllables
            initials += [s[0] for s in syllables]
            text = text[len(surname):]
    for word in _pinyin_seg(text):
        word_full, word_initials = _word_keys(word)
        full += word_full
        initials += word_initials
    return _ascii_key(full), _ascii_key(initials)


# lazy_pinyin(text) segments text (pypinyin's own segmentation) and converts word by word; doing the same with
# each word's conversion remembered gives the same keys at a fraction of the cost (pypinyin spends ~0.1 ms of
# Python per call): company names are made of a few thousand words, people's names of a few thousand characters.
_pinyin_seg = Pinyin().seg


@lru_cache(maxsize=100_000)
def _word_keys(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(lazy_pinyin(word)), tuple(lazy_pinyin(word, style=Style.FIRST_LETTER))
