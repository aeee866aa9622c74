"""Family names read differently from the character's everyday reading (单 shan, 曾 zeng …); no Flask, no database.

The one table for both the stored pinyin keys (crm.services.identity) and the search index (crm.search.analysis):
two copies had drifted apart. pypinyin has no surname mode (python-pinyin issue #297, open) and a phrase
dictionary would change 单位 and 曾经 as well, so the readings live here and apply to the head of a person's name.
"""
from __future__ import annotations

# Only entries whose reading differs from pypinyin's everyday one (toneless). 尉 alone is Wèi, as pypinyin reads
# it; yù only in 尉迟. 牟 is Móu, pypinyin's reading too.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "尉迟": ("yu", "chi"), "单于": ("chan", "yu"), "长孙": ("zhang", "sun"), "万俟": ("mo", "qi"),
    "澹台": ("tan", "tai"),
    "单": ("shan",), "曾": ("zeng",), "解": ("xie",), "仇": ("qiu",), "区": ("ou",), "朴": ("piao",),
    "查": ("zha",), "盖": ("ge",), "乐": ("yue",), "覃": ("qin",), "缪": ("miao",), "翟": ("zhai",),
    "种": ("chong",), "重": ("chong",), "繁": ("po",), "员": ("yun",), "贠": ("yun",), "召": ("shao",),
    "秘": ("bi",), "折": ("she",), "阚": ("kan",), "薄": ("bo",), "隗": ("wei",), "莘": ("xin",),
    "句": ("gou",), "黑": ("he",), "都": ("du",), "佴": ("nai",), "粘": ("nian",), "藏": ("zang",),
    "乜": ("nie",), "卜": ("bu",),
}
_LONGEST_FIRST = sorted(SURNAME_READINGS, key=len, reverse=True)


def surname_reading(name: str) -> tuple[str, tuple[str, ...]] | None:
    """(surname, its syllables) when a person's name starts with a surname of the table, else None.

    A compound surname counts only with a given name after it: 单于 alone is more likely 单 with the name 于."""
    for surname in _LONGEST_FIRST:
        if name.startswith(surname) and (len(surname) == 1 or len(name) > len(surname)):
            return surname, SURNAME_READINGS[surname]
    return None
