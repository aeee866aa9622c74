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
