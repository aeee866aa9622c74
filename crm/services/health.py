"""Liveness and readiness for load balancers and monitoring (/healthz, /readyz): states only, no data.

Ready means the database answers and its schema is at the migrations' head; the search index and the scheduler
are reported (search falls back to the database while the index refills, and the scheduler may run elsewhere),
but do not make the web process unready."""
from __future__ import annotations

from datetime import datetime, timedelta

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text

from crm.extensions import db
from crm.models import JobRun, SearchOutboxEntry

# The scheduler's every-minute jobs (search_outbox, dispatch_outbox) record each run in job_runs: their latest
# finish is its heartbeat.
HEARTBEAT_STALE = timedelta(minutes=5)
OUTBOX_LAGGING = 1000


def _heads() -> set[str]:
    config = current_app.extensions["migrate"].migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


def readiness(now: datetime) -> tuple[bool, dict]:
    checks: dict[str, str | int | None] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001  (any failure to reach it means not ready; the log has the error)
        db.session.rollback()
        current_app.logger.warning("readyz: database unreachable", exc_info=True)
        return False, {"database": "unreachable"}
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:  # noqa: BLE001  (no alembic_version table: never migrated)
        db.session.rollback()
        current = set()
    checks["migrations"] = "ok" if current == _heads() else ("missing" if not current else "behind")
    backlog = db.session.scalar(select(func.count()).select_from(SearchOutboxEntry)) or 0
    from crm.services import indexing

    checks["search_index"] = ("rebuilding" if indexing.index_filling() else
                              "lagging" if backlog >= OUTBOX_LAGGING else "ok")
    checks["search_backlog"] = backlog
    beat = db.session.scalar(select(func.max(JobRun.last_finished_at)))
    checks["scheduler"] = "never_ran" if beat is None else ("ok" if now - beat <= HEARTBEAT_STALE else "stale")
    checks["scheduler_heartbeat_at"] = beat.isoformat() if beat else None
    db.session.rollback()
    return checks["migrations"] == "ok", checks
