"""Unit tests of crm.search: a real Whoosh index in tmp_path, plain dicts in, plain data out."""

import os
from datetime import UTC, datetime

import pytest

from crm.search import SearchIndex, SearchResult

# Industries: 1 生物医药 (synonym 医药) > 2 中药材; 3 富硒食品 (synonym 硒产品); 4 新材料.
BIO, HERB, SELENIUM, MATERIALS = 1, 2, 3, 4


def make_doc(doc_id, name, **kw):
    doc = {
        "type": "lead", "id": doc_id, "version": f"v{doc_id}", "name": name, "company": None,
        "person_names": [], "titles": [], "industry_ids": [], "industry_text": [], "tags": [],
        "origin_region": None, "home_county": None, "notes": None, "interactions": [], "county_id": None,
        "kind": "enterprise", "status": "active", "is_key": False, "last_contacted_at": None, "sort_name": name,
    }
    doc.update(kw)
    return doc


DOCS = [
    make_doc(1, "恩施硒源富硒茶业有限公司", company="恩施硒源富硒茶业有限公司", person_names=["张世波"],
             titles=["总经理"], industry_ids=[SELENIUM], industry_text=["富硒食品", "硒产品"], tags=["茶"],
             county_id=10, is_key=True, sort_name="enshi", notes="计划扩建茶园",
             last_contacted_at=datetime(2025, 3, 1, tzinfo=UTC)),
    make_doc(2, "安康生物医药有限公司", company="安康生物医药有限公司", person_names=["李明"],
             industry_ids=[BIO], industry_text=["生物医药", "医药"], county_id=11, sort_name="ankang",
             last_contacted_at=datetime(2025, 5, 1, tzinfo=UTC)),
    make_doc(3, "平利中药材种植合作社", industry_ids=[HERB, BIO], industry_text=["中药材", "生物医药", "医药"],
             county_id=10, kind="chamber", status="cold", sort_name="pingli"),
    make_doc(4, "曾国华", kind="hometown_entrepreneur", person_names=["曾国华"], industry_ids=[MATERIALS],
             industry_text=["新材料"], county_id=12, sort_name="zengguohua",
             notes="在外乡贤，<script>alert(1)</script> 关注新材料", interactions=["春节走访曾国华，谈新材料项目"],
             last_contacted_at=datetime(2024, 1, 1, tzinfo=UTC)),
    make_doc(5, "紫阳县绿源协会", kind="chamber", industry_ids=[SELENIUM], industry_text=["富硒食品"],
             tags=["茶"], county_id=11, sort_name="ziyang"),
]


