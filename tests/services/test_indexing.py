"""The search index kept true to the database: documents, change hooks, drift, reconcile, reindex, search_leads."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, Industry, Interaction, Lead, LeadTag, Project, Role, SearchOutboxEntry, User
from crm.search import IndexBusy
from crm.services import indexing, search_outbox
from crm.services.counties import county_by_code
from crm.services.permissions import can

COVERED_ACTIONS = {"search.run"}
NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


def industry_id(code: str) -> int:
    return db.session.scalar(select(Industry.id).where(Industry.code == code))


def add_lead(name: str, *, county: str = "610902", industry: str | None = None, tags=(), contacts=(),
             notify: bool = True, **extra) -> int:
    """A lead written straight to the database (inside an app context); notify = tell the index as services do."""
    lead = Lead(name=name, owner_county_id=county_by_code(county).id,
                industry_id=industry_id(industry) if industry else None, created_at=NOW, updated_at=NOW, **extra)
    lead.tag_rows = [LeadTag(tag=t) for t in tags]
    lead.contacts = [Contact(**c) for c in contacts]
    db.session.add(lead)
    db.session.commit()
    if notify:
        indexing.leads_changed([lead.id])
    return lead.id


def found(actor, q, **filters) -> list[int]:
    return [i["id"] for i in indexing.search_leads(actor, q, filters)["items"] if i["type"] == "lead"]


@pytest.fixture
def actor(app, make_user):
    ref = make_user("county_staff", "610924")

    def get():
        return db.session.get(User, ref.id)

    return get


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_search_run_is_allowed_to_every_active_role_only(role):
    """Every active role but a department contact, who reaches only its department's problems (issue 15)."""
    active = User(id=1, username="u", display_name="u", role=role, county_id=1, is_active_user=True, password_hash="!")
    inactive = User(id=2, username="v", display_name="v", role=role, county_id=1, is_active_user=False,
                    password_hash="!")
    assert can(active, "search.run") is (role != "department")
    assert can(inactive, "search.run") is False


def test_lead_document_has_industry_ancestors_and_synonyms_and_no_contact_details(app):
    with app.app_context():
        lead_id = add_lead("紫阳县绿源茶业", industry="selenium_tea", tags=["乡贤"], notes="计划扩建茶园",
                           home_county_id=county_by_code("610924").id,
                           contacts=[{"name": "张世波", "title": "总经理", "mobile": "13800138000",
                                      "phone": "0915-3212345", "email": "zsb@example.cn", "wechat": "wx_zsb88"}])
        doc = indexing.lead_document(db.session.get(Lead, lead_id))
        assert {"富硒茶", "富硒食品", "茶叶", "食品"} <= set(doc["industry_text"])
        assert doc["industry_ids"] == [industry_id("selenium_tea"), industry_id("selenium_food")]
        assert doc["person_names"] == ["张世波"] and doc["titles"] == ["总经理"]
        assert doc["home_county"] == "紫阳县" and doc["tags"] == ["乡贤"]
        text = repr(doc)
        for secret in ("13800138000", "3212345", "zsb@example.cn", "wx_zsb88"):
            assert secret not in text


def test_another_countys_contact_details_cannot_be_searched(app, actor):
    with app.app_context():
        add_lead("岚皋魔芋公司", contacts=[{"name": "李强", "mobile": "13912345678", "wechat": "konjac_li"}])
        assert found(actor(), "13912345678") == []
        assert found(actor(), "konjac_li") == []
        assert len(found(actor(), "李强")) == 1


