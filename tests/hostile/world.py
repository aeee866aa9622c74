"""A small populated city for the endpoint-walking tests (hostile input, access matrix): one user per role, an
object behind every URL parameter, and the url_map walk itself. A feature that adds a URL parameter adds a
factory to PARAM_FACTORIES; one that adds an endpoint declares its access in tests/test_access_matrix.py."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import got_request_exception

from crm.extensions import db

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
ROLES = ["admin", "city_staff", "county_staff", "viewer"]
HOME_COUNTY, OTHER_COUNTY = "610902", "610924"  # 汉滨区, 紫阳县
SKIP_ENDPOINTS = {"static"}
MISSING_ID = 999_999  # files, not pages: tried separately with traversal payloads


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)  # role (and "other_county_staff", "victim") → user id
    ids: dict[str, object] = field(default_factory=dict)  # URL parameter name → value
    failed: dict[str, str] = field(default_factory=dict)  # URL parameter name → why its factory failed


def _user(username: str, role: str, county_code: str | None, department_code: str | None = None):
    from crm.models import User
    from crm.services.counties import county_by_code
    from crm.services.passwords import hash_password
    from tests.conftest import PASSWORD

    user = User(username=username, display_name=f"{username}名", role=role, password_hash=hash_password(PASSWORD),
                county_id=county_by_code(county_code).id if county_code else None, password_changed_at=NOW,
                email=f"{username}@example.invalid", department_id=_department(department_code))
    db.session.add(user)
    db.session.commit()
    return user


def _verifier(user_id: int) -> None:
    """认定 (issue 15): the world's city staff member is also a verifier, so the matrix tells the verifier's
    rights apart from city staff's (the administrator is not one)."""
    from crm.models import User

    db.session.get(User, user_id).can_verify = True
    db.session.commit()


def _department(code: str | None):
    from crm.services.departments import department_by_code

    return department_by_code(code).id if code else None


WORLD_DEPARTMENT = "CITY-ZRZY"  # 市自然资源局: the world's problem is routed there; its contact is "department"


def _problem(world: World):
    """A 用地 problem of 汉滨区 on the world's project, routed by the city to the world's department."""
    from crm.services.problems import raise_problem, route_problem

    problem = raise_problem(_actor(world, "county_staff"), {"title": "二期用地未交付", "category": "land",
                                                           "project_id": world.ids["project_id"]}, now=NOW)
    route_problem(_actor(world, "city_staff"), problem.id, _department(WORLD_DEPARTMENT), now=NOW)
    return problem.id


def _lead(world: World):
    from crm.models import User
    from crm.services.leads import create_lead

    actor = db.session.get(User, world.users["county_staff"])
    return create_lead(actor, {"name": "安康富硒茶业有限公司", "kind": "hometown_entrepreneur"}, now=NOW).id


def _followup(world: World):
    from crm.models import User
    from crm.services.followups import create_followup

    actor = db.session.get(User, world.users["city_staff"])
    return create_followup(actor, {"title": "回访富硒茶业", "lead_id": world.ids["lead_id"],
                                   "assignee_id": world.users["county_staff"],
                                   "due_at": (NOW + timedelta(days=3)).isoformat()}, now=NOW).id


def _calendar_token(world: World):
    """The county user's iCal feed token (crm.services.calendars): the feed is public, its token the key."""
    from crm.models import User
    from crm.services.calendars import new_calendar_token

    return new_calendar_token(db.session.get(User, world.users["county_staff"]), now=NOW)


def _notification(world: World):
    from crm.models import User
    from crm.services.notifications import notify

    note = None
    for role in ROLES:  # one for each role, so each may read "its" notification; the id is the admin's
        user = db.session.get(User, world.users[role])
        made = notify(user, "test", "测试通知", "", None, f"world-{role}", now=NOW)
        note = note or made
    db.session.commit()
    return note.id


def _token(world: World):
    from crm.models import ApiToken, User
    from crm.services.tokens import create_token

    admin = db.session.get(User, world.users["admin"])
    create_token(admin, admin, name="world", now=NOW)
    db.session.commit()
    return db.session.query(ApiToken).filter_by(user_id=admin.id).first().id


def _actor(world: World, role: str):
    from crm.models import User

    return db.session.get(User, world.users[role])


