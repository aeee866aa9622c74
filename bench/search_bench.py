"""Search benchmark: build a synthetic lead index and time typical queries (run: python bench/search_bench.py --docs 20000)."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crm.search import SearchIndex  # noqa: E402

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文单"
GIVEN = "世波伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力鹏飞志海燕宁"
REGIONS = ["安康", "汉滨", "旬阳", "平利", "紫阳", "岚皋", "镇坪", "白河", "石泉", "汉阴", "宁陕", "恩施", "西安",
           "北京", "深圳", "杭州", "廊坊", "雄安", "重庆", "成都"]
WORDS = ["硒源", "秦巴", "汉江", "瀛湖", "金州", "天润", "华瑞", "恒通", "鼎盛", "新元", "博远", "嘉禾"]
# (id, parent id, name, synonyms)
INDUSTRIES = [
    (1, None, "生物医药", ["医药", "制药"]), (2, 1, "中药材", ["中药", "药材"]), (3, 1, "医疗器械", []),
    (4, None, "富硒食品", ["硒产品", "食品"]), (5, 4, "富硒茶", ["茶叶", "茶"]), (6, 4, "魔芋", []),
    (7, None, "新材料", ["材料"]), (8, 7, "新型建材", ["建材"]), (9, None, "装备制造", ["制造"]),
    (10, 9, "新能源汽车", ["汽车"]), (11, None, "文化旅游", ["文旅", "旅游"]), (12, 11, "康养", ["养老"]),
]
BY_ID = {i[0]: i for i in INDUSTRIES}
SUFFIX = {1: "生物医药", 2: "中药材", 3: "医疗器械", 4: "富硒食品", 5: "富硒茶业", 6: "魔芋食品", 7: "新材料",
          8: "建材", 9: "装备制造", 10: "新能源汽车", 11: "文化旅游", 12: "康养"}
NOTE_BITS = ["计划在安康投资建厂", "有意向落地富硒产业园", "关注当地电价和物流", "董事长为在外乡贤", "需要用地约五十亩",
             "对接过县区领导", "产品出口东南亚", "希望政府协助招工", "看好秦巴生态资源", "拟设立区域总部"]
QUERIES = ["富硒", "生物医药", "张*", "zsb", "恩施硒源", "医药 OR 建材", '"富硒 茶业"', "zhang*", "世波", "医药 -中药",
           "swyy", "康养 汉滨"]


def industry_chain(ind_id: int) -> list[tuple]:
    chain = []
    while ind_id:
        chain.append(BY_ID[ind_id])
        ind_id = BY_ID[ind_id][1]
    return chain


def make_doc(i: int, rnd: random.Random) -> dict:
    ind = rnd.choice(INDUSTRIES)[0]
    chain = industry_chain(ind)
    person = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
    company = rnd.choice(REGIONS) + rnd.choice(WORDS) + SUFFIX[ind] + rnd.choice(["有限公司", "股份有限公司", "集团"])
    last = datetime(2025, 1, 1, tzinfo=UTC) - timedelta(days=rnd.randrange(900)) if rnd.random() < 0.8 else None
    return {
        "type": "lead", "id": i, "version": f"2025-01-01T00:00:{i % 60:02d}", "name": company, "company": company,
        "person_names": [person], "titles": [rnd.choice(["董事长", "总经理", "副总", "会长"])],
        "industry_ids": [c[0] for c in chain], "industry_text": [w for c in chain for w in [c[2], *c[3]]],
        "tags": rnd.sample(["茶", "乡贤", "重点", "外资", "上市", "专精特新"], 2),
        "origin_region": rnd.choice(REGIONS), "home_county": rnd.choice(REGIONS[:11]),
        "notes": "，".join(rnd.sample(NOTE_BITS, 3)),
        "interactions": [f"{rnd.choice(REGIONS)}拜访{person}，" + rnd.choice(NOTE_BITS) for _ in range(2)],
        "county_id": rnd.randrange(1, 11), "kind": rnd.choice(["enterprise", "chamber", "adviser"]),
        "status": rnd.choice(["active", "cold", "signed"]), "is_key": rnd.random() < 0.1,
        "last_contacted_at": last, "sort_name": company,
    }


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--keep", help="directory to build in (kept); default: a temp dir, removed")
    ap.add_argument("--reuse", action="store_true", help="with --keep: query the index already there, no build")
    ap.add_argument("--procs", type=int, default=1, help="processes for the build (Whoosh's multi-process writer)")
    args = ap.parse_args()
    path = args.keep or tempfile.mkdtemp(prefix="crm-search-bench-")
    try:
        rnd = random.Random(42)
        idx = SearchIndex(path)
        t0 = time.perf_counter()
        if not (args.reuse and args.keep and idx.doc_count()):
            idx.rebuild((make_doc(i, rnd) for i in range(1, args.docs + 1)), procs=args.procs)
        build = time.perf_counter() - t0
        size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
        print(f"docs {idx.doc_count()}  build {build:.1f}s  size {size / 1e6:.1f} MB")
        t0 = time.perf_counter()
        idx.upsert([make_doc(i, rnd) for i in range(1, 21)])
        print(f"upsert of 20 docs {1000 * (time.perf_counter() - t0):.0f} ms")
        print(f"{'query':<16}{'sort':<13}{'total':>7}{'p50 ms':>9}{'p95 ms':>9}{'cold ms':>9}")
        for q in QUERIES:
            for sort in ("relevance", "last_contact"):
                times = []
                for n in range(args.repeat + 1):
                    if n == 1:
                        idx.upsert([make_doc(args.docs + 1, rnd)])  # a write between: the cold run below
                    t0 = time.perf_counter()
                    res = idx.search(q, sort=sort)
                    times.append(1000 * (time.perf_counter() - t0))
                cold = times.pop(1)  # first search after a write: posting sets read afresh
                print(f"{q:<16}{sort:<13}{res.total:>7}{pct(times, 50):>9.1f}{pct(times, 95):>9.1f}{cold:>9.1f}")
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = idx.search("", filters={"industry_id": 1, "county_id": 3}, sort="name")
            times.append(1000 * (time.perf_counter() - t0))
        print(f"{'(filters only)':<16}{'name':<13}{res.total:>7}{pct(times, 50):>9.1f}{pct(times, 95):>9.1f}")
        t0 = time.perf_counter()
        idx.optimize()
        print(f"optimize {time.perf_counter() - t0:.1f}s")
    finally:
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