def test_a_person_leads_own_name_is_found_by_its_surname_reading(app, actor):
    """Issue 14 item 11: a 乡贤 or 顾问 without a contact of the same name was found by danzhenhua only."""
    with app.app_context():
        shan = add_lead("单振华", kind="hometown_entrepreneur")
        zeng = add_lead("曾德厚", kind="adviser")
        yuchi = add_lead("尉迟青山", kind="adviser")
        canteen = add_lead("单位食堂服务公司", kind="enterprise")
        assert found(actor(), "shanzhenhua") == [shan]
        assert found(actor(), "szh") == [shan]
        assert found(actor(), "zengdehou") == [zeng]
        assert found(actor(), "zengdh") == [zeng]
        assert found(actor(), "yuchiqingshan") == [yuchi]
        # A company name keeps the everyday reading of 单.
        assert canteen in found(actor(), "danwei")
        assert found(actor(), "shanweishitang") == []


def test_industry_search_finds_sub_industries_and_synonyms(app, actor):
    with app.app_context():
        bio = add_lead("安康生物科技", industry="bio_pharma")
        herbs = add_lead("平利绞股蓝合作社", industry="tcm_herbs")
        add_lead("汉阴建材厂", industry="new_materials")
        tea = add_lead("紫阳县绿源公司", industry="selenium_food", tags=["茶"])
        add_lead("旬阳富硒粮油", industry="selenium_grain")
        assert sorted(found(actor(), "医药")) == sorted([bio, herbs])
        assert sorted(found(actor(), "生物医药")) == sorted([bio, herbs])
        assert found(actor(), "富硒茶") == [tea]
        assert found(actor(), "", industry_id=industry_id("bio_pharma")) in ([bio, herbs], [herbs, bio])


def test_pinyin_initials_of_a_contact_find_the_lead(app, actor):
    with app.app_context():
        lead_id = add_lead("恩施硒源富硒茶业有限公司", contacts=[{"name": "张世波", "title": "董事长"}])
        add_lead("白河县木瓜公司", contacts=[{"name": "王芳"}])
        for q in ("zsb", "zhangshibo", "世波", "硒源"):
            assert found(actor(), q) == [lead_id], q


def test_facets_have_names_and_counts(app, actor):
    with app.app_context():
        add_lead("安康药业一厂", industry="bio_pharma", county="610902", is_key=True)
        add_lead("安康药业二厂", industry="tcm_herbs", county="610924", kind="chamber")
        result = indexing.search_leads(actor(), "药业")
        assert result["total"] == 2
        facets = result["facets"]
        by_name = {f["name"]: f["count"] for f in facets["industry"]}
        assert by_name == {"生物医药": 2, "中药材": 1}
        assert facets["industry"][0]["name"] == "生物医药"  # parents before their children
        assert {f["name"]: f["count"] for f in facets["county"]} == {"汉滨区": 1, "紫阳县": 1}
        assert {f["id"]: f["count"] for f in facets["kind"]} == {"enterprise": 1, "chamber": 1}
        assert {f["id"]: f["count"] for f in facets["is_key"]} == {True: 1, False: 1}


def test_leads_changed_after_update_delete_and_merge(app, actor):
    with app.app_context():
        a = add_lead("镇坪腊肉食品公司")
        b = add_lead("镇坪县腊肉合作社")
        lead = db.session.get(Lead, a)
        lead.name = "镇坪黄连药业公司"
        db.session.commit()
        indexing.leads_changed([a])
        assert found(actor(), "黄连") == [a]
        assert found(actor(), "腊肉") == [b]
        lead = db.session.get(Lead, b)
        lead.deleted_at = NOW
        db.session.commit()
        indexing.leads_changed([b])
        assert found(actor(), "腊肉") == []
        c = add_lead("镇坪县黄连种植户")
        db.session.get(Lead, c).merged_into_id = a
        db.session.commit()
        indexing.leads_changed([c, a])
        assert found(actor(), "黄连") == [a]


def test_logged_interaction_summaries_are_searchable(app, actor):
    with app.app_context():
        lead_id = add_lead("石泉县蚕桑公司")
        before = indexing.search_index().stored_versions()[("lead", lead_id)]
        db.session.add(Interaction(lead_id=lead_id, kind="visit", occurred_at=NOW, summary="洽谈丝绸深加工项目"))
        db.session.commit()
        indexing.leads_changed([lead_id])
        assert found(actor(), "丝绸深加工") == [lead_id]
        assert indexing.search_index().stored_versions()[("lead", lead_id)] != before


