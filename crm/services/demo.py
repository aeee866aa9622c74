"""The demo city: deterministic Ankang data so every page has something true to show (idempotent)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.models import Role, User
from crm.services.counties import all_counties, load_reference_counties
from crm.services.industries import load_reference_industries
from crm.services.passwords import hash_password

DEMO_PASSWORD = "anKang-2027"
# (username, display name, role, county code) — one staff account per county follows below.
DEMO_PEOPLE = [
    ("admin", "系统管理员", Role.ADMIN, None),
    ("city", "王建国（市局）", Role.CITY_STAFF, "610900"),
    ("city2", "李晓燕（市局）", Role.CITY_STAFF, "610900"),
    ("leader", "陈局长（只读）", Role.VIEWER, None),
]
COUNTY_STAFF_NAMES = ["刘洋", "张伟", "赵敏", "孙磊", "周婷", "吴刚", "郑丽", "冯涛", "陈静", "褚强", "卫华", "蒋楠"]


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, what it is) for the `make run` banner."""
    rows = [(u, DEMO_PASSWORD, role.value) for u, _n, role, _c in DEMO_PEOPLE]
    rows.append(("hanbin", DEMO_PASSWORD, "county_staff 汉滨区"))
    rows.append(("ziyang", DEMO_PASSWORD, "county_staff 紫阳县"))
    return rows


COUNTY_USERNAMES = {
    "610902": "hanbin", "610921": "hanyin", "610922": "shiquan", "610923": "ningshan", "610924": "ziyang",
    "610925": "langao", "610926": "pingli", "610927": "zhenping", "610929": "baihe", "610981": "xunyang",
    "AK-GXQ": "gaoxin", "AK-HKQ": "hengkou",
}


def seed_demo(size: str = "small", *, now: datetime | None = None) -> dict:
    """Add what is missing of the demo city; running it twice changes nothing."""
    now = now or datetime.now(UTC)
    load_reference_counties()
    load_reference_industries()
    by_code = {c.code: c for c in all_counties()}
    existing = set(db.session.scalars(select(User.username)))
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every demo account: seeding stays fast
    added = 0
    people = [(u, n, r, c) for u, n, r, c in DEMO_PEOPLE]
    for i, (code, username) in enumerate(COUNTY_USERNAMES.items()):
        county = by_code.get(code)
        if county is not None:
            people.append((username, f"{COUNTY_STAFF_NAMES[i % len(COUNTY_STAFF_NAMES)]}（{county.name}）",
                           Role.COUNTY_STAFF, code))
    for username, name, role, code in people:
        if username in existing:
            continue
        county = by_code.get(code) if code else None
        db.session.add(User(username=username, display_name=name, role=role.value, password_hash=password_hash,
                            county_id=county.id if county else None, password_changed_at=now,
                            email=f"{username}@demo.ankang.invalid"))
        added += 1
    db.session.commit()
    return {"users": added}
