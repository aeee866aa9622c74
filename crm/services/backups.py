"""Backups and restores of the database (DESIGN.md: the search index is derived data, rebuilt on restore).

SQLite: the online backup API (a consistent copy while the app runs, WAL included). PostgreSQL: pg_dump's
custom format and pg_restore, when the client tools are installed. Each backup has a manifest beside it
(<name>.json: when, which database kind, schema revision, row counts per table) so a restore can prove
itself: restore_backup returns the counts found against the manifest's."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text

from crm.extensions import db


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables}


def _revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # noqa: BLE001  (never migrated)
        db.session.rollback()
        return None


def _plain_url() -> str:
    """The PostgreSQL URL as libpq tools take it (no SQLAlchemy driver suffix)."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools (Debian: postgresql-client)")
    return path


def create_backup(folder: str | Path, *, now: datetime) -> Path:
    """Write a backup of the database into `folder`; returns its path (the manifest is <path>.json)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dialect = db.engine.dialect.name
    stamp = now.strftime("%Y%m%d-%H%M%S")
    manifest = {"created_at": now.isoformat(), "database": dialect, "revision": _revision(), "counts": _counts()}
    db.session.rollback()
    if dialect == "sqlite":
        target = folder / f"crm-{stamp}.sqlite3"
        source = sqlite3.connect(db.engine.url.database)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
    elif dialect == "postgresql":
        target = folder / f"crm-{stamp}.pgdump"
        result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}",
                                 _plain_url()], capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    else:
        raise BackupError(f"backups of {dialect} databases are not supported")
    Path(f"{target}.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return target


def read_manifest(path: str | Path) -> dict:
    try:
        return json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{path}.json (the backup's manifest) is missing or unreadable: {error}") from error


def restore_backup(path: str | Path) -> dict:
    """Replace the database's contents with the backup's; returns {"expected": …, "found": …} row counts.
    Stop the web server and the scheduler first: sessions and jobs would otherwise write into the old data."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    manifest = read_manifest(path)
    dialect = db.engine.dialect.name
    if manifest.get("database") != dialect:
        raise BackupError(f"{path} is a {manifest.get('database')} backup; this database is {dialect}")
    db.session.remove()
    db.engine.dispose()
    if dialect == "sqlite":
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.execute("SELECT count(*) FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a readable backup of this application: {error}") from error
        live = sqlite3.connect(db.engine.url.database)
        try:
            with live:
                source.backup(live)
        finally:
            live.close()
            source.close()
    else:
        result = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                                 f"--dbname={_plain_url()}", str(path)], capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
    found = _counts()
    db.session.rollback()
    return {"expected": manifest.get("counts", {}), "found": found}