def test_an_index_failure_after_the_commit_is_logged_not_raised(app, monkeypatch, caplog):
    def busy():
        raise IndexBusy("locked")

    with app.app_context():
        monkeypatch.setattr(indexing, "search_index", busy)
        lead_id = add_lead("汉阴县魔芋公司")  # leads_changed runs inside and must not raise
        assert db.session.get(Lead, lead_id) is not None
        assert "reconcile will repair it" in caplog.text


def test_a_deleted_lead_still_in_the_index_is_not_shown(app, actor):
    with app.app_context():
        lead_id = add_lead("宁陕县板栗公司")
        db.session.get(Lead, lead_id).deleted_at = NOW
        db.session.commit()  # no leads_changed: the index lags behind
        assert found(actor(), "板栗") == []


def make_drift() -> dict[str, int]:
    """Three leads indexed, then changes behind the index's back: add, delete, edit; plus a stray document."""
    kept = add_lead("白河县木瓜酒业")
    gone = add_lead("白河县茶叶公司")
    edited = add_lead("白河县旧名称公司")
    sneaked = add_lead("白河县新增公司", notify=False)
    db.session.get(Lead, gone).deleted_at = NOW
    db.session.get(Lead, edited).name = "白河县硫铁矿公司"
    db.session.commit()
    indexing.search_index().upsert([{**indexing.lead_document(db.session.get(Lead, kept)), "type": "project",
                                     "id": 999}])
    return {"kept": kept, "gone": gone, "edited": edited, "sneaked": sneaked}


def test_reconcile_makes_the_index_equal_the_database(app, actor):
    with app.app_context():
        ids = make_drift()
        found_drift = indexing.drift()
        assert found_drift == {"missing": [("lead", ids["sneaked"])], "stale": [("lead", ids["edited"])],
                               "extra": sorted([("lead", ids["gone"]), ("project", 999)])}
        assert indexing.reconcile(NOW) == {"missing": 1, "stale": 1, "extra": 2, "outbox": 1}  # the deleted lead's
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}
        assert indexing.search_index().stored_versions() == indexing.database_versions()
        assert found(actor(), "硫铁矿") == [ids["edited"]]
        assert found(actor(), "新增") == [ids["sneaked"]]
        assert found(actor(), "旧名称") == []


def test_an_edited_industry_synonym_shows_as_stale(app):
    with app.app_context():
        lead_id = add_lead("汉滨区物流园", industry="cold_chain")
        db.session.get(Industry, industry_id("cold_chain")).synonyms = ["冷链", "冷库", "冻品"]
        db.session.commit()
        assert indexing.drift()["stale"] == [("lead", lead_id)]
        indexing.reconcile(NOW)
        assert indexing.drift()["stale"] == []


def test_projects_are_indexed_with_their_stage(app, actor):
    with app.app_context():
        lead_id = add_lead("陕西秦巴硒业集团")
        project = Project(name="富硒产业园二期", county_id=county_by_code("610924").id, stage="negotiating",
                          industry_id=industry_id("selenium_food"), created_at=NOW, updated_at=NOW)
        project.leads = [db.session.get(Lead, lead_id)]
        db.session.add(project)
        db.session.commit()
        indexing.projects_changed([project.id])
        result = indexing.search_leads(actor(), "产业园")
        assert [(i["type"], i["id"], i["status"]) for i in result["items"]] == [
            ("project", project.id, "negotiating")]
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}


