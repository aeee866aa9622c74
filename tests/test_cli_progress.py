"""Long commands say how far they are: `flask crm import` and `flask crm reindex` print a line per tenth of the
way on stderr, and the result on stdout."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.models import ImportBatch, Lead
from crm.services import import_runner
from tests.conftest import county_id

HEADER = "企业名称,类型,统一社会信用代码,所属行业,籍贯,联系人,职务,手机,邮箱,备注\n"


def _csv(tmp_path, count: int, notes: str = "", name: str = "客商名单.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"安康进度{i}有限公司,,,,,联系人{i},,1391234{i:04d},,{notes}\n"
                                     for i in range(count)), encoding="utf-8")
    return str(path)


def test_import_command_imports_the_file_for_the_county_reporting_rows_as_it_goes(app, runner, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setattr(import_runner, "CHUNK", 2)  # five rows, three chunks
    result = runner.invoke(args=["crm", "import", _csv(tmp_path, 5), "--county", "610902"])
    assert result.exit_code == 0, result.output
    steps = [line.strip() for line in result.stderr.splitlines() if " / " in line]
    assert steps == ["2 / 5 rows (40%)", "4 / 5 rows (80%)", "5 / 5 rows (100%)"]
    assert "name <- 企业名称" in result.stderr
    assert "done: 5 created, 0 updated, 0 skipped, 0 rejected" in result.stdout
    hanbin = county_id(app, "610902")
    with app.app_context():
        assert set(db.session.scalars(select(Lead.owner_county_id))) == {hanbin}
        assert db.session.scalar(select(ImportBatch.status)) == "done"


def test_import_command_as_county_staff_for_another_county_is_refused(app, runner, make_user, tmp_path):
    staff = make_user("county_staff", "610902")
    result = runner.invoke(args=["crm", "import", _csv(tmp_path, 2), "--county", "610921", "--as", staff.username])
    assert result.exit_code == 1
    assert "owner_county_id" in result.stderr
    with app.app_context():
        assert db.session.scalar(select(Lead.id)) is None


def test_import_command_with_update_mode_updates_the_matching_leads(app, runner, tmp_path):
    assert runner.invoke(args=["crm", "import", _csv(tmp_path, 3), "--county", "610902"]).exit_code == 0
    changed = _csv(tmp_path, 3, notes="二次对接", name="更新.csv")
    result = runner.invoke(args=["crm", "import", changed, "--county", "610902", "--mode", "update"])
    assert result.exit_code == 0, result.output
    assert "done: 0 created, 3 updated, 0 skipped, 0 rejected" in result.stdout
    with app.app_context():
        assert set(db.session.scalars(select(Lead.notes))) == {"二次对接"}


def test_reindex_reports_the_leads_read_and_the_documents_indexed(app, runner, tmp_path):
    assert runner.invoke(args=["crm", "import", _csv(tmp_path, 4), "--county", "610902"]).exit_code == 0
    result = runner.invoke(args=["crm", "reindex"])
    assert result.exit_code == 0, result.output
    assert "4 / 4 leads and projects (100%)" in result.stderr
    assert "indexed 4 documents" in result.stdout
