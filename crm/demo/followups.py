"""The small demo city's follow-ups (跟进任务) in every state — overdue, due today, this week, later, done,
cancelled, in a county's inbox, handed off by the city — and a few unread notifications about them."""
from __future__ import annotations

from datetime import datetime, timedelta

from crm.demo.activity import log_interaction
from crm.demo.context import TZ, Demo
from crm.extensions import db
from crm.models import Followup, FollowupStatus, Handoff, InteractionKind, Lead, Notification, Priority, User

TITLES = ["回访{name}，了解投资意向进展", "邀请{name}来安康实地考察", "跟进{name}投资协议条款", "向{name}寄送招商政策汇编",
          "约{name}商谈项目用地", "节前走访慰问{name}", "协调{name}项目环评和能评手续", "核实{name}到位资金凭证"]
OUTCOMES = ["已电话沟通，企业下月来安康考察", "企业已提交项目建议书", "已走访，企业对园区配套满意", "协议条款基本达成一致",
            "已核实到位资金凭证，录入台账"]
PRIORITIES = {Priority.HIGH: 2, Priority.NORMAL: 6, Priority.LOW: 2}
RETURN_REASON = "该企业已由高新区首报首谈，建议由高新区继续跟进。"


class _Builder:
    def __init__(self, demo: Demo):
        self.demo, self.rng, self.made = demo, demo.rng, []
        self.results: list[tuple[Followup, object]] = []  # (done follow-up, the interaction it logged)

    def targets(self, county_id: int) -> tuple[list[Lead], list]:
        leads = [lead for lead in self.demo.leads if lead.owner_county_id == county_id] or self.demo.leads
        return leads, [p for p in self.demo.projects if p.county_id == county_id]

    def add(self, county_id: int, due: datetime, *, assignee: User | None, by: User, **fields) -> Followup:
        rng = self.rng
        leads, projects = self.targets(county_id)
        on_project = projects and rng.random() < 0.2
        target = rng.choice(projects) if on_project else rng.choice(leads)
        created = min(due - timedelta(days=rng.randint(1, 20)), self.demo.now - timedelta(hours=1))
        fu = Followup(lead_id=None if on_project else target.id, project_id=target.id if on_project else None,
                      title=rng.choice(TITLES).format(name=target.name), due_at=due,
                      priority=rng.choices(list(PRIORITIES), weights=list(PRIORITIES.values()))[0],
                      assignee_id=assignee.id if assignee else None, county_id=county_id, assigned_by_id=by.id,
                      created_at=created, updated_at=created, **fields)
        db.session.add(fu)
        self.made.append(fu)
        return fu

    def week_day(self) -> int | None:
        """Days ahead that are still this week (before next Monday); none on a Sunday."""
        ahead = 6 - self.demo.today.weekday()
        return self.rng.randint(1, ahead) if ahead >= 1 else None

    def finish(self, fu: Followup, user: User, done: datetime) -> None:
        """Done as complete_followup does it: an outcome, and the contact logged as an interaction."""
        demo = self.demo
        fu.status, fu.outcome = FollowupStatus.DONE, self.rng.choice(OUTCOMES)
        fu.completed_at, fu.completed_by_id = done, user.id
        lead = next((lead for lead in demo.leads if lead.id == fu.lead_id), None)
        project = next((p for p in demo.projects if p.id == fu.project_id), None)
        result = log_interaction(demo, lead, self.rng.choice((InteractionKind.CALL, InteractionKind.REVISIT)),
                                 done, user, project=project, summary=fu.title, outcome=fu.outcome)
        self.results.append((fu, result))

    def person(self, user: User) -> None:
        demo, rng = self.demo, self.rng
        county = user.county_id
        for _ in range(2):
            self.add(county, demo.at(-rng.randint(1, 20), rng.choice((10, 15, 17))), assignee=user, by=user)
        for _ in range(2 if user.username in ("hanbin", "ziyang", "city") else 1):
            self.add(county, demo.later_today(rng.choice((11, 15, 17))), assignee=user, by=user)
        for _ in range(2):
            ahead = self.week_day()
            self.add(county, demo.at(ahead if ahead else rng.randint(8, 12), 10), assignee=user, by=user)
        for _ in range(2):
            self.add(county, demo.at(rng.randint(8, 45), rng.choice((9, 14))), assignee=user, by=user)
        for _ in range(3):
            due = demo.at(-rng.randint(3, 90), 17)
            done = min(due + timedelta(hours=rng.randint(-48, 72)), demo.now - timedelta(hours=1))
            self.finish(self.add(county, due, assignee=user, by=user), user, done)
        due = demo.at(-rng.randint(2, 40), 10)
        self.add(county, due, assignee=user, by=user, status=FollowupStatus.CANCELLED,
                 outcome="企业暂缓投资计划，取消本次跟进", completed_at=min(due, demo.now), completed_by_id=user.id)

    def handoffs(self) -> None:
        """The city hands follow-ups to counties: some waiting, some accepted, one returned."""
        demo, rng = self.demo, self.rng
        city, users = demo.users["city"], demo.users
        for username in ("hanbin", "ziyang", "gaoxin"):
            self.add(users[username].county_id, demo.at(rng.randint(2, 10), 17), assignee=None, by=city,
                     handoff=Handoff.PENDING)
        self.add(users["ziyang"].county_id, demo.at(rng.randint(3, 20), 10), assignee=users["ziyang"], by=city,
                 handoff=Handoff.ACCEPTED)
        self.add(users["xunyang"].county_id, demo.at(rng.randint(3, 20), 10), assignee=None, by=city,
                 handoff=Handoff.ACCEPTED)
        returned = self.add(users["hanbin"].county_id, demo.at(rng.randint(2, 6), 17), assignee=None, by=city,
                            handoff=Handoff.RETURNED, return_reason=RETURN_REASON)
        returned.county_id = city.county_id  # a returned follow-up goes back to whoever handed it over
        hanbin = users["hanbin"]
        self.finish(self.add(hanbin.county_id, demo.at(-4, 17), assignee=hanbin, by=city), hanbin, demo.at(-5, 16))

    def inboxes(self) -> None:
        demo, rng = self.demo, self.rng
        for county in demo.real_counties:
            staff = demo.staff_of(county)
            for _ in range(2 if len(staff) > 1 else 1):
                self.add(county.id, demo.at(rng.choice((-3, 2, 9, 21)), 10), assignee=None, by=staff[0])