def test_reindex_check_exits_1_on_drift_and_0_after_reindex(app, runner):
    with app.app_context():
        ids = make_drift()
    result = runner.invoke(args=["crm", "reindex", "--check"])
    assert result.exit_code == 1
    assert "missing: 1" in result.output and "stale: 1" in result.output and "extra: 2" in result.output
    result = runner.invoke(args=["crm", "reindex"])
    assert result.exit_code == 0 and "indexed 3 documents" in result.output
    result = runner.invoke(args=["crm", "reindex", "--check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert ("lead", ids["gone"]) not in indexing.search_index().stored_versions()


def test_a_corrupt_index_is_recreated_and_refilled_by_reconcile(app, actor):
    import os

    with app.app_context():
        lead_id = add_lead("岚皋县民宿公司")
        path = indexing.search_index().path
        indexing._indexes.clear()
        for name in os.listdir(path):
            if name.endswith(".toc"):
                with open(os.path.join(path, name), "wb") as fh:
                    fh.write(b"garbage")
        assert indexing.search_index().doc_count() == 0
        indexing.reconcile(NOW + timedelta(minutes=10))
        assert found(actor(), "民宿") == [lead_id]


def test_create_lead_through_the_leads_service_is_searchable_at_once(app, make_user):
    leads = pytest.importorskip("crm.services.leads")
    ref = make_user("county_staff", "610902")
    with app.app_context():
        user = db.session.get(User, ref.id)
        lead = leads.create_lead(user, {"name": "汉滨区富硒魔芋食品有限公司", "kind": "enterprise",
                                        "industry_id": industry_id("selenium_food")}, now=NOW)
        assert found(user, "魔芋食品") == [lead.id]
        leads.delete_lead(user, lead.id, now=NOW)
        assert found(user, "魔芋食品") == []


def test_two_updates_of_one_lead_reach_the_index_in_commit_order(app, monkeypatch):
    """A's hook read the lead before B's commit; B's hook must not be overtaken by A's older document
    (found by bench/load.py under gunicorn: documents left stale until the next reconcile)."""
    import threading

    from crm.search import SearchIndex

    with app.app_context():
        lead_id = add_lead("旬阳县拐枣饮品公司")
    a_read, b_done = threading.Event(), threading.Event()
    real_upsert = SearchIndex.upsert

    def upsert(self, docs):
        if threading.current_thread().name == "hook-a":
            a_read.set()  # A has read the database and is about to write what it read
            b_done.wait(timeout=3)  # without ordering B finishes meanwhile; with it B waits for A (timeout)
        real_upsert(self, docs)

    monkeypatch.setattr(SearchIndex, "upsert", upsert)
    errors = []

    def hook_a():
        try:
            with app.app_context():
                indexing.leads_changed([lead_id])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def hook_b():
        try:
            a_read.wait(timeout=10)
            with app.app_context():
                db.session.add(Interaction(lead_id=lead_id, kind="visit", occurred_at=NOW, summary="洽谈拐枣深加工"))
                db.session.commit()
                indexing.leads_changed([lead_id])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            b_done.set()

    threads = [threading.Thread(target=hook_a, name="hook-a"), threading.Thread(target=hook_b, name="hook-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    with app.app_context():
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}


def test_a_hook_waiting_for_its_turn_holds_no_database_lock(app, monkeypatch):
    """On SQLite every read is BEGIN IMMEDIATE: a hook that waited for the ordering lock inside its read would
    block the holder's own read ("database is locked" after the busy timeout; seen by bench/load.py)."""
    import threading

    with app.app_context():
        lead_id = add_lead("平利县绞股蓝茶厂")
    waiting = threading.Event()
    real_lock = indexing._order_lock

    class Watched:
        def acquire(self, timeout=-1):
            waiting.set()
            return real_lock.acquire(timeout=timeout)

        def release(self):
            real_lock.release()

    errors = []

    def hook():
        try:
            with app.app_context():
                lead = db.session.get(Lead, lead_id)  # a read in progress, as after a service's commit
                indexing.leads_changed([lead.id])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    with app.app_context():
        with indexing._in_order():
            monkeypatch.setattr(indexing, "_order_lock", Watched())
            thread = threading.Thread(target=hook)
            thread.start()
            assert waiting.wait(timeout=10)
            db.session.add(Interaction(lead_id=lead_id, kind="call", occurred_at=NOW, summary="电话沟通"))
            db.session.commit()  # would wait for the hook's read until the busy timeout
        thread.join(timeout=30)
        assert not errors
        assert indexing.drift()["stale"] == []


def test_concurrent_writes_and_searches_leave_the_index_equal_to_the_database(app, actor, caplog):
    """Writers commit renames, new visits and deletions of their own leads and update the index while readers
    search; afterwards: no errors, no drift, and one document per live lead (two update_document calls for one id
    inside one writer would leave two)."""
    import logging
    import threading
    import time
    import traceback

    caplog.set_level(logging.ERROR)
    writers, per_writer, rounds = 3, 6, 3
    with app.app_context():
        owned = [[add_lead(f"旬阳县并发测试{w}号{i}公司") for i in range(per_writer)] for w in range(writers)]
        staff = actor()
        user_id = staff.id
    errors: list[str] = []
    writers_done = threading.Event()
    searched = [0]

    def write(w: int) -> None:
        try:
            with app.app_context():
                for r in range(rounds):
                    for n, lead_id in enumerate(owned[w]):
                        lead = db.session.get(Lead, lead_id)
                        if lead.deleted_at is not None:
                            continue
                        if r == rounds - 1 and n % 3 == 0:
                            lead.deleted_at = NOW  # a third of the leads deleted in the last round
                        else:
                            lead.name = f"旬阳县并发测试{w}号{n}公司第{r}版"
                            lead.updated_at = NOW + timedelta(seconds=r)
                            db.session.add(Interaction(lead_id=lead_id, kind="call", occurred_at=NOW,
                                                       summary=f"第{r}轮电话沟通"))
                        db.session.commit()
                        # The same lead twice in one update, as a service touching it twice would ask.
                        indexing.leads_changed([lead_id, lead_id])
                db.session.remove()
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    def read() -> None:
        try:
            with app.app_context():
                while not writers_done.is_set():
                    user = db.session.get(User, user_id)
                    result = indexing.search_leads(user, "并发测试")
                    assert len({i["id"] for i in result["items"]}) == len(result["items"])  # never a lead twice
                    indexing.search_leads(user, "电话沟通", {"county_id": county_by_code("610902").id})
                    searched[0] += 1
                    db.session.remove()
                    # A pause between searches, as staff make: SQLite's busy handler is not fair, and readers
                    # retaking the lock back to back could starve a writer past the busy timeout.
                    time.sleep(0.02)
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join(timeout=120)
    writers_done.set()
    for t in readers:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads + readers)
    assert not errors, errors
    assert "reconcile will repair it" not in caplog.text  # no index update failed (busy lock, ordering)
    assert searched[0] > 0
    with app.app_context():
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}
        expected = indexing.database_versions()
        assert indexing.search_index().doc_count() == len(expected)  # no duplicate documents
        live = [i for ids in owned for n, i in enumerate(ids) if n % 3]
        result = indexing.search_leads(actor(), "并发测试", per_page=100)
        assert sorted(i["id"] for i in result["items"]) == sorted(live)
        assert result["total"] == len(live)
        for w, ids in enumerate(owned):
            assert found(actor(), f'"并发测试{w}号1公司第{rounds - 1}版"')[:1] == [ids[1]]  # by its latest name


# ---- the outbox --------------------------------------------------------------------------------------------------

def outbox() -> list[tuple[str, int]]:
    return sorted({tuple(r) for r in db.session.execute(select(SearchOutboxEntry.doc_type, SearchOutboxEntry.doc_id))})


def test_a_rolled_back_change_writes_no_outbox_entry_and_never_reaches_the_index(app, actor):
    with app.app_context():
        lead_id = add_lead("石泉县蚕桑公司")
        assert outbox() == []  # leads_changed indexed it and cleared its entry
        db.session.get(Lead, lead_id).name = "石泉县丝绸公司"
        db.session.flush()
        assert outbox() == [("lead", lead_id)]  # written in the change's own transaction ...
        db.session.rollback()
        assert outbox() == []  # ... and gone with it
        assert indexing.drain() == 0
        assert found(actor(), "丝绸") == [] and found(actor(), "蚕桑") == [lead_id]


def test_a_commit_whose_index_update_never_ran_is_indexed_by_drain(app, actor):
    """A crash between the commit and the index write: the entry survives it, the next drain indexes it."""
    with app.app_context():
        lead_id = add_lead("平利县绞股蓝公司", notify=False)
        contact_lead = add_lead("平利县茶饮公司")
        db.session.add(Contact(lead_id=contact_lead, name="欧阳明", created_at=NOW, updated_at=NOW))
        db.session.commit()
        assert outbox() == [("lead", lead_id), ("lead", contact_lead)]
        assert found(actor(), "绞股蓝") == []
        assert indexing.drain() == 2
        assert found(actor(), "绞股蓝") == [lead_id] and found(actor(), "欧阳明") == [contact_lead]
        assert outbox() == [] and indexing.drift() == {"missing": [], "stale": [], "extra": []}


def test_a_failed_index_update_keeps_its_entry_for_the_next_drain(app, monkeypatch, actor):
    with app.app_context():
        real = indexing.search_index

        def busy():
            raise IndexBusy("locked")

        monkeypatch.setattr(indexing, "search_index", busy)
        lead_id = add_lead("岚皋县魔芋公司")  # the hook fails after the commit
        assert outbox() == [("lead", lead_id)]
        monkeypatch.setattr(indexing, "search_index", real)
        assert indexing.drain() == 1
        assert found(actor(), "魔芋") == [lead_id] and outbox() == []


def test_an_entry_written_after_the_documents_were_read_is_kept(app):
    """forget deletes only entries up to the high-water mark read before the documents."""
    with app.app_context():
        lead_id = add_lead("紫阳县富硒茶公司")
        upto = search_outbox.high_water()
        db.session.get(Lead, lead_id).notes = "新的备注"
        db.session.commit()  # a change committed after the (pretend) read
        search_outbox.forget("lead", [lead_id], upto)
        assert outbox() == [("lead", lead_id)]


def test_an_edited_industry_queues_its_leads_and_projects_and_drain_clears_the_drift(app):
    with app.app_context():
        lead_id = add_lead("汉滨区冷链物流园", industry="cold_chain")
        other = add_lead("汉滨区文具店")
        db.session.get(Industry, industry_id("cold_chain")).synonyms = ["冷链", "冷库", "冻品"]
        db.session.commit()
        assert ("lead", lead_id) in outbox() and ("lead", other) not in outbox()
        assert indexing.drift()["stale"] == [("lead", lead_id)]
        indexing.drain()
        assert indexing.drift()["stale"] == [] and outbox() == []


def test_a_renamed_lead_queues_its_projects(app, actor):
    with app.app_context():
        lead_id = add_lead("旬阳县拐枣酒业")
        project = Project(name="拐枣深加工项目", county_id=county_by_code("610902").id,
                          leads=[db.session.get(Lead, lead_id)])
        db.session.add(project)
        db.session.commit()
        indexing.drain()
        db.session.get(Lead, lead_id).name = "旬阳县拐枣集团"
        db.session.commit()
        assert outbox() == [("lead", lead_id), ("project", project.id)]
        indexing.drain()
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}


