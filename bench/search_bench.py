"""Search benchmark: build a synthetic lead index (timing the rebuild), then time queries with facets beside raw
Whoosh, and a lead's update until visible (run: python bench/search_bench.py --docs 100000 --procs 1,2)."""

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
           "swyy", "康养 汉滨", "中药材", "茶", "新能源汽车 深圳", "董事长 乡贤", "zhangsb", "wangwei", "硒源茶业",
           "计划在安康投资建厂", "汉江", "cs", "乡贤 -重点", "旅游 OR 康养"]


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


def raw_whoosh(idx: SearchIndex, q: str, facets: bool):
    """The same Whoosh query tree run by Whoosh itself: its scorer, top 20, and its own facets if asked."""
    from whoosh import query as wq
    from whoosh import sorting

    from crm.search.query import build, parse

    positive, negative = build(parse(q))
    if positive is None:
        return None
    query = wq.AndNot(positive, negative) if negative is not None else positive
    groups = None
    if facets:
        groups = {"county": sorting.FieldFacet("county_id"), "kind": sorting.FieldFacet("kind"),
                  "status": sorting.FieldFacet("status"), "is_key": sorting.FieldFacet("is_key"),
                  "industry": sorting.FieldFacet("industry_ids", allow_overlap=True)}
    with idx._ix.searcher() as searcher:
        results = searcher.search(query, limit=20, groupedby=groups)
        hits = len(results)
        if facets:
            for name in groups:
                results.groups(name)
        [hit["id"] for hit in results]
    return hits


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
    return out