def build_followups(demo: Demo) -> dict:
    builder = _Builder(demo)
    staff = [u for u in demo.users.values() if u.role in ("county_staff", "city_staff")]
    for user in staff:
        builder.person(user)
    builder.inboxes()
    builder.handoffs()
    db.session.flush()
    for fu, result in builder.results:
        fu.result_interaction_id = result.id
    demo.followups = builder.made
    return {"followups": len(builder.made)}


def _due(fu: Followup) -> str:
    return fu.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def build_notifications(demo: Demo) -> dict:
    """A few unread messages, as the follow-up service and the scheduler would have planned them."""
    made = 0
    now = demo.now

    def note(user: User, kind: str, fu: Followup, title: str, body: str, hours_ago: int) -> None:
        nonlocal made
        db.session.add(Notification(user_id=user.id, kind=kind, title=title[:200], body=body,
                                    link=f"/followups/{fu.id}", dedupe_key=f"demo:{kind}:{fu.id}",
                                    created_at=now - timedelta(hours=hours_ago)))
        made += 1

    open_items = [f for f in demo.followups if f.status == FollowupStatus.OPEN]
    for username in ("hanbin", "hanbin2", "ziyang", "city", "city2"):
        user = demo.users[username]
        mine = [f for f in open_items if f.assignee_id == user.id]
        overdue = [f for f in mine if f.due_at < now]
        upcoming = [f for f in mine if f.due_at >= now]
        for fu in overdue[:1]:
            note(user, "overdue", fu, f"已逾期：{fu.title}", f"原定 {_due(fu)} 完成。", 3)
        for fu in upcoming[:1]:
            note(user, "due_soon", fu, f"即将到期：{fu.title}", f"截止 {_due(fu)}。", 2)
        for fu in upcoming[-1:]:
            note(user, "assigned", fu, f"新的跟进任务：{fu.title}", f"截止 {_due(fu)}。", 26)
    for fu in open_items:
        if fu.handoff == Handoff.PENDING:
            for user in demo.staff_of(demo.county(fu.county_id)):
                note(user, "handoff", fu, f"市局移交到本县区：{fu.title}", f"截止 {_due(fu)}。", 5)
        if fu.handoff == Handoff.RETURNED:
            note(demo.users["city"], "returned", fu, f"被县区退回：{fu.title}", fu.return_reason or "", 4)
    done = [f for f in demo.followups if f.status == FollowupStatus.DONE and f.assigned_by_id != f.assignee_id]
    for fu in done[:1]:
        note(demo.users["city"], "completed", fu, f"跟进已完成：{fu.title}", fu.outcome or "", 30)
    return {"notifications": made}