def test_a_rebuild_clears_the_entries_it_covers(app):
    with app.app_context():
        add_lead("宁陕县板栗公司", notify=False)
        assert len(outbox()) == 1
        indexing.rebuild()
        assert outbox() == []


# ---- answered from the database while the index is filled from nothing ------------------------------------------

def test_a_lost_index_is_answered_from_the_database_until_reconcile_has_rebuilt_it(app, make_user):
    import shutil

    from crm.services import leads

    ref = make_user("county_staff", "610902")
    with app.app_context():
        user = db.session.get(User, ref.id)
        tea = leads.create_lead(user, {"name": "汉滨区硒源富硒茶业有限公司", "kind": "enterprise", "is_key": True,
                                       "industry_id": industry_id("selenium_tea"),
                                       "contacts": [{"name": "张世波", "title": "董事长"}]}, now=NOW)
        herbs = leads.create_lead(user, {"name": "汉滨区绞股蓝药业", "kind": "enterprise",
                                         "industry_id": industry_id("tcm_herbs")}, now=NOW)
        gone = leads.create_lead(user, {"name": "汉滨区停业茶厂", "kind": "enterprise",
                                        "industry_id": industry_id("selenium_tea")}, now=NOW)
        leads.delete_lead(user, gone.id, now=NOW)
        path = indexing.search_index().path
        indexing._indexes.clear()
        shutil.rmtree(path)  # lost: the next open starts an empty index

        result = indexing.search_leads(user, "茶叶")
        assert result["from_database"] is True
        assert [i["id"] for i in result["items"]] == [tea.id]  # a synonym of the sub-industry; not the deleted one
        assert result["facets"]["industry"][0]["id"] == industry_id("selenium_food")  # counted with its parent
        assert found(user, "硒源") == [tea.id]
        assert found(user, "世波") == [tea.id]  # a contact's given name
        assert found(user, "富硒食品") == [tea.id]  # the parent industry finds its sub-industries
        assert found(user, "医药") == [herbs.id]
        assert sorted(found(user, "hbq")) == sorted([tea.id, herbs.id])  # initials of 汉滨区…
        assert found(user, "汉滨 -茶") == [herbs.id]
        assert found(user, "汉滨", is_key=False) == [herbs.id]
        assert found(user, "汉滨", is_key=True) == [tea.id]
        assert found(user, "<script>\"'") == []
        assert "<mark>" in indexing.search_leads(user, "硒源")["items"][0]["highlights"]["name"]

        indexing.reconcile(NOW)
        result = indexing.search_leads(user, "茶叶")
        assert result["from_database"] is False and [i["id"] for i in result["items"]] == [tea.id]


