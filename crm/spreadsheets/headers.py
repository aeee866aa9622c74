"""Guessing which column of a bureau's 台账 holds which lead field, from its header text alone (or a sample)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

LEAD_FIELDS: tuple[str, ...] = (
    "name", "kind", "uscc", "industry", "tags", "origin_region", "home_county", "owner_county",
    "source_channel", "status", "is_key", "notes",
    "contact_name", "contact_title", "mobile", "phone", "email", "wechat",
)  # fmt: skip

# Header texts seen in bureaus' sheets, matched after normalise_header (so write them any way you like).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "客商名称", "名称", "公司名称", "企业全称", "公司全称", "机构名称",
             "商会名称", "企业", "公司", "客商", "单位", "name", "company", "company name", "enterprise"),
    "kind": ("类型", "客商类型", "客商类别", "企业类型", "类别", "分类", "客商分类", "企业类别", "type", "kind",
             "category"),
    "uscc": ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码", "uscc", "credit code"),
    "industry": ("所属行业", "行业", "产业", "产业链", "所属产业", "行业类别", "产业类别", "industry"),
    "tags": ("标签", "tags", "tag"),
    "origin_region": ("所在地", "所在地区", "来源地", "地区", "城市", "所在城市", "所在省市", "企业所在地",
                      "region", "city", "location"),
    "home_county": ("籍贯", "家乡", "老家", "hometown"),
    "owner_county": ("所属县区", "县区", "归属县区", "责任县区", "对接县区", "所属县(区)", "县(区)",
                     "county", "owner county"),
    "source_channel": ("来源", "线索来源", "信息来源", "来源渠道", "渠道", "source", "channel"),
    "status": ("状态", "跟进状态", "客商状态", "status"),
    "is_key": ("重点客商", "是否重点", "是否重点客商", "key", "is key", "key investor"),
    "notes": ("备注", "说明", "备注说明", "notes", "note", "remarks", "remark", "comments"),
    "contact_name": ("联系人", "联系人姓名", "姓名", "contact", "contact name", "contact person"),
    "contact_title": ("职务", "职位", "联系人职务", "title", "position", "job title"),
    "mobile": ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobile phone", "cell phone", "cellphone"),
    "phone": ("电话", "固定电话", "座机", "办公电话", "phone", "telephone", "tel", "landline"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"),
    "wechat": ("微信", "微信号", "wechat", "weixin", "wechat id"),
}  # fmt: skip

# Generic words: only a match when they are the whole header (企业类型 is a kind, 企业名称 is a name).
_EXACT_ONLY = {"企业", "公司", "客商", "单位", "渠道"}
# Heads so common that, inside a longer header, they lose to any more telling word (行业名称 → industry).
_WEAK = {"名称", "姓名", "类型", "类别", "分类", "状态", "说明", "来源", "地区", "城市", "电话"}
# Either a mobile or a landline: decided by the sample values, else taken as the mobile most sheets mean.
_PHONE_OR_MOBILE = ("联系电话", "联系方式", "联系人电话", "电话号码", "联系号码", "手机/电话", "电话/手机")
_MOBILE = re.compile(r"1[3-9]\d{9}")

_BRACKETED = re.compile(r"[(\[【〔<《][^)\]】〕>》]*[)\]】〕>》]")
_BRACKETS = re.compile(r"[(\[【〔<《)\]】〕>》]")
# Spaces (full-width too, after NFKC), required-field stars, trailing colons, and English word joiners.
_NOISE = re.compile(r"[\s*:\-_.\ufeff\u200b]")

# Scores, best first: whole header; a telling word ending it; a phone-or-mobile header (its likelier field,
# then the other); a telling word elsewhere, or a weak word ending it.
_EXACT, _SUFFIX, _AMBIGUOUS_FIRST, _AMBIGUOUS_SECOND, _CONTAINS = 5, 4, 3, 2, 1


def normalise_header(header: str) -> str:
    """Half-width, case-folded, without spaces, stars, colons or '-', '_' and '.'."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", header).casefold())


def _is_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(char) in "WF" for char in text)


_SYNONYMS = {
    field: tuple(normalise_header(synonym) for synonym in synonyms)
    for field, synonyms in HEADER_SYNONYMS.items()
}
_AMBIGUOUS = tuple(normalise_header(header) for header in _PHONE_OR_MOBILE)


def guess_mapping(headers: Sequence[str], sample_rows: Sequence[Sequence[str]] = ()) -> dict[str, int]:
    """Field → column index. Each column feeds at most one field and only through its best-matching reading;
    whole-header matches beat partial ones, then longer matches, then the leftmost column.
    `sample_rows` (data rows, optional) tell a 联系电话 column of mobiles from one of landlines."""
    candidates: list[tuple[int, int, int, int, str]] = []
    for column, header in enumerate(headers):
        forms = _forms(header)
        scored = [(score, field) for field in LEAD_FIELDS if (score := _score(forms, _SYNONYMS[field]))]
        if any(word in form for form in forms for word in _AMBIGUOUS):
            mobiles = _mostly_mobiles(sample_rows, column)
            likely, other = ("mobile", "phone") if mobiles else ("phone", "mobile")
            scored += [((_AMBIGUOUS_FIRST, 0), likely), ((_AMBIGUOUS_SECOND, 0), other)]
        if not scored:
            continue
        # A column competes only through its best reading: when 手机 is taken, 联系人手机 must not become
        # the contact's name. A phone-or-mobile header keeps both of its readings.
        best = max(level for (level, _length), _field in scored)
        for (level, length), field in scored:
            if level == best or level in (_AMBIGUOUS_FIRST, _AMBIGUOUS_SECOND):
                candidates.append((-level, -length, column, LEAD_FIELDS.index(field), field))
    mapping: dict[str, int] = {}
    for *_, column, _order, field in sorted(candidates):
        if field not in mapping and column not in mapping.values():
            mapping[field] = column
    return {field: mapping[field] for field in LEAD_FIELDS if field in mapping}


def _forms(header: str) -> tuple[str, ...]:
    """The header without bracketed remarks (企业(单位)名称 → 企业名称), and with just the brackets dropped."""
    normalised = normalise_header(header)
    forms = {_BRACKETED.sub("", normalised), _BRACKETS.sub("", normalised), normalised}
    return tuple(form for form in forms if form)


def _score(forms: tuple[str, ...], synonyms: tuple[str, ...]) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for synonym in synonyms:
        for form in forms:
            if form == synonym:
                level = _EXACT
            elif synonym in _EXACT_ONLY or not _is_cjk(synonym) or synonym not in form:
                # English words hide inside others ("tel" in "hotel"): whole-header matches only.
                continue
            elif form.endswith(synonym) and synonym not in _WEAK:
                level = _SUFFIX  # Chinese puts the head noun last: 联系人手机 is a mobile
            elif form.endswith(synonym) or synonym not in _WEAK:
                level = _CONTAINS
            else:
                continue
            if best is None or (level, len(synonym)) > best:
                best = (level, len(synonym))
    return best


def _mostly_mobiles(sample_rows: Sequence[Sequence[str]], column: int) -> bool:
    values = [row[column] for row in sample_rows if column < len(row) and str(row[column]).strip()]
    if not values:
        return True
    mobiles = sum(1 for value in values if _MOBILE.fullmatch(_digits(str(value))))
    return mobiles * 2 > len(values)


def _digits(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value)
    return digits.removeprefix("+86").removeprefix("0086")
