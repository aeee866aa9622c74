"""A full disk under instance/imports (issue 13, item 12). Filling a real disk is not possible on a shared machine,
so ENOSPC is injected at the OS boundary: os.write to a file in the imports folder writes what still fits, then
fails as the kernel would. Everything above that call is the real application."""
from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import AuditEntry, ImportBatch

CSV = ("企业名称,联系人,手机\n" + "".join(f"安康第{i}茶业有限公司,张{i},1380000{i:04d}\n" for i in range(600))).encode()


@pytest.fixture
def folder(app, tmp_path) -> Path:
    path = tmp_path / "imports"
    app.config["IMPORT_FOLDER"] = str(path)
    return path


@pytest.fixture
def full_disk(folder, monkeypatch):
    """The disk holding the imports folder has 4 KiB left."""
    real_write, room = os.write, {"left": 4096}

    def write(fd, data):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.startswith(str(folder)):
            return real_write(fd, data)
        if room["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(data[:room["left"]]))
        room["left"] -= written
        return written

    monkeypatch.setattr(os, "write", write)
    return monkeypatch


def _nothing_kept(app, folder: Path) -> None:
    assert not folder.exists() or sorted(p.name for p in folder.iterdir()) == []  # no partial file, no .part
    with app.app_context():
        assert db.session.scalar(select(func.count(ImportBatch.id))) == 0
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "upload")) == 0


def test_upload_on_a_full_disk_says_so_and_leaves_nothing_behind(app, login_as, folder, full_disk):
    client = login_as("county_staff")
    response = client.post("/imports/new", data={"file": (io.BytesIO(CSV), "台账.csv"), "duplicate_mode": "skip"},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "服务器磁盘已满" in response.get_data(as_text=True)
    _nothing_kept(app, folder)
    full_disk.undo()  # space freed: the same upload goes through
    response = client.post("/imports/new", data={"file": (io.BytesIO(CSV), "台账.csv"), "duplicate_mode": "skip"},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        batch = db.session.scalar(select(ImportBatch))
        assert [p.name for p in folder.iterdir()] == [str(batch.id)]
        assert (folder / str(batch.id)).read_bytes() == CSV


def test_api_upload_on_a_full_disk_is_a_problem_naming_the_file_and_leaves_nothing_behind(
        app, api_client, folder, full_disk):
    client = api_client("county_staff")
    response = client.post("/api/v1/imports", data={"file": (io.BytesIO(CSV), "leads.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "服务器磁盘已满" in " ".join(response.get_json()["errors"]["file"])
    _nothing_kept(app, folder)