HOSTILE = ['"unbalanced', "AND OR NOT", "*", ":", "a" * 5000, "🐼熊猫", "％＿", "%_\\", "'; DROP TABLE leads; --",
           "NOT", "-", '""', "张*", "county_id:1", "（全角）：“引号”"]


@pytest.mark.parametrize("q", HOSTILE)
def test_the_database_answer_takes_any_string(app, actor, q):
    """Hostile strings through the database path: no error, and LIKE's % and _ never act as wildcards."""
    import shutil

    with app.app_context():
        other = add_lead("汉滨区普通公司")
        lead_id = add_lead("汉滨区百分号%公司")
        path = indexing.search_index().path
        indexing._indexes.clear()
        shutil.rmtree(path)
        result = indexing.search_leads(actor(), q, {"county_id": "x"} if q == "*" else {})
        assert result["from_database"] is True
        assert other not in [i["id"] for i in result["items"]]
        assert found(actor(), "百分号%") == [lead_id]


def test_reindex_recomputes_stale_stored_pinyin_keys_without_marking_an_edit(app, runner):
    """Leads stored before a surname reading was known keep danzhenhua until `flask crm reindex` recomputes them."""
    with app.app_context():
        person = add_lead("单振华", kind="hometown_entrepreneur", pinyin_full="danzhenhua", pinyin_initials="dzh")
        company = add_lead("单位食堂服务公司", kind="enterprise", pinyin_full="danweishitangfuwugongsi",
                           pinyin_initials="dwstfwgs")
        before = db.session.get(Lead, person).updated_at
    result = runner.invoke(args=["crm", "reindex"])
    assert result.exit_code == 0, result.output
    assert "pinyin keys recomputed for 1 leads" in result.output
    with app.app_context():
        lead = db.session.get(Lead, person)
        assert (lead.pinyin_full, lead.pinyin_initials) == ("shanzhenhua", "szh")
        assert lead.updated_at == before
        assert db.session.get(Lead, company).pinyin_initials == "dwstfwgs"


