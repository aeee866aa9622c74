"""The upgrade path: a database made by the first release (revision 0001) with data in it is brought to head by
`flask crm init`, keeping every row and filling the later columns with their defaults. Runs on a throwaway
SQLite file always, and on a scratch PostgreSQL database (created and dropped here, never the suite's shared
one) when CRM_TEST_DATABASE_URL names a server."""
from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from tests.conftest import base_config

AT = datetime(2025, 6, 1, 8, 0)

OLD_ROWS = [
    ("INSERT INTO counties (id, code, name, kind, sort_order, is_active, created_at, updated_at) "
     "VALUES (1, '610902', '汉滨区', 'county', 1, :yes, :at, :at)"),
    ("INSERT INTO industries (id, code, name, parent_id, synonyms, sort_order, is_active, created_at, updated_at) "
     "VALUES (1, 'old-new-materials', '新材料（旧）', NULL, '[]', 1, :yes, :at, :at)"),
    ("INSERT INTO users (id, username, display_name, password_hash, role, county_id, language, is_active, "
     "session_token, notify_email, notify_webhook, created_at, updated_at) "
     "VALUES (1, 'wang', '王科长', '!', 'county_staff', 1, 'zh', :yes, 'tok-1', :no, :no, :at, :at)"),
    ("INSERT INTO leads (id, kind, name, name_key, pinyin_full, pinyin_initials, industry_id, owner_county_id, "
     "owner_id, status, is_key, created_by_id, created_at, updated_at) "
     "VALUES (1, 'enterprise', '安康富硒茶业有限公司', '安康富硒茶业', 'ankangfuxichaye', 'akfxcy', 1, 1, 1, "
     "'engaged', :yes, 1, :at, :at)"),
    ("INSERT INTO leads (id, kind, name, name_key, pinyin_full, pinyin_initials, owner_county_id, status, is_key, "
     "deleted_at, deleted_by_id, created_at, updated_at) "
     "VALUES (2, 'enterprise', '已删除的公司', '已删除的公司', 'yishanchudegongsi', 'yscdgs', 1, 'new', :no, "
     ":at, 1, :at, :at)"),
    ("INSERT INTO interactions (id, lead_id, kind, occurred_at, summary, leader_level, visitor_count, county_id, "
     "created_by_id, created_at, updated_at) "
     "VALUES (1, 1, 'visit', :at, '上门拜访，谈投资意向', 'none', 2, 1, 1, :at, :at)"),
    ("INSERT INTO followups (id, lead_id, title, due_at, priority, assignee_id, county_id, status, handoff, "
     "created_at, updated_at) VALUES (1, 1, '寄送园区资料', :at, 'normal', 1, 1, 'open', 'none', :at, :at)"),
    ("INSERT INTO followups (id, lead_id, title, due_at, priority, assignee_id, county_id, status, handoff, "
     "created_at, updated_at) VALUES (2, 2, '回访已删除的公司', :at, 'normal', 1, 1, 'open', 'none', :at, :at)"),
]


def _old_database(url: str, instance: str) -> None:
    """The first release's schema (revision 0001 only) with rows written the way that release could."""
    from flask_migrate import upgrade

    app = create_app(base_config(url, instance))
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
            for statement in OLD_ROWS:
                conn.execute(text(statement), {"yes": True, "no": False, "at": AT})
            if conn.dialect.name == "postgresql":  # the ids above were given, so the sequences follow by hand
                for table in ("counties", "industries", "users", "leads", "interactions", "followups"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
        db.engine.dispose()


def _head_revision() -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()


def _upgrade_and_check(url: str, instance: str) -> None:
    _old_database(url, instance)
    app = create_app(base_config(url, instance))
    result = app.test_cli_runner().invoke(args=["crm", "init"])
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.output
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == _head_revision()
            lead = conn.execute(text("SELECT name, status, is_key, version, owner_county_id FROM leads "
                                     "WHERE id = 1")).one()
            assert (lead.name, lead.status, bool(lead.is_key), lead.version, lead.owner_county_id) == (
                "安康富硒茶业有限公司", "engaged", True, 1, 1)
            assert conn.scalar(text("SELECT version FROM users WHERE username = 'wang'")) == 1
            assert conn.scalar(text("SELECT version FROM counties WHERE id = 1")) == 1
            visit = conn.execute(text("SELECT summary, withdrawn_at FROM interactions WHERE id = 1")).one()
            assert (visit.summary, visit.withdrawn_at) == ("上门拜访，谈投资意向", None)
            followups = {row.id: row for row in conn.execute(text(
                "SELECT id, status, is_closed_with_lead, version FROM followups ORDER BY id"))}
            assert (followups[1].status, bool(followups[1].is_closed_with_lead), followups[1].version) == (
                "open", False, 1)
            # 0007: an open follow-up of a lead deleted before the upgrade is closed with it (and reopens on restore)
            assert (followups[2].status, bool(followups[2].is_closed_with_lead)) == ("cancelled", True)
            # the reference data is added beside the old rows, not over them
            assert conn.scalar(text("SELECT count(*) FROM counties WHERE code = '610902'")) == 1
            assert conn.scalar(text("SELECT count(*) FROM counties")) > 1
            assert conn.scalar(text("SELECT count(*) FROM industries WHERE code = 'old-new-materials'")) == 1
        db.engine.dispose()
    again = app.test_cli_runner().invoke(args=["crm", "init"])
    with app.app_context():
        db.engine.dispose()  # before the caller drops the database: no connection left to be collected later
    assert again.exit_code == 0, again.output
    assert "0 counties and 0 industries added" in again.output


def test_init_upgrades_a_first_release_sqlite_database_keeping_its_rows(tmp_path):
    _upgrade_and_check(f"sqlite:///{tmp_path / 'old.sqlite3'}", str(tmp_path))


@pytest.mark.skipif(not (os.environ.get("CRM_TEST_DATABASE_URL") or "").startswith("postgresql"),
                    reason="CRM_TEST_DATABASE_URL names no PostgreSQL server")
def test_init_upgrades_a_first_release_postgresql_database_keeping_its_rows(tmp_path):
    server = make_url(os.environ["CRM_TEST_DATABASE_URL"])
    name = f"crm_upgrade_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _upgrade_and_check(server.set(database=name).render_as_string(hide_password=False), str(tmp_path))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
