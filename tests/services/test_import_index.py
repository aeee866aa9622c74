"""IndexFeed's tail: an odd number of batches still waiting for a worker at the end has its last one split in two."""

import threading
from concurrent.futures import ThreadPoolExecutor

from crm.services import import_index


def test_last_waiting_batch_is_split_when_the_count_is_odd(monkeypatch):
    started, release = threading.Event(), threading.Event()
    calls = []

    def fake_add_new_at(path, docs):
        calls.append([d["id"] for d in docs])
        if len(calls) == 1:
            started.set()
            release.wait(5)
        return len(docs)

    monkeypatch.setattr(import_index, "add_new_at", fake_add_new_at)
    feed = import_index.IndexFeed(1)
    feed.pool, feed.path = ThreadPoolExecutor(max_workers=1), "unused"
    try:
        feed._submit([{"id": i} for i in range(3)])
        assert started.wait(5)
        feed._submit([{"id": i} for i in range(3, 5)])
        feed._submit([{"id": i} for i in range(5, 11)])  # three not done: the last one is split
        feed._balance_tail()
        release.set()
        for future in feed.futures:
            future.result()
    finally:
        release.set()
        feed.pool.shutdown(wait=True)
    assert calls == [[0, 1, 2], [3, 4], [5, 6, 7], [8, 9, 10]]
    assert feed.queued == {}


def test_an_even_number_of_waiting_batches_is_left_alone(monkeypatch):
    release = threading.Event()
    calls = []

    def fake_add_new_at(path, docs):
        calls.append(len(docs))
        release.wait(5)
        return len(docs)

    monkeypatch.setattr(import_index, "add_new_at", fake_add_new_at)
    feed = import_index.IndexFeed(1)
    feed.pool, feed.path = ThreadPoolExecutor(max_workers=1), "unused"
    try:
        feed._submit([{"id": 1}, {"id": 2}])
        feed._submit([{"id": 3}, {"id": 4}])
        feed._balance_tail()
        release.set()
        for future in feed.futures:
            future.result()
    finally:
        release.set()
        feed.pool.shutdown(wait=True)
    assert calls == [2, 2]


def test_documents_built_from_the_inserted_values_equal_those_read_back(app, make_user, monkeypatch):
    """IndexFeed builds new leads' documents from the values it inserted; they must be what lead_document makes of
    the rows read back (else reconcile would see every imported lead as stale, or search would show other text)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from crm.extensions import db
    from crm.models import Lead
    from crm.services import imports, indexing
    from tests.services.test_imports import GOOD_USCC, NOW, csv_bytes, user

    built = []
    real = import_index.IndexFeed._documents

    def recording(self, rows, contacts, tags):
        docs = real(self, rows, contacts, tags)
        built.extend(docs)
        return docs

    monkeypatch.setattr(import_index.IndexFeed, "_documents", recording)
    city = make_user("city_staff", None)
    data = csv_bytes("张乡贤,乡贤,有意向,乡贤推荐,光伏,紫阳县,是,,,,,北京,安康紫阳",
                     "某顾问,顾问,签约,叩门,茶叶,汉滨区,否,,,,茶;重点,,",
                     f"安康富硒茶业有限公司,企业,,,富硒茶,平利县,否,{GOOD_USCC},刘一,董事长,外资;茶,深圳,",
                     "无行业无县区,,,,,,,,,,,,",
                     header="客商名称,类型,状态,来源,行业,所属县区,重点客商,统一社会信用代码,联系人,职务,标签,所在地,籍贯\n")
    with app.app_context():
        batch = imports.start_import(user(city.id), "leads.csv", data, now=NOW)
        imports.launch_import(user(city.id), batch.id, now=NOW)
        assert len(built) == 4 and sum(len(d["tags"]) for d in built) == 4 and any(d["titles"] for d in built)
        assert any(d["home_county"] for d in built) and any(d["origin_region"] for d in built)
        leads = {lead.id: lead for lead in db.session.scalars(select(Lead).options(
            selectinload(Lead.contacts), selectinload(Lead.tag_rows)))}
        ref = indexing.Reference()
        for doc in built:
            assert doc == indexing.lead_document(leads[doc["id"]], ref, [], None)
        assert indexing.drift() == {"missing": [], "stale": [], "extra": []}