# ---- contact identifiers (issue 14 item 13) ------------------------------------------------------------

def _contact(name: str, **values) -> dict:
    from crm.services.identity import normalise_mobile

    return {"name": name, "mobile_key": normalise_mobile(values.get("mobile")), **values}


def _answer(actor, q, **filters) -> dict:
    result = indexing.search_leads(actor, q, filters)
    return {k: v for k, v in result.items() if k != "terms"}  # terms repeat the query typed


def test_own_countys_lead_is_found_by_a_contacts_mobile(app, actor):
    with app.app_context():
        lead_id = add_lead("紫阳魔芋公司", county="610924",
                           contacts=[_contact("李强", mobile="139 1234 5678")])
        assert found(actor(), "13912345678") == [lead_id]
        assert found(actor(), "+86 139-1234-5678") == [lead_id]
        result = indexing.search_leads(actor(), "13912345678")
        assert result["total"] == 1 and result["items"][0]["name"] == "紫阳魔芋公司"
        assert result["items"][0]["highlights"] == {}
        assert result["facets"]["county"] == [{"id": county_by_code("610924").id, "name": "紫阳县", "count": 1}]
        assert found(actor(), "13912345678", kind="adviser") == []


def test_another_countys_mobile_gives_the_same_answer_as_a_number_nobody_has(app, actor):
    with app.app_context():
        add_lead("汉滨魔芋公司", county="610902", contacts=[_contact("李强", mobile="13912345678",
                                                                     email="li@konjac.cn", wechat="konjac_li")])
        for q, nobody in (("13912345678", "13987654321"), ("li@konjac.cn", "nobody@konjac.cn"),
                          ("konjac_li", "konjac_nobody")):
            assert found(actor(), q) == []
            assert _answer(actor(), q) == _answer(actor(), nobody)


