"""The small demo city's problems (诉求/问题): raised by counties on their signed and started projects, routed to city
and county departments, in every state — awaiting acceptance, being handled (some overdue and escalated), resolved
awaiting the enterprise, confirmed with a rating — with a leader's 批示 and a 联席会议 decision; and two department
contacts (部门联络员) to sign in as."""
from __future__ import annotations

from datetime import timedelta

from crm.demo.context import Demo
from crm.extensions import db
from crm.models import Department, Problem, ProblemEntry, Role, Stage, User
from crm.services.departments import load_reference_departments
from crm.services.passwords import hash_password

# username, display name, department code
CONTACTS = [("zrzy", "何文斌（市自然资源局）", "CITY-ZRZY"), ("gongdian", "罗春梅（国网安康供电公司）", "CITY-GD")]
# title, category, severity, department code ("{county}" = the project's county code), status, days raised ago,
# days overdue when open (None: within its deadline), satisfaction when confirmed
PROBLEMS = [
    ("二期项目用地尚未完成征收交付", "land", "urgent", "CITY-ZRZY", "in_progress", 20, 13, None),
    ("项目用地规划指标需调整", "land", "normal", "{county}-ZRZY", "in_progress", 12, None, None),
    ("10千伏专线接入及变压器增容", "utilities", "pressing", "CITY-GD", "in_progress", 25, 10, None),
    ("园区天然气管网未接通到厂区", "utilities", "normal", "CITY-GD", "pending", 6, None, None),
    ("环评批复迟迟未下达", "environment", "pressing", "CITY-STHJ", "pending", 4, None, None),
    ("厂房施工许可办理进度慢", "planning", "normal", "CITY-XZSP", "resolved", 28, None, None),
    ("流动资金贷款授信困难", "financing", "pressing", "CITY-JR", "in_progress", 9, None, None),
    ("技术工人招聘困难，需对接职业院校", "labour", "normal", "{county}-RS", "resolved", 35, None, None),
    ("招商引资奖励资金未按协议兑现", "policy", "urgent", "CITY-CZ", "confirmed", 60, None, 5),
    ("固定资产投资补助未拨付", "policy", "normal", "CITY-CZ", "confirmed", 80, None, 4),
    ("进厂道路未硬化，雨天货车无法进出", "other", "pressing", "{county}-ZJ", "confirmed", 45, None, 5),
    ("用电报装流程繁琐", "utilities", "normal", "CITY-GD", "confirmed", 70, None, 3),
    ("项目配套宿舍用地未落实", "land", "normal", None, "pending", 2, None, None),
]
PROGRESS = "已现场踏勘，召集相关科室会商，正在按程序办理。"
RESOLVED = "已按企业诉求办结，相关批复/手续已送达企业。"
CONFIRMED = "回访企业，企业对办理结果表示认可。"


def _contacts(demo: Demo, departments: dict[str, Department]) -> int:
    existing = {u.username for u in db.session.query(User.username)}
    password = None
    added = 0
    for username, name, code in CONTACTS:
        if username not in existing:
            from crm.demo.people import DEMO_PASSWORD

            password = password or hash_password(DEMO_PASSWORD)
            user = User(username=username, display_name=name, role=Role.DEPARTMENT.value, password_hash=password,
                        department_id=departments[code].id, password_changed_at=demo.now,
                        email=f"{username}@demo.ankang.invalid")
            db.session.add(user)
            demo.users[username] = user
            added += 1
    db.session.flush()
    return added


