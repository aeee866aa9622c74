"""Pinyin conversions remembered per pypinyin word give what one lazy_pinyin call over the whole text gives
(crm.services.identity.pinyin_keys, crm.search.analysis.run_pinyin), and the one-regex region strip matches the
loop over prefixes it replaced."""

import random
import unicodedata

from pypinyin import Style, lazy_pinyin

from crm.search.analysis import run_pinyin
from crm.services import identity

# Polyphonic characters whose reading depends on the word (银行 hang, 行长 zhang, 重庆 chong, 长江 chang …).
PIECES = ["银行", "行长", "重庆", "长江", "重要", "朝阳", "朝代", "单位", "曾经", "解决", "音乐", "快乐", "安康", "紫阳",
          "富硒", "茶业", "有限公司", "股份", "中药材", "恒信", "长孙", "尉迟", "ABC", "2号", " ", "·", "㐀", "藏"]


def _texts(n: int) -> list[str]:
    rng = random.Random(11)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 5))) for _ in range(n)]


def _whole_call_keys(text: str) -> tuple[str, str]:
    text = unicodedata.normalize("NFKC", text).strip()
    return (identity._ascii_key(lazy_pinyin(text)),
            identity._ascii_key(lazy_pinyin(text, style=Style.FIRST_LETTER)))


def test_identity_pinyin_keys_equal_one_lazy_pinyin_call():
    for text in _texts(3000):
        assert identity.pinyin_keys(text) == _whole_call_keys(text), text


def test_search_run_pinyin_equals_one_lazy_pinyin_call():
    for text in _texts(3000):
        run = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
        if run:
            assert list(run_pinyin(run)) == lazy_pinyin(run, errors=lambda s: ["?"] * len(s)), run


def _strip_region_by_loop(name: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in identity._REGION_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                name, stripped = name[len(prefix):], True
                break
    return name


def test_region_strip_matches_the_prefix_loop():
    names = ["北京", "北京市", "北京市恒信", "陕西省安康市汉滨区恒信", "汉滨区", "汉滨", "安康市", "安康安康茶业",
             "内蒙古自治区", "内蒙古自治区包头", "重庆长江", "西安"] + _texts(500)
    for name in names:
        assert identity._strip_region(name) == _strip_region_by_loop(name), name