def test_another_countys_lead_is_found_by_mobile_after_a_reveal(app, actor):
    from crm.services.leads import reveal_contacts

    with app.app_context():
        lead_id = add_lead("汉滨魔芋公司", county="610902", contacts=[_contact("李强", mobile="13912345678")])
        other = add_lead("汉滨茶业公司", county="610902", contacts=[_contact("王芳", mobile="13700000001")])
        assert found(actor(), "13912345678") == []
        reveal_contacts(actor(), lead_id, now=NOW)
        assert found(actor(), "13912345678") == [lead_id]
        assert found(actor(), "13700000001") == []  # a reveal opens that lead only
        assert other


def test_city_staff_find_any_countys_lead_by_mobile(app, make_user):
    ref = make_user("city_staff", None)
    with app.app_context():
        lead_id = add_lead("汉滨魔芋公司", county="610902", contacts=[_contact("李强", mobile="13912345678")])
        assert found(db.session.get(User, ref.id), "13912345678") == [lead_id]


def test_own_countys_lead_is_found_by_email_wechat_id_and_landline(app, actor):
    with app.app_context():
        lead_id = add_lead("紫阳魔芋公司", county="610924", contacts=[_contact(
            "李强", email="Li.Qiang@Konjac.cn", wechat="Konjac_Li88", phone="0915-3212345")])
        add_lead("汉滨魔芋公司", county="610902", contacts=[_contact("王芳", phone="0915-3212345")])
        assert found(actor(), "li.qiang@konjac.cn") == [lead_id]
        assert found(actor(), "konjac_li88") == [lead_id]
        assert found(actor(), "09153212345") == [lead_id]
        assert found(actor(), "3212345") == [lead_id]
        assert found(actor(), "029-3212345") == []
        assert found(actor(), "konjac") == []  # an identifier is matched whole, never by a part
