"""Fixtures: an app on a migrated scratch database (SQLite, or PostgreSQL via CRM_TEST_DATABASE_URL), clients
per role, and small make_* builders. No app context stays pushed for a whole test."""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from crm import create_app
from crm.extensions import db

PASSWORD = "Secret-pass-1"
_counter = itertools.count(1)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def base_config(url: str, instance: str) -> dict:
    return {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "SEARCH_INDEX_PATH": os.path.join(instance, "search-index"),
        "MAIL_SERVER": None,
        # Tests written before 认定 (issue 15) count every record entered; the verification tests turn it on.
        "REPORTS_COUNT_VERIFIED_ONLY": False,
        "ATTACHMENT_FOLDER": os.path.join(instance, "attachments"),
    }


@pytest.fixture(scope="session", autouse=True)
def _catalog():
    from crm import catalog

    catalog.build()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Migrate the scratch database once per run; each test then empties the tables it filled."""
    from flask_migrate import downgrade, upgrade

    url = _database_url(tmp_path_factory)
    instance = str(tmp_path_factory.mktemp("instance"))
    app = create_app(base_config(url, instance))
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        downgrade(revision="base") if not url.startswith("postgresql") else None
        upgrade()
        db.engine.dispose()
    return url


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(database_url, str(tmp_path)))
    with app.app_context():
        from crm.services.counties import load_reference_counties
        from crm.services.industries import load_reference_industries

        load_reference_counties()
        load_reference_industries()
    yield app
    _empty_tables(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class UserRef:
    """A plain handle on a user made in the database (objects do not outlive their app context)."""

    id: int
    username: str
    role: str
    county_id: int | None
    password: str = PASSWORD


def county_id(app, code: str) -> int:
    from crm.services.counties import county_by_code

    with app.app_context():
        return county_by_code(code).id


@pytest.fixture
def make_user(app):
    def make(role: str = "county_staff", county_code: str | None = "610902", **extra) -> UserRef:
        from crm.models import User
        from crm.services.counties import county_by_code
        from crm.services.passwords import hash_password

        n = next(_counter)
        with app.app_context():
            cid = county_by_code(county_code).id if county_code and role == "county_staff" else None
            if "county_id" in extra:
                cid = extra.pop("county_id")
            user = User(username=extra.pop("username", f"{role}{n}"), display_name=extra.pop("display_name", f"用户{n}"),
                        role=role, county_id=cid, password_hash=hash_password(PASSWORD),
                        password_changed_at=datetime.now(UTC), **extra)
            db.session.add(user)
            db.session.commit()
            return UserRef(user.id, user.username, user.role, user.county_id)

    return make


def login(client, user: UserRef, password: str = PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})


@pytest.fixture
def login_as(app, make_user):
    """A test client signed in as a new user of the given role (and county)."""

    def make(role: str = "county_staff", county_code: str | None = "610902", **extra):
        user = make_user(role, county_code, **extra)
        c = app.test_client()
        response = login(c, user)
        assert response.status_code == 302, response.data[:500]
        c.user = user
        return c

    return make


@pytest.fixture
def api_client(app, make_user):
    """A test client whose requests carry a bearer token of a new user of the given role."""

    def make(role: str = "county_staff", county_code: str | None = "610902", **extra):
        from crm.models import User
        from crm.services.tokens import create_token

        user = make_user(role, county_code, **extra)
        with app.app_context():
            u = db.session.get(User, user.id)
            token = create_token(u, u, name="test", now=datetime.now(UTC))
        c = app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        c.user, c.token = user, token
        return c

    return make
