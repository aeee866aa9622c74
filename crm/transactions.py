"""How transactions begin on SQLite: IMMEDIATE (the write lock at once) for whatever may write, deferred for reads.

DESIGN.md §12: deferred transactions that read and then write fail "database is locked" when another write came
in between (the upgrade to a writer is refused at once; the busy timeout does not apply), so every transaction
that may write begins IMMEDIATE. A read taking the write lock too made one slow read (an upload being parsed, the
search index being rebuilt) hold up every other user, so reads begin deferred: GET, HEAD and OPTIONS requests,
and the scopes marked `reading()`. A write inside a read scope goes through `writing()`, which ends the read
first. Nothing here changes how PostgreSQL begins."""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_mode: ContextVar[str | None] = ContextVar("crm_transaction_mode", default=None)


class WriteInReadTransaction(RuntimeWarning):
    """A statement wrote inside a deferred (read) transaction: on SQLite it fails at once if anyone else committed
    since the read began. Wrap the write in writing(). The test suite turns this warning into an error."""


def init_app(app: Flask) -> None:
    app.before_request(_mark_read_request)


def _mark_read_request() -> None:
    # A hook of the dispatch, not a look at the method on each begin: a test_request_context() that tests use
    # to call write services (a GET by default) is no request being served.
    g.crm_read_request = request.method in SAFE_METHODS


def reading_now() -> bool:
    """Whether a transaction begun now would be a deferred read."""
    mode = _mode.get()
    if mode is not None:
        return mode == "read"
    return has_request_context() and bool(g.get("crm_read_request"))


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside are deferred reads, outside requests too (a search index rebuild reads every
    lead for minutes). The read in progress, if it wrote nothing, is ended on the way in and on the way out."""
    with _scope("read"):
        yield


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take the write lock at once, in a GET request too (an audit record of a
    download). Read again inside what the write depends on: the read before it has been ended."""
    with _scope("write"):
        yield


@contextmanager
def _scope(mode: str) -> Iterator[None]:
    end_read()
    token = _mode.set(mode)
    try:
        yield
    finally:
        end_read()
        _mode.reset(token)


def end_read() -> None:
    """Roll back the session's transaction if it holds nothing to keep (no pending change, no statement that
    wrote), so that the next one begins in the mode now in force."""
    from crm.extensions import db

    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    if any(conn.info.get("crm_wrote") for conn in _connections(session)):
        return
    session.rollback()


def _connections(session):
    transaction = session.get_transaction()
    while transaction is not None:
        # The connections a session transaction holds; it exposes no public accessor for them.
        for conn, *_rest in getattr(transaction, "_connections", {}).values():
            yield conn
        transaction = transaction.parent


def track_writes(engine: Engine) -> None:
    """Mark each connection whose transaction has written, so end_read() never rolls back a change."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn, _cursor, statement, _parameters, context, _executemany):
        if not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        conn.info["crm_wrote"] = True
        if conn.info.get("crm_read_transaction"):
            warnings.warn(WriteInReadTransaction(f"a write in a read transaction: {statement[:80]!r}"),
                          stacklevel=2)

    @event.listens_for(engine, "begin")
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn):
        conn.info.pop("crm_wrote", None)
        conn.info.pop("crm_read_transaction", None)


def tune_sqlite(engine: Engine, busy_ms: int) -> None:
    """WAL, a busy timeout, foreign keys on, and BEGIN IMMEDIATE unless the transaction is a read. Call after
    track_writes (its begin hook clears what the last transaction left)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if reading_now():
            conn.info["crm_read_transaction"] = True
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