def update_visible(path: str, rounds: int) -> list[float]:
    """Commit a lead's new name to a scratch SQLite database, run the indexing hook the services run after their
    commit (crm.services.indexing.leads_changed), and poll the search (this index) until the name is found."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from crm import create_app
    from crm.extensions import db
    from crm.models import County, Lead
    from crm.services import indexing
    from crm.services.counties import load_reference_counties

    scratch = tempfile.mkdtemp(prefix="crm-search-bench-db-")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch}/bench.sqlite3", "SECRET_KEY": "bench",
                          "SEARCH_INDEX_PATH": path, "MAIL_SERVER": None})
        out = []
        with app.app_context():
            upgrade()
            load_reference_counties()
            db.session.commit()
            county = db.session.scalars(select(County)).first()
            now = datetime.now(UTC)
            lead = Lead(name="可见性测试公司", owner_county_id=county.id, created_at=now, updated_at=now)
            db.session.add(lead)
            db.session.commit()
            lead_id = lead.id
            index = indexing.search_index()
            index.warm()  # as `crm serve` / the scheduler do on start (reconcile_in_background)
            for n in range(rounds):
                token = f"可见性测试{n}号{random.randrange(10**6)}"
                lead = db.session.get(Lead, lead_id)
                lead.name = token
                lead.updated_at = datetime.now(UTC)
                db.session.commit()
                t0 = time.perf_counter()
                indexing.leads_changed([lead_id])
                while not any(i["id"] == lead_id and i["name"] == token for i in index.search(f'"{token}"').items):
                    if time.perf_counter() - t0 > 30:
                        raise RuntimeError("update not visible after 30 s")
                    time.sleep(0.005)
                out.append(1000 * (time.perf_counter() - t0))
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--keep", help="directory to build in (kept); default: a temp dir, removed")
    ap.add_argument("--reuse", action="store_true", help="with --keep: query the index already there, no build")
    ap.add_argument("--procs", default="1", help="processes for the build, or a list to time each: 1,2")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw-Whoosh baseline (slow for broad queries)")
    ap.add_argument("--visible", type=int, default=10, help="update-visible rounds through the service (0: skip)")
    ap.add_argument("--optimize", action="store_true", help="time a full merge at the end")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when redirected to a file
    path = args.keep or tempfile.mkdtemp(prefix="crm-search-bench-")
    try:
        idx = SearchIndex(path)
        if not (args.reuse and args.keep and idx.doc_count()):
            for procs in [int(p) for p in args.procs.split(",")]:
                rnd = random.Random(42)
                t0 = time.perf_counter()
                idx.rebuild((make_doc(i, rnd) for i in range(1, args.docs + 1)), procs=procs)
                print(f"rebuild of {args.docs} docs with procs={procs}: {time.perf_counter() - t0:.1f}s")
        rnd = random.Random(7)
        size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
        print(f"docs {idx.doc_count()}  size {size / 1e6:.1f} MB  segments {len(idx._ix._segments())}")
        t0 = time.perf_counter()
        idx.upsert([make_doc(i, rnd) for i in range(1, 21)])
        print(f"upsert of 20 docs {1000 * (time.perf_counter() - t0):.0f} ms")
        print("every search computes all five facets; raw = the same Whoosh query tree run by Whoosh (its scorer, "
              "top 20, its facets)")
        print(f"{'query':<20}{'total':>7}{'p50 ms':>9}{'p95 ms':>9}{'cold ms':>9}{'raw p50':>9}{'raw+facets':>11}"
              f"{'ratio':>8}")
        warm_all: list[float] = []
        with_cold: list[float] = []
        ratios = []
        for q in QUERIES:
            idx.upsert([make_doc(args.docs + 1, rnd)])  # a write: the next search is the first of a generation
            t0 = time.perf_counter()
            res = idx.search(q)
            cold = 1000 * (time.perf_counter() - t0)
            times = timed(lambda q=q: idx.search(q), args.repeat)
            warm_all += times
            with_cold += times + [cold]
            raw = raw_facets = ratio = float("nan")
            if not args.no_raw:
                raw_whoosh(idx, q, False)
                raw = pct(timed(lambda q=q: raw_whoosh(idx, q, False), max(3, args.repeat // 3)), 50)
                raw_facets = pct(timed(lambda q=q: raw_whoosh(idx, q, True), max(3, args.repeat // 3)), 50)
                ratio = pct(times, 50) / raw_facets
                ratios.append(ratio)
            print(f"{q:<20}{res.total:>7}{pct(times, 50):>9.1f}{pct(times, 95):>9.1f}{cold:>9.1f}{raw:>9.1f}"
                  f"{raw_facets:>11.1f}{ratio:>8.4f}")
        for sort in ("last_contact", "name"):
            times = timed(lambda sort=sort: idx.search("富硒", sort=sort), args.repeat)
            print(f"{'富硒 by ' + sort:<20}{'':>7}{pct(times, 50):>9.1f}{pct(times, 95):>9.1f}")
        times = timed(lambda: idx.search("", filters={"industry_id": 1, "county_id": 3}, sort="name"), args.repeat)
        print(f"{'(filters only)':<20}{'':>7}{pct(times, 50):>9.1f}{pct(times, 95):>9.1f}")
        print(f"ALL QUERIES warm: p50 {pct(warm_all, 50):.1f} ms  p95 {pct(warm_all, 95):.1f} ms  "
              f"p99 {pct(warm_all, 99):.1f} ms;  with one first-after-write run per query: "
              f"p50 {pct(with_cold, 50):.1f}  p95 {pct(with_cold, 95):.1f} ms")
        if ratios:
            print(f"ours / raw Whoosh with facets (p50 over p50): median {pct(ratios, 50):.4f}, "
                  f"worst {max(ratios):.4f}")
        if args.visible:
            vis = update_visible(path, args.visible)
            print(f"update visible after commit (service hook + first search), {len(vis)} rounds: "
                  f"p50 {pct(vis, 50):.0f} ms  max {max(vis):.0f} ms  (each: {', '.join(f'{v:.0f}' for v in vis)})")
        if args.optimize:
            t0 = time.perf_counter()
            idx.optimize()
            print(f"optimize {time.perf_counter() - t0:.1f}s")
    finally:
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