def _project(world: World):
    from crm.services.projects import create_project

    return create_project(_actor(world, "county_staff"), {"name": "富硒茶深加工项目", "lead_ids": [world.ids["lead_id"]],
                                                          "county_id": world.ids["county_id"]}, now=NOW).id


def _funds(world: World):
    """An arrival on a signed project of the world's county (the world's own project is only planned)."""
    from crm.services.funds import add_funds
    from crm.services.projects import create_project

    actor = _actor(world, "county_staff")
    project = create_project(actor, {"name": "富硒水产业园", "county_id": world.ids["county_id"], "stage": "signed",
                                     "signed_on": "2027-03-01", "investment_total": "5000"}, now=NOW)
    return add_funds(actor, project.id, "800", "2027-03-10", now=NOW).id


def _commitment(world: World):
    """A commitment on a signed project of the world's county (the world's own project is only planned)."""
    from crm.services.commitments import create_commitment
    from crm.services.projects import create_project

    actor = _actor(world, "county_staff")
    project = create_project(actor, {"name": "富硒食品产业园", "county_id": world.ids["county_id"], "stage": "signed",
                                     "signed_on": "2027-03-01", "investment_total": "20000"}, now=NOW)
    return create_commitment(actor, project.id, {"kind": "jobs", "due_on": "2027-12-31", "target_quantity": "300"},
                             now=NOW).id


def _event(world: World):
    from crm.services.events import create_event

    return create_event(_actor(world, "city_staff"), {"name": "2027安康招商推介会", "held_on": "2027-03-20"},
                        now=NOW).id


def _trip(world: World):
    from crm.services.trips import create_trip

    return create_trip(_actor(world, "county_staff"), {"title": "北京叩门招商", "starts_on": "2027-03-15",
                                                       "ends_on": "2027-03-19"}, now=NOW).id


def _interaction(world: World):
    from crm.services.interactions import log_interaction

    return log_interaction(_actor(world, "county_staff"), {"kind": "visit", "summary": "上门拜访，介绍园区",
                                                           "leader_level": "county", "leader_name": "张县长",
                                                           "visitor_count": 3, "trip_id": world.ids["trip_id"]},
                           lead_id=world.ids["lead_id"], now=NOW).id


def _campaign(world: World):
    from crm.services.outreach import create_campaign

    return create_campaign(_actor(world, "admin"), "spring_festival", 2027, now=NOW).id


def _item(world: World):
    from crm.models import OutreachItem

    return db.session.query(OutreachItem.id).filter_by(campaign_id=world.ids["campaign_id"]).scalar()


def _batch(world: World):
    from crm.services.imports import start_import

    data = "企业名称,手机\n安康富硒茶业有限公司,13800000001\n".encode()
    return start_import(_actor(world, "county_staff"), "台账.csv", data, now=NOW).id


def _attachment(world: World):
    """Evidence (a tiny PDF) on the world's project, uploaded by its county."""
    from crm.services.attachments import add_attachment

    return add_attachment(_actor(world, "county_staff"), world.ids["project_id"], "合同.pdf",
                          b"%PDF-1.4\n%%EOF\n", kind="contract", now=NOW).id


def _snapshot(world: World):
    from crm.services.snapshots import freeze

    return freeze(_actor(world, "city_staff"), 2027, 3, note="3月月报", now=NOW).id


def _county(world: World):
    from crm.services.counties import county_by_code

    return county_by_code(HOME_COUNTY).id


def _saved_search(world: World):
    from crm.models import User
    from crm.services.saved_searches import save_search

    actor = db.session.get(User, world.users["city_staff"])
    return save_search(actor, "全市富硒茶", {"q": "富硒茶"}, "city", now=NOW).id