def build_problems(demo: Demo) -> dict:
    load_reference_departments(commit=False)
    departments = {d.code: d for d in db.session.query(Department)}
    added_users = _contacts(demo, departments)
    projects = sorted((p for p in demo.projects if p.stage in (Stage.SIGNED, Stage.STARTED)
                       and p.deleted_at is None), key=lambda p: (p.signed_on or demo.today, p.id))
    # Counties with county departments of their own come first, so "{county}" problems have somewhere to go.
    with_own = {d.county_id for d in departments.values() if d.county_id}
    projects.sort(key=lambda p: p.county_id not in with_own)
    city_staff, leader = demo.users.get("city"), demo.users.get("leader")
    count = 0
    for n, (title, category, severity, dept_code, status, ago, late, rating) in enumerate(PROBLEMS):
        if not projects:
            break
        project = projects[n % len(projects)]
        county = demo.county(project.county_id)
        if dept_code and "{county}" in dept_code:
            dept_code = dept_code.format(county=county.code)
            if dept_code not in departments:
                dept_code = "CITY-ZJ" if dept_code.endswith("-ZJ") else "CITY-RS" if dept_code.endswith("-RS") \
                    else "CITY-ZRZY"
        department = departments.get(dept_code) if dept_code else None
        raised_by = demo.users.get(_county_user(county.code)) or city_staff
        raised = demo.at(-ago, 10)
        days = {"normal": 30, "pressing": 15, "urgent": 7}[severity]
        deadline = demo.today - timedelta(days=late) if late else demo.on(days - ago)
        if status in ("pending", "in_progress") and not late and deadline <= demo.today:
            deadline = demo.today + timedelta(days=3)
        problem = Problem(project_id=project.id, county_id=project.county_id, title=title, category=category,
                          severity=severity, status=status, deadline_on=deadline, raised_by_id=raised_by.id,
                          raised_at=raised, department_id=department.id if department else None,
                          detail=f"{project.name}：{title}，企业希望尽快协调解决。", created_at=raised, updated_at=raised,
                          escalation_level=(2 if late and late >= 7 else 1) if late else 0)
        db.session.add(problem)
        _history(demo, problem, department, raised_by, city_staff, leader, raised, late, rating)
        count += 1
    db.session.flush()
    return {"problems": count, "department_contacts": added_users}


def _county_user(code: str) -> str:
    from crm.demo.people import COUNTY_USERNAMES

    return COUNTY_USERNAMES.get(code, "")


def _history(demo: Demo, problem: Problem, department, raised_by, city_staff, leader, raised, late, rating) -> None:
    contact = next((u for u in demo.users.values() if u.role == Role.DEPARTMENT and department is not None
                    and u.department_id == department.id), None)
    handler = contact or city_staff
    entries = [ProblemEntry(kind="raised", actor_id=raised_by.id, at=raised, text=problem.detail, to_status="pending")]
    if department is not None:
        entries.append(ProblemEntry(kind="routed", actor_id=city_staff.id, at=raised + timedelta(hours=3),
                                    department_id=department.id, text="请按时限办理并反馈。"))
    step = raised + timedelta(days=2)
    if problem.status != "pending":
        entries.append(ProblemEntry(kind="progress", actor_id=handler.id, at=step, text=PROGRESS,
                                    from_status="pending", to_status="in_progress"))
    if late:
        deadline_at = demo.at((problem.deadline_on - demo.today).days + 1, 8)
        entries.append(ProblemEntry(kind="escalated", at=deadline_at, text=f"已逾期，已提请{demo.county(problem.county_id).name}负责同志督办。"))
        if late >= 7:
            entries.append(ProblemEntry(kind="escalated", at=deadline_at + timedelta(days=7),
                                        text="逾期超过 7 天，已提请市级督办。"))
            entries.append(ProblemEntry(kind="instruction", actor_id=leader.id, at=deadline_at + timedelta(days=7, hours=2),
                                        text="请责任部门本周内拿出解决方案，下次联席会议专题研究。"))
    if problem.status in ("resolved", "confirmed"):
        problem.resolved_at = step + timedelta(days=5)
        entries.append(ProblemEntry(kind="resolved", actor_id=handler.id, at=problem.resolved_at, text=RESOLVED,
                                    from_status="in_progress", to_status="resolved"))
    if problem.status == "confirmed":
        problem.confirmed_at, problem.satisfaction = problem.resolved_at + timedelta(days=3), rating
        entries.append(ProblemEntry(kind="confirmed", actor_id=raised_by.id, at=problem.confirmed_at, text=CONFIRMED,
                                    satisfaction=rating, from_status="resolved", to_status="confirmed"))
    last = max(e.at for e in entries)
    problem.updated_at = min(last, demo.now)
    for entry in entries:
        entry.at = min(entry.at, demo.now - timedelta(minutes=5))
        problem.entries.append(entry)

