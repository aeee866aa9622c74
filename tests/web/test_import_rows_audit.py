"""Downloading an import's rejected rows (personal data: names, mobiles) leaves an audit entry."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry
from tests.web.test_imports import upload


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rejected_rows_download_is_audited(app, login_as, fmt):
    client = login_as("county_staff", "610902")
    location = upload(client, "企业名称,手机\n,13800000001\n甲公司,12\n".encode()).location
    detail = client.post(location, data={"col_0": "name", "col_1": "mobile"}).location
    batch_id = int(detail.rstrip("/").rsplit("/", 1)[1])
    assert client.get(detail + f"/rows.{fmt}").status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export",
                                                           AuditEntry.object_type == "import_batch"))
        assert entry is not None and entry.object_id == batch_id and entry.actor_id == client.user.id
        assert f"rows.{fmt}" in entry.summary and "(2)" in entry.summary
