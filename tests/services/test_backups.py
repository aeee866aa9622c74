"""The backup drill: back up, change the data, restore, and find the data of the backup again with the row
counts of its manifest, and the search index rebuilt from it (SQLite here; PostgreSQL with pg_dump when the
suite runs there)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Lead, User
from crm.services import backups, indexing, leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)


def test_backup_then_restore_brings_back_the_data_and_its_counts(app, runner, make_user, tmp_path):
    staff = make_user("county_staff", "610902")
    with app.test_request_context():
        kept = leads.create_lead(db.session.get(User, staff.id), {"name": "富硒茶业有限公司"}, now=NOW).id
    result = runner.invoke(args=["crm", "backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    path = next(p for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".json"))
    with app.test_request_context():
        actor = db.session.get(User, staff.id)
        leads.create_lead(actor, {"name": "备份之后的客商"}, now=NOW)
        leads.delete_lead(actor, kept, now=NOW)
    restored = runner.invoke(args=["crm", "restore", "--yes", str(path)])
    assert restored.exit_code == 0, restored.output
    with app.test_request_context():
        names = db.session.scalars(select(Lead.name).where(Lead.deleted_at.is_(None))).all()
        assert names == ["富硒茶业有限公司"]
        manifest = backups.read_manifest(path)
        assert manifest["counts"]["leads"] == 1 and manifest["revision"]
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
        found = indexing.search_leads(db.session.get(User, staff.id), "富硒茶")
        assert [item["id"] for item in found["items"]] == [kept]


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    bogus = tmp_path / "crm-x.sqlite3"
    bogus.write_bytes(b"not a database at all")
    (tmp_path / "crm-x.sqlite3.json").write_text('{"database": "sqlite", "counts": {}}')
    with app.app_context():
        dialect = db.engine.dialect.name
    result = runner.invoke(args=["crm", "restore", "--yes", str(bogus)])
    assert result.exit_code == 1
    assert ("not a readable backup" in result.output if dialect == "sqlite" else "sqlite backup" in result.output)


def test_restore_without_its_manifest_is_refused(app, runner, tmp_path):
    orphan = tmp_path / "crm-y.sqlite3"
    orphan.write_bytes(b"x")
    result = runner.invoke(args=["crm", "restore", "--yes", str(orphan)])
    assert result.exit_code == 1 and "manifest" in result.output