@pytest.fixture
def idx(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.upsert(DOCS)
    return index


def ids(result: SearchResult) -> list[int]:
    return [item["id"] for item in result.items]


@pytest.mark.parametrize(("query", "expected"), [
    ("硒源", [1]),  # jieba cuts 恩施|硒|源富: only the n-grams find it
    ("世波", [1]),  # the given name of a contact
    ("恩施硒源", [1]),
    ("zsb", [1]),
    ("zhangshibo", [1]),
    ("shibo", [1]),
    ("zhang*", [1]),
    ("张*", [1]),
    ("esxy", [1]),  # initials of 恩施硒源
    ("swyy", [2]),  # initials of 生物医药 inside 安康生物医药有限公司
    ("zengguohua", [4]),  # 曾 as a surname reads zeng
    ("zgh", [4]),
])
def test_names_companies_and_pinyin_find_the_lead(idx, query, expected):
    assert sorted(ids(idx.search(query))) == expected


def test_industry_search_includes_sub_industries_and_synonyms(idx):
    assert sorted(ids(idx.search("医药"))) == [2, 3]
    assert sorted(ids(idx.search("生物医药"))) == [2, 3]
    assert ids(idx.search("中药材")) == [3]


def test_words_may_match_different_fields(idx):
    # 富硒 from the industry, 茶 from a tag or the name.
    assert sorted(ids(idx.search("富硒茶"))) == [1, 5]
    assert ids(idx.search("富硒 总经理")) == [1]


def test_county_names_are_words_in_running_text(tmp_path):
    """jieba alone cuts 汉滨见张伟 as 汉滨见|张伟; the deployment's county names are added to its dictionary."""
    index = SearchIndex(tmp_path / "index")
    index.upsert([make_doc(1, "西安秦川康养公司", interactions=["汉滨见张伟，谈康养项目"]),
                  make_doc(2, "岚皋县民宿公司", notes="镇坪考察后回岚皋")])
    assert ids(index.search("康养 汉滨")) == [1]
    assert ids(index.search("镇坪")) == [2]


def test_words_are_anded_by_default_and_or_widens(idx):
    assert ids(idx.search("医药 平利")) == [3]
    assert sorted(ids(idx.search("新材料 OR 中药材"))) == [3, 4]
    assert ids(idx.search("新材料 中药材")) == []


def test_phrase_requires_adjacent_words(idx):
    assert ids(idx.search('"走访曾国华"')) == [4]
    assert ids(idx.search('"新材料 走访"')) == []


def test_minus_excludes(idx):
    assert ids(idx.search("医药 -中药材")) == [2]
    assert ids(idx.search("医药 NOT 平利")) == [2]


def test_filters_narrow_and_industry_filter_includes_children(idx):
    assert sorted(ids(idx.search("", filters={"industry_id": BIO}))) == [2, 3]
    assert ids(idx.search("医药", filters={"county_id": 10})) == [3]
    assert ids(idx.search("", filters={"kind": "chamber", "county_id": 11})) == [5]
    assert ids(idx.search("", filters={"is_key": True})) == [1]
    assert ids(idx.search("", filters={"status": "cold"})) == [3]
    assert ids(idx.search("", filters={"type": "project"})) == []
    assert ids(idx.search("", filters={"county_id": "not-a-number"})) == []


def test_facets_count_the_whole_result_and_industry_is_hierarchical(idx):
    result = idx.search("", filters={"county_id": 10}, per_page=1)
    assert result.total == 2 and len(result.items) == 1
    assert {f["id"]: f["count"] for f in result.facets["industry"]} == {SELENIUM: 1, HERB: 1, BIO: 1}
    assert result.facets["county"] == [{"id": 10, "count": 2}]
    assert {f["value"]: f["count"] for f in result.facets["kind"]} == {"enterprise": 1, "chamber": 1}
    assert {f["value"]: f["count"] for f in result.facets["status"]} == {"active": 1, "cold": 1}
    medicine = idx.search("医药")
    assert {f["id"]: f["count"] for f in medicine.facets["industry"]} == {BIO: 2, HERB: 1}


def test_sorts(idx):
    everyone = {"county_id": None, "kind": None}
    assert ids(idx.search("", filters={**everyone, "status": "active"}, sort="name")) == [2, 1, 4, 5]
    by_contact = ids(idx.search("", filters={"type": "lead"}, sort="last_contact"))
    assert by_contact[:3] == [2, 1, 4] and sorted(by_contact[3:]) == [3, 5]  # never contacted last
    ranked = idx.search("医药")
    assert ranked.items[0]["score"] >= ranked.items[1]["score"]


def test_paging(idx):
    first = idx.search("", filters={"type": "lead"}, sort="name", per_page=2, page=1)
    second = idx.search("", filters={"type": "lead"}, sort="name", per_page=2, page=2)
    assert first.total == second.total == 5
    assert ids(first) == [2, 1] and ids(second) == [3, 4]


@pytest.mark.parametrize("query", ["county:10", "kind:chamber", "amount:[1 TO]", "status:cold", "id:3", "uid:lead:3"])
def test_field_syntax_in_the_box_queries_no_field(idx, query):
    assert idx.search(query).total == 0


@pytest.mark.parametrize("query", ["*", "**", " * ", "-*", "", "   ", "AND OR NOT", "OR", "-", '"', '""'])
def test_nothing_to_search_lists_nothing(idx, query):
    assert idx.search(query).total == 0


HOSTILE = [
    '"unbalanced', 'a"b"c"', "AND", "NOT NOT", "(医药", "医药)", "[医药]", "{医药}", "医药^2", "医药~", "a:b:c",
    "\\", "\\\\*", "/regex/", "医药" * 5000, "x" * 10_000, "😀😀 医药", "ｃｏｕｎｔｙ：１０", "医药，。！？",
    "\x00医药\x00", "\x01\x02\x1f", "\ud800", "医药\udfff", "*医药*", "?", "%", "' OR 1=1 --", "<script>",
    "-医药", "--", "OR OR 医药 OR", "张 * 李", "zhang**", "医药" + " OR 医药" * 200, "\u200b", "\ufeff医药",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_strings_never_raise(idx, query):
    result = idx.search(query, filters={"county_id": 10}, sort="last_contact")
    assert isinstance(result, SearchResult) and result.total >= 0
    assert isinstance(idx.search(query), SearchResult)


def test_fullwidth_and_emoji_still_find(idx):
    assert sorted(ids(idx.search("😀 医药"))) == [2, 3]
    assert ids(idx.search("ＺＳＢ")) == [1]


def test_highlights_escape_stored_text_and_add_only_marks(idx):
    item = idx.search("script").items[0]
    assert item["id"] == 4
    assert "&lt;<mark>script</mark>&gt;" in item["highlights"]["notes"]
    assert "<script>" not in str(item["highlights"])
    hit = idx.search("硒源").items[0]["highlights"]
    assert hit["name"] == "恩施<mark>硒源</mark>富硒茶业有限公司"
    assert "<mark>新材料</mark>" in idx.search("新材料").items[0]["highlights"]["interactions"]


def test_a_lead_named_like_markup_comes_back_escaped(tmp_path):
    index = SearchIndex(tmp_path / "ix")
    index.upsert([make_doc(9, "<script>alert(1)</script>", sort_name="x")])
    item = index.search("alert").items[0]
    assert item["name"] == "<script>alert(1)</script>"  # the name itself is data; templates escape it
    assert item["highlights"]["name"] == "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;"


def test_upsert_twice_in_one_batch_indexes_one_document_last_wins(idx):
    idx.upsert([make_doc(6, "旧名称公司", version="a"), make_doc(6, "新名称公司", version="b")])
    assert idx.doc_count() == len(DOCS) + 1
    assert ids(idx.search("旧名称")) == []
    assert ids(idx.search("新名称")) == [6]
    assert idx.stored_versions()[("lead", 6)] == "b"


def test_upsert_replaces_an_existing_document(idx):
    idx.upsert([make_doc(2, "安康生物科技", version="v2b")])
    assert idx.doc_count() == len(DOCS)
    assert ids(idx.search("科技")) == [2]
    assert ids(idx.search("swyy")) == []


def test_delete(idx):
    idx.delete("lead", [1, 99])
    assert ids(idx.search("硒源")) == []
    assert idx.doc_count() == len(DOCS) - 1
    assert ("lead", 1) not in idx.stored_versions()


def test_projects_and_leads_with_the_same_id_are_distinct(idx):
    idx.upsert([make_doc(1, "富硒产业园项目", type="project", kind=None, status="negotiating")])
    assert idx.doc_count() == len(DOCS) + 1
    assert [(i["type"], i["id"]) for i in idx.search("产业园").items] == [("project", 1)]
    idx.delete("project", [1])
    assert ids(idx.search("硒源")) == [1]


def test_rebuild_replaces_everything(idx):
    idx.rebuild(iter([make_doc(7, "汉阴魔芋食品厂"), make_doc(8, "岚皋县旅游公司"), make_doc(7, "汉阴魔芋集团")]))
    assert idx.doc_count() == 2
    assert ids(idx.search("硒源")) == []
    assert ids(idx.search("魔芋")) == [7]
    assert idx.search("魔芋").items[0]["name"] == "汉阴魔芋集团"


def test_stored_versions_and_reopen(idx, tmp_path):
    assert idx.stored_versions() == {("lead", d["id"]): d["version"] for d in DOCS}
    reopened = SearchIndex(tmp_path / "index")
    assert reopened.doc_count() == len(DOCS)
    assert ids(reopened.search("世波")) == [1]


def test_optimize_keeps_documents(idx):
    idx.upsert([make_doc(6, "旬阳县拐枣酒业")])
    idx.optimize()
    assert idx.doc_count() == len(DOCS) + 1
    assert ids(idx.search("拐枣")) == [6]


def test_a_second_writer_waits_then_reports_busy(tmp_path):
    from whoosh import index as windex

    from crm.search import IndexBusy

    index = SearchIndex(tmp_path / "ix", lock_timeout=0.2)
    holder = windex.open_dir(str(tmp_path / "ix")).writer()
    try:
        with pytest.raises(IndexBusy):
            index.upsert([make_doc(1, "恩施硒源")])
    finally:
        holder.cancel()
    index.upsert([make_doc(1, "恩施硒源")])
    assert index.doc_count() == 1


def test_a_replaced_document_matches_once_on_a_reused_searcher(idx):
    assert ids(idx.search("硒源")) == [1]  # this thread's searcher is now open and cached
    idx.upsert([make_doc(1, "恩施硒源茶业", version="v1b")])
    assert ids(idx.search("硒源")) == [1]
    idx.delete("lead", [1])
    assert ids(idx.search("硒源")) == []


def test_facets_include_the_key_flag(idx):
    result = idx.search("", filters={"county_id": 10})
    assert {f["value"]: f["count"] for f in result.facets["is_key"]} == {True: 1, False: 1}


def test_a_single_character_finds_industries_and_tags_that_contain_it(idx):
    assert sorted(ids(idx.search("茶"))) == [1, 5]  # tag 茶; and 1's name 恩施硒源富硒茶业
    assert sorted(ids(idx.search("药"))) == [2, 3]  # 生物医药 / 中药材


def test_concurrent_upserts_deletes_and_searches_keep_one_document_per_id(tmp_path):
    """Threads write overlapping batches (each id several times, some twice in one batch) and delete, while
    others search: each writer waits for the lock (no IndexBusy), and every id ends with exactly one document."""
    import threading
    import traceback

    index = SearchIndex(tmp_path / "ix")
    index.upsert([make_doc(i, f"并发公司{i}号") for i in range(1, 41)])
    errors: list[str] = []
    done = threading.Event()

    def write(w: int) -> None:
        try:
            for r in range(5):
                batch = [make_doc(i, f"并发公司{i}号第{r}版", version=f"{w}-{r}") for i in range(1, 41) if i % 4 == w]
                index.upsert(batch + batch[:2])  # the same id twice in one writer
                if r == 4:
                    index.delete("lead", [i for i in range(1, 41) if i % 4 == w and i % 8 == w])
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    def read() -> None:
        try:
            while not done.is_set():
                result = index.search("并发公司", per_page=100)
                got = [item["id"] for item in result.items]
                assert len(got) == len(set(got)) == result.total
                assert {f["id"]: f["count"] for f in result.facets["county"]} == {}
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors
    live = sorted(i for i in range(1, 41) if i % 8 != i % 4)
    assert index.doc_count() == len(live)
    assert sorted(ids(index.search("并发公司", per_page=100))) == live
    assert sorted(i for _t, i in index.stored_versions()) == live
    assert all(v.endswith("-4") for v in index.stored_versions().values())


def test_facets_sorts_and_counts_stay_exact_across_segments_and_replacements(idx):
    """Leaf and facet bitsets are cached per segment and masked with the live documents of each generation:
    a document replaced in an older segment is counted once, with its new values."""
    assert idx.search("", filters={"county_id": 10}).total == 2
    idx.upsert([make_doc(6, "汉阴富硒茶厂", county_id=10, industry_ids=[SELENIUM], industry_text=["富硒食品"])])
    idx.upsert([make_doc(1, "恩施硒源富硒茶业有限公司", county_id=11, industry_ids=[SELENIUM],
                         industry_text=["富硒食品"], version="v1b", sort_name="enshi")])  # moved to county 11
    result = idx.search("富硒", per_page=100)
    assert sorted(ids(result)) == [1, 5, 6] and result.total == 3
    assert {f["id"]: f["count"] for f in result.facets["county"]} == {10: 1, 11: 2}
    assert {f["id"]: f["count"] for f in result.facets["industry"]} == {SELENIUM: 3}
    assert ids(idx.search("", filters={"county_id": 10}, sort="name")) == [3, 6]  # pingli < 汉阴…
    idx.delete("lead", [6])
    assert idx.search("富硒").total == 2
    assert idx.search("", filters={"county_id": 10}).total == 1


@pytest.mark.parametrize("procs", [1, 2])
def test_rebuild_in_batches_and_processes_replaces_everything_at_once(idx, monkeypatch, procs):
    from crm.search import index as index_module

    monkeypatch.setattr(index_module, "REBUILD_BATCH", 2)  # several staged segments
    searched_before = ids(idx.search("硒源"))
    docs = [make_doc(10 + i, f"汉阴魔芋{i}号厂", county_id=10 + i % 2) for i in range(5)]
    count = idx.rebuild(iter(docs + [make_doc(10, "汉阴魔芋集团")]), procs=procs)
    assert searched_before == [1]
    assert count == 5 and idx.doc_count() == 5
    assert ids(idx.search("硒源")) == []
    assert sorted(ids(idx.search("魔芋", per_page=100))) == [10, 11, 12, 13, 14]
    assert idx.search("汉阴魔芋集团").items[0]["id"] == 10  # a repeated id: the last one wins
    assert {f["id"]: f["count"] for f in idx.search("魔芋").facets["county"]} == {10: 2, 11: 2}  # 10 replaced
    assert not [n for n in os.listdir(os.path.dirname(idx.path)) if n.startswith(".staging-")]


def test_staging_directories_left_by_a_killed_write_are_removed_on_open(tmp_path):
    old, fresh = tmp_path / ".staging-old", tmp_path / ".staging-fresh"
    for d in (old, fresh):
        (d / "segment").mkdir(parents=True)
    long_ago = os.path.getmtime(fresh) - 7 * 3600
    os.utime(old, (long_ago, long_ago))
    SearchIndex(tmp_path / "index")
    assert not old.exists()
    assert fresh.exists()  # may belong to a rebuild or import running now
