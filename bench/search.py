"""Search benchmark: a deterministic synthetic city (100,000 leads, 1,000,000 interaction notes) indexed by
crm.search (rebuild timed with 1 and 2 processes, index size), then a fixed set of 58 queries in 7 categories, each
timed on our SearchIndex (with all five facets), on raw Whoosh (the same query tree, Whoosh's scorer and
`groupedby` facets), on SQLite FTS5 (trigram tokenizer) and as SQLite LIKE over the same rows (both with the same
filters and facet counts), with hit sets compared; finally a lead's update until visible through the service hook.

Run: python bench/search.py                (100,000 leads; ~15 min on 2 cores)
     python bench/search.py --leads 5000   (quick)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crm.search import SearchIndex  # noqa: E402

RECENT = 10  # crm/services/indexing.py RECENT_INTERACTIONS: a lead's document carries its 10 latest summaries
NOTES_PER_LEAD = 10  # on average: 100,000 leads -> 1,000,000 notes

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
CHANNELS = ["电话沟通", "上门拜访", "微信联系", "来访接待", "展会洽谈", "视频会议"]
OUTCOMES = ["待报方案", "已发资料", "约定下次考察", "意向较强", "暂缓", "需领导出面", "已签框架协议", ""]
KINDS = ["enterprise", "chamber", "adviser"]
STATUSES = ["active", "cold", "signed"]

# (category, query, filters). Filters use SearchIndex.search's names.
QUERIES: list[tuple[str, str, dict]] = [
    ("industry", "富硒", {}), ("industry", "生物医药", {}), ("industry", "医药", {}), ("industry", "中药材", {}),
    ("industry", "茶", {}), ("industry", "富硒茶", {}), ("industry", "新能源汽车", {}), ("industry", "康养", {}),
    ("industry", "建材", {}), ("industry", "旅游", {}),
    ("name", "张世波", {}), ("name", "世波", {}), ("name", "王伟", {}), ("name", "李娜", {}), ("name", "张*", {}),
    ("name", "曾", {}), ("name", "单芳", {}), ("name", "萧敏静", {}),
    ("company", "硒源", {}), ("company", "恩施硒源", {}), ("company", "硒源茶业", {}), ("company", "秦巴", {}),
    ("company", "瀛湖康养", {}), ("company", "天润", {}), ("company", "汉江鼎盛", {}),
    ("company", "股份有限公司", {}),
    ("pinyin", "zhangshibo", {}), ("pinyin", "zsb", {}), ("pinyin", "swyy", {}), ("pinyin", "zhang*", {}),
    ("pinyin", "wangwei", {}), ("pinyin", "cs", {}), ("pinyin", "xiyuan", {}), ("pinyin", "zhangsb", {}),
    ("notes", "董事长 乡贤", {}), ("notes", "计划在安康投资建厂", {}), ("notes", "电价 物流", {}),
    ("notes", "出口东南亚", {}), ("notes", "招工", {}), ("notes", "框架协议", {}),
    ("operators", "医药 OR 建材", {}), ("operators", '"富硒 茶业"', {}), ("operators", "医药 -中药", {}),
    ("operators", "乡贤 -重点", {}), ("operators", "旅游 OR 康养", {}), ("operators", "康养 汉滨", {}),
    ("operators", "新能源汽车 深圳", {}), ("operators", "张 NOT 重点", {}),
    ("facets+filters", "富硒", {"county_id": 3}), ("facets+filters", "医药", {"kind": "chamber"}),
    ("facets+filters", "茶", {"status": "signed", "is_key": True}),
    ("facets+filters", "乡贤", {"industry_id": 4}), ("facets+filters", "", {"industry_id": 1, "county_id": 3}),
    ("facets+filters", "", {"county_id": 5, "is_key": True}), ("facets+filters", "zsb", {"county_id": 2}),
    ("facets+filters", "硒源", {"industry_id": 5, "status": "active"}),
    ("facets+filters", "计划在安康投资建厂", {"kind": "enterprise", "county_id": 7}),
    ("facets+filters", "秦巴 OR 汉江", {"is_key": False, "status": "cold"}),
]
FACETS = ("county", "kind", "status", "is_key", "industry")


# ---- the synthetic city ----------------------------------------------------------------------------

def industry_chain(ind_id: int) -> list[tuple]:
    chain = []
    while ind_id:
        chain.append(BY_ID[ind_id])
        ind_id = BY_ID[ind_id][1]
    return chain


def note_counts(i: int, rnd: random.Random) -> int:
    """Notes of lead i: leads pair up (10 + d, 10 - d), so n leads carry exactly 10 * n notes (n even)."""
    if i % 2:
        rnd.pair = rnd.randint(-9, 9)  # type: ignore[attr-defined]
        return NOTES_PER_LEAD + rnd.pair  # type: ignore[attr-defined]
    return NOTES_PER_LEAD - getattr(rnd, "pair", 0)


def city(leads: int, seed: int = 42):
    """Yield (doc, notes) per lead, lazily: doc is what crm.services.indexing.lead_document builds (its
    interactions the latest RECENT summaries, newest first), notes are all its interaction rows."""
    rnd = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(1, leads + 1):
        ind = rnd.choice(INDUSTRIES)[0]
        chain = industry_chain(ind)
        person = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        company = (rnd.choice(REGIONS) + rnd.choice(WORDS) + SUFFIX[ind]
                   + rnd.choice(["有限公司", "股份有限公司", "集团"]))
        notes = []
        for _ in range(note_counts(i, rnd)):
            when = base - timedelta(days=rnd.randrange(900), minutes=rnd.randrange(1440))
            summary = f"{rnd.choice(CHANNELS)}，{rnd.choice(REGIONS)}见{person}，{rnd.choice(NOTE_BITS)}"
            notes.append((when, summary, rnd.choice(OUTCOMES)))
        notes.sort(key=lambda n: n[0], reverse=True)
        recent = ["；".join(t for t in (s, o) if t) for _, s, o in notes[:RECENT]]
        doc = {
            "type": "lead", "id": i, "version": f"2025-01-01T00:00:{i % 60:02d}", "name": company,
            "company": company, "person_names": [person], "titles": [rnd.choice(["董事长", "总经理", "副总", "会长"])],
            "industry_ids": [c[0] for c in chain], "industry_text": [w for c in chain for w in [c[2], *c[3]]],
            "tags": rnd.sample(["茶", "乡贤", "重点", "外资", "上市", "专精特新"], 2),
            "origin_region": rnd.choice(REGIONS), "home_county": rnd.choice(REGIONS[:11]),
            "notes": "，".join(rnd.sample(NOTE_BITS, 3)), "interactions": recent,
            "county_id": rnd.randrange(1, 11), "kind": rnd.choice(KINDS), "status": rnd.choice(STATUSES),
            "is_key": rnd.random() < 0.1, "last_contacted_at": notes[0][0] if notes else None,
            "sort_name": company,
        }
        yield doc, notes


def docs_only(leads: int):
    return (doc for doc, _notes in city(leads))


# ---- helpers -----------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
    return out


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


# ---- raw Whoosh ------------------------------------------------------------------------------------

def whoosh_query(q: str, filters: dict):
    """(query, filter) as Whoosh objects: our own query tree (crm.search.query.build) and term filters."""
    from whoosh import query as wq

    from crm.search.query import build, parse

    positive, negative = build(parse(q))
    query = wq.Every() if positive is None else positive
    if negative is not None:
        query = wq.AndNot(query, negative)
    terms = []
    for name, field in (("industry_id", "industry_ids"), ("county_id", "county_id"), ("kind", "kind"),
                        ("status", "status")):
        if filters.get(name) not in (None, ""):
            terms.append(wq.Term(field, str(filters[name])))
    if filters.get("is_key") is not None:
        terms.append(wq.Term("is_key", "1" if filters["is_key"] else "0"))
    filt = None if not terms else terms[0] if len(terms) == 1 else wq.And(terms)
    return query, filt


def raw_whoosh(searcher, q: str, filters: dict, facets: bool = True):
    """The same query run by Whoosh itself: its scorer, top 20, its own facets. Returns (total, top docnums)."""
    from whoosh import sorting

    query, filt = whoosh_query(q, filters)
    groups = None
    if facets:
        groups = {"county": sorting.FieldFacet("county_id"), "kind": sorting.FieldFacet("kind"),
                  "status": sorting.FieldFacet("status"), "is_key": sorting.FieldFacet("is_key"),
                  "industry": sorting.FieldFacet("industry_ids", allow_overlap=True)}
    results = searcher.search(query, limit=20, groupedby=groups, filter=filt)
    if facets:
        for name in groups:
            results.groups(name)
    return len(results), [hit.docnum for hit in results]


def whoosh_all(searcher, q: str, filters: dict) -> set[int]:
    query, filt = whoosh_query(q, filters)
    return set(searcher.search(query, limit=None, scored=False, filter=filt).docs())


# ---- SQLite: plain rows, FTS5 trigram, LIKE -------------------------------------------------------------

TEXT_COLS = ("name", "company", "person_names", "titles", "industry_text", "tags", "origin_region", "home_county",
             "notes", "interactions")


def build_sqlite(path: str, leads: int) -> dict:
    """leads + interactions tables (the same rows as the index), then an FTS5 trigram table over the lead text.
    Returns timings and sizes."""
    out: dict = {}
    con = sqlite3.connect(path)
    con.executescript(f"""
        PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE TABLE leads (id INTEGER PRIMARY KEY, {", ".join(c + " TEXT" for c in TEXT_COLS)},
                            county_id INTEGER, kind TEXT, status TEXT, is_key INTEGER, industry_id INTEGER,
                            last_contacted_at TEXT);
        CREATE TABLE interactions (id INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL, occurred_at TEXT,
                                   summary TEXT, outcome TEXT);
        CREATE TABLE industry_ancestors (industry_id INTEGER, ancestor_id INTEGER);
        CREATE INDEX ix_interactions_lead ON interactions (lead_id, occurred_at);
    """)
    con.executemany("INSERT INTO industry_ancestors VALUES (?, ?)",
                    [(i, c[0]) for i in BY_ID for c in industry_chain(i)])
    t0 = time.perf_counter()
    notes_total = 0
    batch_l, batch_n = [], []

    def flush():
        con.executemany(f"INSERT INTO leads VALUES ({', '.join('?' * (len(TEXT_COLS) + 7))})", batch_l)
        con.executemany("INSERT INTO interactions (lead_id, occurred_at, summary, outcome) VALUES (?, ?, ?, ?)",
                        batch_n)
        batch_l.clear()
        batch_n.clear()

    for doc, notes in city(leads):
        text = [" ".join(v) if isinstance(v, list) else (v or "") for v in (doc[c] for c in TEXT_COLS)]
        batch_l.append((doc["id"], *text, doc["county_id"], doc["kind"], doc["status"], int(doc["is_key"]),
                        doc["industry_ids"][0], doc["last_contacted_at"].isoformat()
                        if doc["last_contacted_at"] else None))
        batch_n += [(doc["id"], w.isoformat(), s, o) for w, s, o in notes]
        notes_total += len(notes)
        if len(batch_l) >= 5000:
            flush()
    flush()
    con.commit()
    out["rows_s"] = time.perf_counter() - t0
    out["notes"] = notes_total
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out["rows_mb"] = os.path.getsize(path) / 1e6
    t0 = time.perf_counter()
    con.execute("CREATE VIRTUAL TABLE leads_fts USING fts5(body, tokenize='trigram')")
    con.execute(f"INSERT INTO leads_fts (rowid, body) SELECT id, {concat()} FROM leads")
    con.commit()
    out["fts_s"] = time.perf_counter() - t0
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out["fts_mb"] = os.path.getsize(path) / 1e6 - out["rows_mb"]
    con.execute("ANALYZE")
    con.close()
    return out


def concat(alias: str = "") -> str:
    return " || ' ' || ".join(f"coalesce({alias}{c}, '')" for c in TEXT_COLS)


def like_text(clause) -> str:
    """A clause as the substring a LIKE would look for: phrase words joined (no spaces between CJK words)."""
    words = clause.text.split()
    text = ""
    for w in words:
        if text and text[-1].isascii() and w[0].isascii():
            text += " "
        text += w
    return text


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def sql_query(q: str, filters: dict, mode: str) -> tuple[str, list, str]:
    """SQL computing total, five facets and the top 20 for q: mode "fts" (FTS5 MATCH for terms of >= 3
    characters, LIKE on the FTS table's own column for shorter ones: trigram cannot index them) or "like"
    (LIKE '%term%' over the concatenated text columns). Returns (sql, params, note)."""
    from crm.search.query import parse

    parsed = parse(q)
    params: list = []
    where: list[str] = []
    note = ""
    if mode == "like":
        body = f"({concat('l.')})"
        for group in parsed.groups:
            where.append("(" + " OR ".join(f"{body} LIKE ? ESCAPE '\\'" for _ in group) + ")")
            params += [f"%{_esc(like_text(c))}%" for c in group]
        for c in parsed.excluded:
            where.append(f"{body} NOT LIKE ? ESCAPE '\\'")
            params.append(f"%{_esc(like_text(c))}%")
        source, rank = "leads l", "0"
    else:
        match: list[str] = []
        short = False
        for group in parsed.groups:
            texts = [like_text(c) for c in group]
            if all(len(t) >= 3 for t in texts):
                match.append("(" + " OR ".join('"' + t.replace('"', '""') + '"' for t in texts) + ")")
            else:
                short = True
                where.append("(" + " OR ".join("f.body LIKE ? ESCAPE '\\'" for _ in texts) + ")")
                params += [f"%{_esc(t)}%" for t in texts]
        for c in parsed.excluded:
            t = like_text(c)
            if len(t) >= 3 and match:
                match.append('NOT "' + t.replace('"', '""') + '"')
            else:
                short = True
                where.append("f.body NOT LIKE ? ESCAPE '\\'")
                params.append(f"%{_esc(t)}%")
        if match:
            expr = " AND ".join(m for m in match if not m.startswith("NOT"))
            expr += "".join(" " + m for m in match if m.startswith("NOT"))
            where.insert(0, "leads_fts MATCH ?")
            params.insert(0, expr)
            rank = "bm25(leads_fts)"
            note = "match+like" if short else "match"
        else:
            rank = "0"
            note = "like-scan" if where else ""
        source = "leads_fts f JOIN leads l ON l.id = f.rowid" if where else "leads l"
    if not where and not filters:
        return "", [], "empty"
    for name, col in (("industry_id", None), ("county_id", "l.county_id"), ("kind", "l.kind"),
                      ("status", "l.status")):
        if filters.get(name) not in (None, ""):
            if col is None:
                where.append("l.industry_id IN (SELECT industry_id FROM industry_ancestors WHERE ancestor_id = ?)")
            else:
                where.append(f"{col} = ?")
            params.append(filters[name])
    if filters.get("is_key") is not None:
        where.append("l.is_key = ?")
        params.append(int(bool(filters["is_key"])))
    sql = f"""
        WITH m AS MATERIALIZED (SELECT l.id, l.county_id, l.kind, l.status, l.is_key, l.industry_id, l.name,
                                       {rank} AS r FROM {source} WHERE {" AND ".join(where)})
        SELECT 'total', NULL, count(*) FROM m
        UNION ALL SELECT 'county', county_id, count(*) FROM m GROUP BY county_id
        UNION ALL SELECT 'kind', kind, count(*) FROM m GROUP BY kind
        UNION ALL SELECT 'status', status, count(*) FROM m GROUP BY status
        UNION ALL SELECT 'is_key', is_key, count(*) FROM m GROUP BY is_key
        UNION ALL SELECT 'industry', a.ancestor_id, count(*) FROM m JOIN industry_ancestors a
                  ON a.industry_id = m.industry_id GROUP BY a.ancestor_id
        UNION ALL SELECT * FROM (SELECT 'top', id, r FROM m ORDER BY r, id LIMIT 20)"""
    return sql, params, note


def run_sql(con, sql: str, params: list) -> tuple[int, list[int]]:
    if not sql:
        return 0, []
    total, top = 0, []
    for kind, key, value in con.execute(sql, params):
        if kind == "total":
            total = value
        elif kind == "top":
            top.append(key)
    return total, top


def sql_ids(con, sql: str, params: list) -> set[int]:
    if not sql:
        return set()
    head = sql.split("SELECT 'total'")[0]
    return {r[0] for r in con.execute(head + " SELECT id FROM m", params)}


# ---- update visible -----------------------------------------------------------------------------------

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


# ---- main ------------------------------------------------------------------------------------------------

def overlap(a: list, b: list) -> int:
    return len(set(a) & set(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=100_000, help="synthetic leads (10 interaction notes each on "
                    "average)")
    ap.add_argument("--repeat", type=int, default=10, help="warm runs per query on our index (after one cold run)")
    ap.add_argument("--slow-repeat", type=int, default=3,
                    help="warm runs per query on raw Whoosh, FTS5 and LIKE (after one untimed warm-up)")
    ap.add_argument("--keep", help="directory to build in (kept); default: a temp dir, removed")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use the index and database already there")
    ap.add_argument("--procs", default="2,1", help="processes for the rebuild; a list times each: 2,1")
    ap.add_argument("--no-raw", action="store_true", help="skip raw Whoosh")
    ap.add_argument("--no-sql", action="store_true", help="skip SQLite FTS5 and LIKE")
    ap.add_argument("--visible", type=int, default=10, help="update-visible rounds through the service (0: skip)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when redirected to a file
    root = args.keep or tempfile.mkdtemp(prefix="crm-search-bench-")
    path, dbpath = os.path.join(root, "index"), os.path.join(root, "city.sqlite3")
    os.makedirs(path, exist_ok=True)
    md: list[str] = []  # the markdown block printed at the end
    started = datetime.now(UTC)
    print(f"search bench {started:%Y-%m-%d %H:%M} UTC, {args.leads} leads, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} CPUs, {load()}")
    try:
        idx = SearchIndex(path)
        builds = []
        if not (args.reuse and idx.doc_count()):
            for procs in [int(p) for p in args.procs.split(",")]:
                before = load()
                t0 = time.perf_counter()
                idx.rebuild(docs_only(args.leads), procs=procs)
                took = time.perf_counter() - t0
                builds.append((procs, took, dir_size(path), before))
                print(f"rebuild {args.leads} leads, procs={procs}: {took:.1f} s, index {dir_size(path) / 1e6:.1f} MB "
                      f"({before} before, {load()} after)")
        size = dir_size(path)
        print(f"index: {idx.doc_count()} docs, {size / 1e6:.1f} MB")
        sqlinfo = None
        if not args.no_sql and not (args.reuse and os.path.exists(dbpath)):
            if os.path.exists(dbpath):
                os.remove(dbpath)
            before = load()
            sqlinfo = build_sqlite(dbpath, args.leads)
            print(f"sqlite: {args.leads} leads + {sqlinfo['notes']} interaction notes inserted in "
                  f"{sqlinfo['rows_s']:.1f} s ({sqlinfo['rows_mb']:.1f} MB); FTS5 trigram built in "
                  f"{sqlinfo['fts_s']:.1f} s (+{sqlinfo['fts_mb']:.1f} MB) ({before} before, {load()} after)")
        con = None if args.no_sql else sqlite3.connect(dbpath)
        if con is not None:
            con.execute("PRAGMA cache_size=-200000")  # 200 MB page cache: the table stays in memory

        # cold pass: a write first (lead 1 rewritten as it is), so each query's run is the first search of a new
        # index generation and the hit counts stay those of the SQLite rows
        first = next(docs_only(1))
        colds = []
        for _cat, q, filters in QUERIES:
            idx.upsert([first])
            t0 = time.perf_counter()
            idx.search(q, filters=filters)
            colds.append(1000 * (time.perf_counter() - t0))
        print(f"cold pass done ({load()})")
        searcher = idx._ix.searcher()  # raw Whoosh's own searcher on the same (now unchanging) index
        dmap = {n: f["id"] for n, f in searcher.reader().iter_docs() if f.get("type") == "lead"}

        rows = []
        print("\nper query (ms; 'ours' = SearchIndex.search with five facets; raw/fts/like also compute the five "
              "facets; only f/l = hits only ours has, then hits only FTS5/LIKE have)")
        head = (f"{'category':<15}{'query':<22}{'ours':>7}{'p50':>7}{'p95':>7}{'cold':>7}{'raw':>8}{'x raw':>7}"
                f"{'fts':>7}{'fts ms':>8}{'like':>7}{'like ms':>9}  {'only ours f/l':>14}{'only f/l':>11} top20 r/f")
        print(head)
        for (cat, q, filters), cold in zip(QUERIES, colds, strict=True):
            res = idx.search(q, filters=filters)
            times = timed(lambda q=q, f=filters: idx.search(q, filters=f), args.repeat)
            ours_top = [i["id"] for i in res.items]
            row = {"cat": cat, "q": q, "filters": filters, "total": res.total, "times": times, "cold": cold,
                   "top": ours_top}
            ours_set = {dmap[d] for d in whoosh_all(searcher, q, filters) if d in dmap}
            row["set"] = ours_set
            if not args.no_raw:
                raw_total, raw_top = raw_whoosh(searcher, q, filters)
                row["raw_times"] = timed(lambda q=q, f=filters: raw_whoosh(searcher, q, f), args.slow_repeat)
                row["raw_total"] = raw_total
                row["raw_top"] = [dmap.get(d) for d in raw_top]
            if con is not None:
                for mode in ("fts", "like"):
                    sql, params, note = sql_query(q, filters, mode)
                    total, top = run_sql(con, sql, params)
                    row[mode + "_times"] = timed(lambda s=sql, p=params: run_sql(con, s, p), args.slow_repeat)
                    row[mode + "_total"], row[mode + "_top"], row[mode + "_note"] = total, top, note
                    found = sql_ids(con, sql, params)
                    row[mode + "_miss"] = len(ours_set - found)
                    row[mode + "_extra"] = len(found - ours_set)
            rows.append(row)
            label = q if q else "(filters only)"
            if filters:
                label += " " + ",".join(f"{k}={v}" for k, v in filters.items())
            raw_p50 = pct(row.get("raw_times", []), 50)
            print(f"{cat:<15}{label[:21]:<22}{res.total:>7}{pct(times, 50):>7.1f}{pct(times, 95):>7.1f}{cold:>7.1f}"
                  f"{raw_p50:>8.1f}{pct(times, 50) / raw_p50:>7.3f}"
                  f"{row.get('fts_total', -1):>7}{pct(row.get('fts_times', []), 50):>8.1f}"
                  f"{row.get('like_total', -1):>7}{pct(row.get('like_times', []), 50):>9.1f}  "
                  f"{row.get('fts_miss', 0):>4}/{row.get('like_miss', 0):<4}{row.get('fts_extra', 0):>5}/"
                  f"{row.get('like_extra', 0):<5} {overlap(ours_top, row.get('raw_top', []))}/"
                  f"{overlap(ours_top, row.get('fts_top', []))} {row.get('fts_note', '')}")
        searcher.close()

        # ---- summaries
        def summary(sel, key):
            vals = [t for r in sel for t in r.get(key, [])]
            return pct(vals, 50), pct(vals, 95), pct(vals, 99)

        cats = list(dict.fromkeys(r["cat"] for r in rows))
        print("\nlatency by category, ms p50 / p95 / p99 (ours warm; ours incl. one first-after-write run per "
              "query; raw Whoosh; FTS5; LIKE)")
        md.append("| category (queries) | ours warm p50 / p95 / p99 | ours incl. cold p95 | raw Whoosh p50 / p95 | "
                  "FTS5 trigram p50 / p95 | LIKE p50 / p95 |")
        md.append("|---|---|---|---|---|---|")
        for cat in [*cats, "ALL"]:
            sel = rows if cat == "ALL" else [r for r in rows if r["cat"] == cat]
            o = summary(sel, "times")
            cold_p95 = pct([t for r in sel for t in [*r["times"], r["cold"]]], 95)
            raw, fts, like = summary(sel, "raw_times"), summary(sel, "fts_times"), summary(sel, "like_times")
            print(f"{cat + f' ({len(sel)})':<20} ours {o[0]:6.1f} {o[1]:6.1f} {o[2]:6.1f} | incl cold p95 "
                  f"{cold_p95:6.1f} | raw {raw[0]:7.1f} {raw[1]:7.1f} {raw[2]:7.1f} | fts {fts[0]:7.1f} {fts[1]:7.1f} "
                  f"{fts[2]:7.1f} | like {like[0]:7.1f} {like[1]:7.1f} {like[2]:7.1f}")
            name = f"**all ({len(sel)})**" if cat == "ALL" else f"{cat} ({len(sel)})"
            md.append(f"| {name} | {o[0]:.1f} / {o[1]:.1f} / {o[2]:.1f} | {cold_p95:.1f} | {raw[0]:.1f} / "
                      f"{raw[1]:.1f} | {fts[0]:.1f} / {fts[1]:.1f} | {like[0]:.1f} / {like[1]:.1f} |")
        ratios = [pct(r["times"], 50) / pct(r["raw_times"], 50) for r in rows if r.get("raw_times")]
        if ratios:
            print(f"ours / raw Whoosh (p50 over p50 per query): median {pct(ratios, 50):.4f}, worst "
                  f"{max(ratios):.4f} ({[r['q'] for r in rows][ratios.index(max(ratios))]!r})")

        # ---- hits compared
        hits_md = []
        if con is not None:
            print("\nhits compared with ours (ours = the full matching set of our query tree):")
            for cat in cats:
                sel = [r for r in rows if r["cat"] == cat]
                line = (f"{cat:<15} ours {sum(r['total'] for r in sel):>8}  FTS5 {sum(r['fts_total'] for r in sel):>8}"
                        f" (only ours {sum(r['fts_miss'] for r in sel)}, only FTS5 {sum(r['fts_extra'] for r in sel)}, "
                        f"queries with 0 hits where ours has some: "
                        f"{sum(1 for r in sel if r['fts_total'] == 0 and r['total'])})  LIKE "
                        f"{sum(r['like_total'] for r in sel):>8} (only ours {sum(r['like_miss'] for r in sel)}, only LIKE "
                        f"{sum(r['like_extra'] for r in sel)}, 0-hit {sum(1 for r in sel if r['like_total'] == 0 and r['total'])})")
                print(line)
                hits_md.append(f"| {cat} | {sum(r['total'] for r in sel):,} | {sum(r['fts_total'] for r in sel):,} "
                               f"/ {sum(r['fts_miss'] for r in sel):,} / {sum(r['fts_extra'] for r in sel):,} | "
                               f"{sum(r['like_total'] for r in sel):,} / {sum(r['like_miss'] for r in sel):,} / "
                               f"{sum(r['like_extra'] for r in sel):,} | "
                               f"{sum(1 for r in sel if r['fts_total'] == 0 and r['total'])} / "
                               f"{sum(1 for r in sel if r['like_total'] == 0 and r['total'])} |")
            short = [r["q"] + ("" if not r["filters"] else " (filtered)") for r in rows
                     if r["fts_note"] in ("like-scan", "match+like")]
            print(f"FTS5 could not use its index for a term of < 3 characters in {len(short)} queries (LIKE on the "
                  f"FTS table instead): {', '.join(short)}")
        if not args.no_raw:
            same = sum(1 for r in rows if r.get("raw_total") == r["total"])
            print(f"raw Whoosh total equals ours in {same}/{len(rows)} queries; top-20 overlap ours vs raw median "
                  f"{pct([overlap(r['top'], r['raw_top']) for r in rows], 50)}")

        vis = update_visible(path, args.visible) if args.visible else []
        if vis:
            print(f"update visible after commit (service hook + first search), {len(vis)} rounds: p50 "
                  f"{pct(vis, 50):.0f} ms, max {max(vis):.0f} ms (each: {', '.join(f'{v:.0f}' for v in vis)})")

        # ---- the markdown block
        print("\n---- markdown (docs/benchmarks.md) ----")
        print(f"`python bench/search.py --leads {args.leads}` — {started:%Y-%m-%d %H:%M} UTC, "
              f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}, {load()} at the end\n")
        for procs, took, sz, before in builds:
            print(f"- rebuild of {args.leads:,} leads, {procs} process(es): **{took:.1f} s**, index {sz / 1e6:.0f} MB "
                  f"({before} before)")
        if sqlinfo:
            print(f"- SQLite: {args.leads:,} lead rows + {sqlinfo['notes']:,} interaction notes inserted in "
                  f"{sqlinfo['rows_s']:.1f} s ({sqlinfo['rows_mb']:.0f} MB); FTS5 trigram over the lead text built "
                  f"in **{sqlinfo['fts_s']:.1f} s**, +{sqlinfo['fts_mb']:.0f} MB")
        if ratios:
            print(f"- ours ÷ raw Whoosh (same query tree, Whoosh scorer + `groupedby` facets), p50/p50 per query: "
                  f"median {pct(ratios, 50):.4f}, worst {max(ratios):.4f}")
        if vis:
            print(f"- update visible after commit, {len(vis)} rounds: p50 {pct(vis, 50):.0f} ms, max {max(vis):.0f} ms")
        print()
        print("\n".join(md))
        if hits_md:
            print("\n| category | ours hits | FTS5 hits / only ours / only FTS5 | LIKE hits / only ours / only LIKE | "
                  "queries found empty FTS5 / LIKE |")
            print("|---|---:|---|---|---|")
            print("\n".join(hits_md))
        if con is not None:
            con.close()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