# URL parameter name → factory(world) → value; run in this order (later ones may use earlier ids).
PARAM_FACTORIES: dict[str, Callable[[World], object]] = {
    "county_id": _county,
    "user_id": lambda w: w.users["victim"],
    "token_id": _token,
    "lead_id": _lead,
    "followup_id": _followup,
    "notification_id": _notification,
    "token": _calendar_token,
    "project_id": _project,
    "funds_id": _funds,
    "commitment_id": _commitment,
    "department_id": lambda w: _department(WORLD_DEPARTMENT),
    "problem_id": _problem,
    "event_id": _event,
    "trip_id": _trip,
    "interaction_id": _interaction,
    "campaign_id": _campaign,
    "saved_search_id": _saved_search,
    "item_id": _item,
    "batch_id": _batch,
    "attachment_id": _attachment,
    "snapshot_id": _snapshot,
    "code": lambda w: "zh",
    "fmt": lambda w: "csv",
    "filename": lambda w: "css/app.css",
}


def build_world(app) -> World:
    world = World()
    with app.app_context():
        for role in ROLES:
            world.users[role] = _user(f"w_{role}", role, HOME_COUNTY if role == "county_staff" else None).id
        world.users["other_county_staff"] = _user("w_other", "county_staff", OTHER_COUNTY).id
        world.users["victim"] = _user("w_victim", "county_staff", HOME_COUNTY).id
        _verifier(world.users["city_staff"])
        from crm.services.departments import load_reference_departments

        load_reference_departments()
        world.users["department"] = _user("w_department", "department", None, WORLD_DEPARTMENT).id
        for name, factory in PARAM_FACTORIES.items():
            try:  # a feature's service changing under a factory should not stop every walk
                world.ids[name] = factory(world)
            except Exception as error:  # noqa: BLE001 - reported by tests/test_access_matrix.py
                db.session.rollback()
                world.failed[name] = f"{type(error).__name__}: {error}"
            if world.ids.get(name) is None:
                world.ids[name] = MISSING_ID
                world.failed.setdefault(name, "the factory found nothing")
        db.session.remove()
    return world


@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        # /api/v1/docs is an HTML page (the ReDoc reference): walked with the pages, not the JSON endpoints
        return self.rule.startswith("/api/") and self.endpoint != "apidocs.index"

    def url(self, world: World, **override) -> str:
        values = {}
        for name in self.arguments:
            if name in override:
                values[name] = override[name]
            elif name in world.ids:
                values[name] = world.ids[name]
            else:  # tests/test_access_matrix.py insists on a factory; elsewhere a missing object is a fine 404
                values[name] = MISSING_ID
        path = self.rule
        for name, value in values.items():
            path = _fill(path, name, value)
        return path


def _fill(rule: str, name: str, value) -> str:
    import re

    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?" + re.escape(name) + ">", str(value), rule)


def routes(app) -> list[Route]:
    """Every rule of the url_map (one Route per rule, so /users/new and /users/<id>/edit are both walked)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        methods = tuple(sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")))
        found.append(Route(rule.endpoint, rule.rule, methods, tuple(sorted(rule.arguments))))
    return sorted(found, key=lambda r: (r.rule, r.endpoint))


def _keep_error(sender, exception, **extra):
    sender.walk_errors.append(f"{type(exception).__name__}: {str(exception)[:200]}")


def module_app(database_url: str, instance: str):
    """A generator for module-scoped fixtures: one app whose tables are emptied when the module is done."""
    from crm import create_app
    from crm.services.counties import load_reference_counties
    from crm.services.industries import load_reference_industries
    from tests.conftest import _empty_tables, base_config

    # Errors become the 500 page a user would get (not exceptions raised into the test); each is kept, with its
    # traceback's last line, in app.walk_errors for the report.
    app = create_app(base_config(database_url, instance) | {"PROPAGATE_EXCEPTIONS": False})
    app.walk_errors = []
    got_request_exception.connect(_keep_error, app, weak=False)
    with app.app_context():
        load_reference_counties()
        load_reference_industries()
    yield app
    _empty_tables(app)
    with app.app_context():
        db.engine.dispose()


def signed_in_client(app, world: World, role: str, ip: str = "127.0.0.1"):
    """A test client signed in as the world's user of that role (password of tests/conftest.py)."""
    from crm.models import User
    from tests.conftest import PASSWORD

    with app.app_context():
        username = db.session.get(User, world.users[role]).username
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return client


def token_client(app, world: World, role: str):
    from crm.models import User
    from crm.services.tokens import create_token

    with app.app_context():
        user = db.session.get(User, world.users[role])
        token = create_token(user, user, name=f"world-{role}", now=datetime.now(UTC))
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.token = token
    return client
