"""The demo accounts: who they are, what each login is for (the `make run` banner), and adding them."""
from __future__ import annotations

from sqlalchemy import select

from crm.demo.context import Demo
from crm.extensions import db
from crm.models import Role, User
from crm.services.passwords import hash_password

DEMO_PASSWORD = "anKang-2027"
# (username, display name, role, county code, what the login is for)
DEMO_PEOPLE = [
    ("admin", "系统管理员", Role.ADMIN, None, "admin: accounts, reference data, yearly targets (考核目标), audit log, imports"),
    ("city", "王建国（市局）", Role.CITY_STAFF, "610900",
     "city staff 市招商局: every county, trips led by city leaders, hand-offs, reports (targets: read-only)"),
    ("city2", "李晓燕（市局）", Role.CITY_STAFF, "610900", "city staff 市招商局 (a second colleague)"),
    ("leader", "陈局长（只读）", Role.VIEWER, None, "viewer 局领导: read-only dashboards and reports"),
]
COUNTY_USERNAMES = {
    "610902": "hanbin", "610921": "hanyin", "610922": "shiquan", "610923": "ningshan", "610924": "ziyang",
    "610925": "langao", "610926": "pingli", "610927": "zhenping", "610929": "baihe", "610981": "xunyang",
    "AK-GXQ": "gaoxin", "AK-HKQ": "hengkou",
}
COUNTY_STAFF_NAMES = ["刘洋", "张伟", "赵敏", "孙磊", "周婷", "吴刚", "郑丽", "冯涛", "陈静", "褚强", "卫华", "蒋楠"]
# A second person in 汉滨区, so its county board shows the inbox shared between colleagues.
EXTRA_STAFF = [("hanbin2", "马小军", "610902")]


# Department contacts (部门联络员) come with the demo problems (crm.demo.problems), listed here for the banner.
DEPARTMENT_LOGINS = [("zrzy", "department contact 市自然资源局: its problems only (办理, 办结)"),
                     ("gongdian", "department contact 国网安康供电公司: its problems only")]


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, what it is for) for the `make run` banner."""
    rows = [(u, DEMO_PASSWORD, what) for u, _n, _r, _c, what in DEMO_PEOPLE]
    rows += [
        ("hanbin", DEMO_PASSWORD, "county staff 汉滨区: own leads, follow-ups (overdue, today, inbox, hand-offs)"),
        ("hanbin2", DEMO_PASSWORD, "county staff 汉滨区 (a colleague: shared county inbox)"),
        ("ziyang", DEMO_PASSWORD, "county staff 紫阳县: 富硒茶 leads and projects"),
        ("…", DEMO_PASSWORD, "one county staff login per county: " + ", ".join(
            u for u in COUNTY_USERNAMES.values() if u not in ("hanbin", "ziyang"))),
    ]
    rows += [(u, DEMO_PASSWORD, what) for u, what in DEPARTMENT_LOGINS]
    return rows


def _wanted(by_code) -> list[tuple[str, str, Role, str | None]]:
    people = [(u, n, r, c) for u, n, r, c, _what in DEMO_PEOPLE]
    for i, (code, username) in enumerate(COUNTY_USERNAMES.items()):
        county = by_code.get(code)
        if county is not None:
            people.append((username, f"{COUNTY_STAFF_NAMES[i % len(COUNTY_STAFF_NAMES)]}（{county.name}）",
                           Role.COUNTY_STAFF, code))
    for username, name, code in EXTRA_STAFF:
        if code in by_code:
            people.append((username, f"{name}（{by_code[code].name}）", Role.COUNTY_STAFF, code))
    return people


def add_people(demo: Demo) -> int:
    """Add the demo accounts that are missing; fill demo.users with all of them."""
    existing = {u.username: u for u in db.session.scalars(select(User))}
    password_hash = None
    added = 0
    for username, name, role, code in _wanted(demo.counties):
        user = existing.get(username)
        if user is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)  # one hash for all: seeding stays fast
            county = demo.counties.get(code) if code else None
            user = User(username=username, display_name=name, role=role.value, password_hash=password_hash,
                        county_id=county.id if county else None, password_changed_at=demo.now,
                        email=f"{username}@demo.ankang.invalid")
            db.session.add(user)
            added += 1
        demo.users[username] = user
    db.session.flush()
    return added
