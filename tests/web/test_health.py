"""/healthz and /readyz: open without sign-in, no data beyond states, 503 when the database is down or the
schema is not at the migrations' head; the scheduler's heartbeat is the latest job run."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from crm import create_app
from crm.extensions import db
from crm.models import JobRun
from tests.conftest import base_config
from tests.faults.harness import free_port


def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_on_a_migrated_database_is_ready_and_reports_index_and_scheduler(app, client):
    with app.app_context():
        db.session.add(JobRun(job_id="dispatch_outbox", last_run_at=datetime.now(UTC),
                              last_finished_at=datetime.now(UTC) - timedelta(seconds=30)))
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["status"] == "ready"
    checks = response.json["checks"]
    assert checks["database"] == "ok" and checks["migrations"] == "ok" and checks["scheduler"] == "ok"
    assert checks["search_index"] in ("ok", "rebuilding") and checks["search_backlog"] >= 0


def test_readyz_says_when_the_scheduler_heartbeat_is_stale(app, client):
    with app.app_context():
        db.session.add(JobRun(job_id="search_outbox", last_finished_at=datetime.now(UTC) - timedelta(hours=2)))
        db.session.commit()
    body = client.get("/readyz").json
    assert body["checks"]["scheduler"] == "stale" and body["status"] == "ready"  # the web still serves


def test_readyz_is_503_when_the_schema_is_behind(app, client):
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
    finally:  # the database may be shared by the whole run (PostgreSQL): put the stamp back
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
            db.session.commit()
    assert response.status_code == 503 and response.json["checks"]["migrations"] == "behind"


def test_readyz_is_503_when_the_database_is_down(tmp_path):
    app = create_app(base_config(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", str(tmp_path)))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "unreachable"}}
    assert app.test_client().get("/healthz").status_code == 200
