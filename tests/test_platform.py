"""Cross-cutting rules: config order, migrations match the models, the layer rule, translations complete."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from crm import create_app
from crm.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_production_without_secret_key_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_ENV_NAME", "production")
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_development_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").exists()


def test_an_empty_development_secret_left_by_a_full_disk_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("")  # what write_text left when the disk filled up
    key = create_app().config["SECRET_KEY"]
    assert len(key) >= 32 and (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")) == []


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("LOGIN_MAX_FAILURES = 7\nMAIL_SERVER = 'from-file'\n")
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_MAIL_SERVER", "from-env")
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    app = create_app()
    assert app.config["LOGIN_MAX_FAILURES"] == 7
    assert app.config["MAIL_SERVER"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.db")
    assert app.config["SEARCH_INDEX_PATH"].startswith(str(tmp_path))


def test_postgresql_url_uses_psycopg3(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://u@127.0.0.1/db")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_sqlite_runs_with_wal_and_foreign_keys(app):
    from sqlalchemy import text

    from crm.extensions import db

    if db.engine.dialect.name != "sqlite" if False else False:
        pass
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrations_produce_the_schema_of_the_models(app):
    """The scratch database was built by the migrations; Alembic must find nothing to add or change."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


FORBIDDEN = {"crm.web", "crm.api"}
FORBIDDEN_NAMES = {("flask", "request"), ("flask", "session"), ("flask", "g"), ("flask", "flash"),
                   ("flask", "render_template"), ("flask", "url_for"), ("flask_login", "current_user")}


@pytest.mark.parametrize("package", ["models", "services"])
def test_models_and_services_do_not_import_the_web_side(package):
    offenders = []
    for path in (ROOT / "crm" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if any(node.module == f or node.module.startswith(f + ".") for f in FORBIDDEN):
                    offenders.append(f"{path.name}: from {node.module}")
                for alias in node.names:
                    if (node.module, alias.name) in FORBIDDEN_NAMES:
                        offenders.append(f"{path.name}: {alias.name} from {node.module}")
            if isinstance(node, ast.Import):
                offenders += [f"{path.name}: import {a.name}" for a in node.names
                              if any(a.name == f or a.name.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == []


def test_every_user_visible_string_has_a_chinese_translation():
    from crm.catalog import missing_msgids

    assert missing_msgids() == []


def test_pages_are_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "招商客商管理平台" in page and 'lang="zh-CN"' in page


def test_error_pages_speak_chinese(login_as):
    client = login_as("viewer", None)
    assert "未找到" in client.get("/no/such/page").get_data(as_text=True)
    assert "无权访问" in client.get("/admin/users").get_data(as_text=True)


def test_templates_load_nothing_from_the_network():
    import re

    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if re.search(r'(src|href)=["\']https?://', path.read_text()):
            offenders.append(path.name)
    assert offenders == []


@pytest.mark.parametrize("name,raw,message", [
    ("CRM_LOGIN_MAX_FAILURES", "five", "whole number"),
    ("CRM_SCHEDULER_ENABLED", "maybe", "true or false"),
    ("CRM_LANGUAGES", "zh,en", "JSON"),
])
def test_malformed_environment_value_stops_the_start_naming_the_variable(tmp_path, monkeypatch, name, raw, message):
    from crm.config import ConfigError

    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=name) as error:
        create_app()
    assert message in str(error.value)


def test_environment_values_are_typed_and_nested_keys_work(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_LOGIN_MAX_FAILURES", "9")
    monkeypatch.setenv("CRM_SCHEDULER_ENABLED", "yes")
    monkeypatch.setenv("CRM_SECRET_KEY", "12345")
    monkeypatch.setenv("CRM_SQLALCHEMY_ENGINE_OPTIONS__pool_size", "3")
    cfg = create_app().config
    assert cfg["LOGIN_MAX_FAILURES"] == 9 and cfg["SCHEDULER_ENABLED"] is True
    assert cfg["SECRET_KEY"] == "12345"  # text stays text even when it looks like a number
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 3}
