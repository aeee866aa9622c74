"""The demo city: idempotent, deterministic, every kind/state/stage present, identifiers and derived keys as the
services would write them, dates relative to the day it is seeded. One seeding serves the whole module."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm import create_app
from crm.demo import bulk, names
from crm.extensions import db
from crm.models import (
    Contact,
    Event,
    Followup,
    FollowupStatus,
    FundsArrival,
    Handoff,
    Interaction,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadKind,
    LeadStatus,
    LeadTag,
    Notification,
    Project,
    Stage,
    StageChange,
    Target,
    Trip,
    User,
    event_leads,
    project_leads,
)
from crm.services import identity
from crm.services.demo import DEMO_PASSWORD, demo_logins, seed_demo
from crm.services.followups import BUCKETS, bucket_of
from crm.services.passwords import verify_password
from tests.conftest import _empty_tables, base_config

NOW = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Ankang
TODAY = date(2027, 3, 10)
COUNTED = [Lead, Contact, Interaction, Trip, Followup, Project, StageChange, FundsArrival, Event, Target,
           Notification, User]


def _fresh(app) -> None:
    _empty_tables(app)
    with app.app_context():
        from crm.services.counties import load_reference_counties
        from crm.services.industries import load_reference_industries

        load_reference_counties()
        load_reference_industries()


SMALL_STEPS: list[str] = []  # what seeding the module's city reported as it went


@pytest.fixture(scope="module")
def city(database_url, tmp_path_factory):
    """An app whose database holds the small demo city seeded at NOW (emptied again after the module)."""
    app = create_app(base_config(database_url, str(tmp_path_factory.mktemp("demo"))))
    _fresh(app)
    SMALL_STEPS.clear()
    with app.app_context():
        seed_demo("small", now=NOW, progress=SMALL_STEPS.append)
    yield app
    _empty_tables(app)
    with app.app_context():
        db.engine.dispose()


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def lead_names() -> list[str]:
    return list(db.session.scalars(select(Lead.name).order_by(Lead.id)))


def test_seed_demo_twice_adds_nothing_the_second_time(city):
    with city.app_context():
        before = counts()
        result = seed_demo("small", now=NOW + timedelta(days=3))
        assert counts() == before
    assert result == {"users": 0}
    assert before["Lead"] >= 380 and before["Interaction"] >= 700 and before["Project"] >= 100


def test_seed_demo_small_reports_each_part_of_the_city_as_it_goes(city):
    assert [line.strip() for line in SMALL_STEPS] == [
        f"small city: {part}" for part in ("leads", "trips", "interactions", "events", "projects", "commitments",
                                           "followups", "targets", "verification", "notifications", "problems")]


def test_seed_demo_small_has_every_lead_kind_with_realistic_fields(city):
    with city.app_context():
        leads = list(db.session.scalars(select(Lead)))
        kinds = Counter(lead.kind for lead in leads)
        assert set(kinds) == set(LeadKind)
        assert kinds[LeadKind.ENTERPRISE] == max(kinds.values())
        assert set(LeadStatus) == {lead.status for lead in leads}
        names_ = {lead.name for lead in leads}
        assert {"深圳安康商会", "西安安康商会", "北京陕西企业商会"} <= names_
        hometown = [lead for lead in leads if lead.kind == LeadKind.HOMETOWN_ENTREPRENEUR]
        assert all(lead.home_county_id and lead.origin_region for lead in hometown)
        assert {"北京", "深圳", "苏州", "上海", "杭州"} <= {lead.origin_region for lead in hometown}
        foreign_regions = {lead.origin_region for lead in leads if lead.kind == LeadKind.FOREIGN_INVESTOR}
        assert {"香港", "新加坡", "韩国", "德国"} <= foreign_regions
        referred = [lead for lead in leads if lead.referrer_id]
        by_id = {lead.id: lead for lead in leads}
        assert len(referred) > 30
        channel = {"chamber": "chamber", "adviser": "adviser", "hometown_entrepreneur": "hometown",
                   "intermediary": "intermediary"}
        assert all(channel[by_id[lead.referrer_id].kind] == lead.source_channel for lead in referred)
        assert all(lead.owner_id and lead.owner_county_id for lead in leads)
        # No demo firm is another's duplicate. (Chambers are left out: normalise_company_name strips both
        # regions of 深圳安康商会, so every 异地商会 reduces to "商会".)
        firms = [lead for lead in leads if lead.kind != LeadKind.CHAMBER]
        assert len({lead.name_key for lead in firms}) == len(firms)
        assert {"茶", "富硒", "龙头企业", "上市公司", "500强", "乡贤"} <= set(db.session.scalars(select(LeadTag.tag)))


def test_seed_demo_usccs_are_valid_and_derived_keys_match_the_identity_rules(city):
    with city.app_context():
        leads = list(db.session.scalars(select(Lead)))
        usccs = [lead.uscc for lead in leads if lead.uscc]
        assert len(usccs) > 100
        assert all(identity.uscc_is_valid(code) for code in usccs)
        for lead in leads:
            person = lead.kind in (LeadKind.ADVISER, LeadKind.HOMETOWN_ENTREPRENEUR)
            assert lead.name_key == identity.normalise_company_name(lead.name)
            assert (lead.pinyin_full, lead.pinyin_initials) == identity.pinyin_keys(lead.name, person=person)
        contacts = list(db.session.scalars(select(Contact)))
        assert all(c.mobile_key == identity.normalise_mobile(c.mobile) for c in contacts)
        assert sum(1 for c in contacts if c.mobile_key) > len(contacts) // 2
        assert any(c.mobile and not c.mobile_key for c in contacts)  # foreign numbers stay unkeyed
        assert {"董事长", "总经理", "投资总监", "会长", "秘书长"} <= {c.title for c in contacts}
        per_lead = Counter(c.lead_id for c in contacts)
        assert set(per_lead.values()) <= {1, 2, 3} and len(per_lead) == len(leads)
        assert any(c.wechat for c in contacts) and any(c.email for c in contacts)


def test_seed_demo_interactions_cover_every_kind_and_match_their_leads(city):
    with city.app_context():
        items = list(db.session.scalars(select(Interaction)))
        assert {i.kind for i in items} == set(InteractionKind)
        assert all(i.occurred_at <= NOW for i in items)
        assert min(i.occurred_at for i in items) < NOW - timedelta(days=365)
        users = {u.id: u for u in db.session.scalars(select(User))}
        assert all(i.county_id == users[i.created_by_id].county_id for i in items)
        assert all(i.participants for i in items)
        visits = [i for i in items if i.kind == InteractionKind.VISIT and i.trip_id]
        assert {LeaderLevel.CITY, LeaderLevel.COUNTY} <= {i.leader_level for i in visits}
        assert any(i.leader_name and "市长" in i.leader_name for i in visits)
        assert all(i.visitor_count > 0 for i in items if i.kind == InteractionKind.RECEPTION)
        trips = list(db.session.scalars(select(Trip)))
        assert any(t.title.startswith("北京·廊坊·雄安") for t in trips)
        assert all(t.starts_on <= t.ends_on and t.participants for t in trips)
        latest: dict[int, datetime] = {}
        for i in items:
            if i.lead_id:
                latest[i.lead_id] = max(latest.get(i.lead_id, i.occurred_at), i.occurred_at)
        for lead in db.session.scalars(select(Lead)):
            assert lead.last_contacted_at == latest.get(lead.id)
            assert lead.id not in latest or lead.created_at <= min(
                i.occurred_at for i in items if i.lead_id == lead.id)


def test_seed_demo_followups_are_in_every_state_and_bucket_relative_to_now(city):
    with city.app_context():
        items = list(db.session.scalars(select(Followup)))
        open_ = [f for f in items if f.status == FollowupStatus.OPEN]
        assert {bucket_of(f, NOW) for f in open_} == set(BUCKETS)
        hanbin = db.session.scalar(select(User).where(User.username == "hanbin"))
        assert {bucket_of(f, NOW) for f in open_ if f.assignee_id == hanbin.id} == set(BUCKETS)
        city_staff = db.session.scalar(select(User).where(User.username == "city"))
        assert {bucket_of(f, NOW) for f in open_ if f.assignee_id == city_staff.id} == set(BUCKETS)
        done = [f for f in items if f.status == FollowupStatus.DONE]
        assert done and all(f.outcome and f.completed_at and f.result_interaction_id for f in done)
        assert any(f.status == FollowupStatus.CANCELLED for f in items)
        inbox = [f for f in open_ if f.assignee_id is None and f.handoff == Handoff.NONE]
        assert inbox and all(f.county_id for f in inbox)
        assert {Handoff.PENDING, Handoff.ACCEPTED, Handoff.RETURNED} <= {f.handoff for f in items}
        returned = next(f for f in items if f.handoff == Handoff.RETURNED)
        assert returned.return_reason and returned.county_id == city_staff.county_id
        assert any(f.project_id for f in items) and all(f.lead_id or f.project_id for f in items)


def test_seed_demo_projects_cover_every_stage_with_consistent_history(city):
    with city.app_context():
        projects = list(db.session.scalars(select(Project)))
        assert {p.stage for p in projects} == set(Stage)
        for p in projects:
            changes = sorted(p.stage_changes, key=lambda c: c.id)
            assert changes[0].from_stage is None and changes[-1].to_stage == p.stage
            assert all(a.to_stage == b.from_stage for a, b in zip(changes, changes[1:], strict=False))
            assert [c.changed_on for c in changes] == sorted(c.changed_on for c in changes)
            on = {c.to_stage: c.changed_on for c in changes}
            assert on.get(Stage.SIGNED) == p.signed_on and on.get(Stage.STARTED) == p.started_on
            assert all(c.changed_on <= TODAY for c in changes)
            assert p.leads
        big = [p.investment_total >= threshold for threshold in (10_000, 50_000, 100_000) for p in projects]
        n = len(projects)
        share = [sum(big[i * n:(i + 1) * n]) / n for i in range(3)]
        assert 0.43 <= share[0] <= 0.49 and 0.06 <= share[1] <= 0.10 and 0.02 <= share[2] <= 0.045
        assert any(p.is_foreign for p in projects) and any(p.event_id for p in projects)
        assert {"hometown", "chamber", "event"} <= {p.source_channel for p in projects}
        assert any(p.referrer_id for p in projects)
        assert db.session.scalar(select(func.count()).select_from(project_leads)) >= n
        for p in projects:
            if p.stage in (Stage.SIGNED, Stage.STARTED, Stage.OPERATING):
                assert LeadStatus.SIGNED in {lead.status for lead in p.leads}


def test_seed_demo_obeys_the_funds_investment_and_target_rules(city):
    """What the demo writes directly must pass what crm.services.funds / projects / targets would check."""
    from crm.services import funds as funds_rules
    from crm.services import targets as target_rules
    from crm.services.projects import MAX_INVESTMENT_TOTAL

    with city.app_context():
        rate = funds_rules.usd_cny_rate()
        rows = list(db.session.scalars(select(FundsArrival)))
        assert all(f.amount <= funds_rules.MAX_FUNDS_ARRIVAL for f in rows)
        assert all(f.foreign_amount is None or f.foreign_amount * rate <= f.amount for f in rows)
        assert all(f.project.stage in funds_rules.FUNDED_STAGES or f.project.is_continuing for f in rows)
        assert all(f.withdrawn_at is None for f in rows)
        assert all(p.investment_total <= MAX_INVESTMENT_TOTAL for p in db.session.scalars(select(Project)))
        assert all(t.value <= target_rules.ceiling(t.metric) for t in db.session.scalars(select(Target)))


def test_seed_demo_funds_events_and_targets_feed_the_reports(city):
    with city.app_context():
        funds = list(db.session.scalars(select(FundsArrival)))
        assert {f.arrived_on.year for f in funds} == {TODAY.year - 1, TODAY.year}
        assert all(f.arrived_on <= TODAY and f.arrived_on >= f.project.signed_on for f in funds)
        assert sum(f.out_of_province for f in funds) > len(funds) * 0.7
        assert all((f.foreign_amount is not None) == f.project.is_foreign for f in funds)
        assert any(f.foreign_amount for f in funds)
        per_project = defaultdict(Decimal)
        for f in funds:
            per_project[f.project_id] += f.amount
        assert all(total <= db.session.get(Project, pid).investment_total for pid, total in per_project.items())
        events = list(db.session.scalars(select(Event)))
        assert {"深圳", "北京", "西安", "苏州"} <= {e.city for e in events}
        assert any(e.held_on > TODAY for e in events)
        assert db.session.scalar(select(func.count()).select_from(event_leads).where(event_leads.c.attended))
        targets = list(db.session.scalars(select(Target).where(Target.year == TODAY.year)))
        metrics = {"signed_count", "signed_investment", "funds_in_place", "out_of_province_funds",
                   "foreign_enterprises", "foreign_capital"}
        assert {t.metric for t in targets} == metrics
        city_wide = {t.metric: t.value for t in targets if t.county_id is None}
        assert set(city_wide) == metrics and all(t.county_key == 0 for t in targets if t.county_id is None)
        for metric in metrics:
            assert city_wide[metric] == sum(t.value for t in targets if t.county_id and t.metric == metric) > 0
        assert len({t.county_id for t in targets if t.county_id}) == 12


def test_demo_commitments_on_signed_projects_with_actuals_some_slipped(city):
    """Issue 15 item 2: every signed project carries both sides' commitments; some kept, some slipped, and the
    operating ones have their production date."""
    from crm.models import Commitment, CommitmentActual
    from crm.services import commitments, landing_warnings, project_health

    with city.test_request_context():
        rows = db.session.scalars(select(Commitment)).all()
        signed = {p.id for p in db.session.scalars(select(Project).where(
            Project.stage.in_(["signed", "started", "operating"])))}
        covered = {c.project_id for c in rows}
        # every signed project but the one the verification step signs again in another county (a 撞单 to decide)
        from crm.services import verification
        again = {pid for pid in signed - covered if verification.suspected_duplicates(db.session.get(Project, pid))}
        assert rows and covered <= signed and signed - covered == again and len(again) <= 1
        assert {c.side for c in rows} == {"investor", "government"}
        assert all(c.due_on >= c.project.signed_on for c in rows)
        assert db.session.scalar(select(func.count()).select_from(CommitmentActual)) > 0
        assert not db.session.scalars(select(CommitmentActual).where(CommitmentActual.recorded_on >= TODAY)).all()
        slipped = commitments.slipped_by_project(signed, TODAY)
        assert 0 < len(slipped) < len(signed)
        assert all(p.producing_on for p in db.session.scalars(select(Project).where(Project.stage == "operating")))
        counts = project_health.colour_counts(NOW)
        assert all(counts.values()), counts
        assert sum(landing_warnings.counts(NOW).values()) > 0


def test_seed_demo_notifications_are_unread_and_deduplicated(city):
    with city.app_context():
        notes = list(db.session.scalars(select(Notification)))
        assert notes and all(n.read_at is None for n in notes)
        assert len({(n.user_id, n.dedupe_key) for n in notes}) == len(notes)
        users = {u.id: u.username for u in db.session.scalars(select(User))}
        assert {"hanbin", "ziyang", "city"} <= {users[n.user_id] for n in notes}


def test_demo_logins_name_existing_accounts_with_the_demo_password(city):
    with city.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        listed = [username for username, _pw, _what in demo_logins() if username in users]
        assert {"admin", "city", "city2", "leader", "hanbin", "ziyang"} <= set(listed)
        assert all(verify_password(users[u].password_hash, DEMO_PASSWORD) for u in listed)
        assert users["hanbin"].county.name == "汉滨区" and users["leader"].role == "viewer"
    result = city.test_cli_runner().invoke(args=["crm", "demo-logins"])
    assert result.exit_code == 0 and "hanbin" in result.output and DEMO_PASSWORD in result.output


def test_seed_demo_command_reports_what_it_added(city):
    result = city.test_cli_runner().invoke(args=["crm", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "users +0" in result.output and "leads" not in result.output


def test_fast_pinyin_gives_the_keys_of_the_identity_rules():
    rng, fast = random.Random(7), bulk.FastPinyin()
    for _ in range(3000):
        trade = names.trade_name(rng) + rng.choice(names.TRADE_CHARS)
        region = rng.choice(list(names.REGIONS))
        name = rng.choice([names.company_name(rng, region, rng.choice(list(names.INDUSTRY_WORDS)), trade),
                           names.foreign_name(rng, rng.choice(list(names.FOREIGN_REGIONS)), trade),
                           names.intermediary_name(rng, region, trade)])
        assert fast.keys(name) == identity.pinyin_keys(name), name


def test_seed_demo_large_adds_bulk_leads_up_to_the_total_once(city):
    with city.app_context():
        small = db.session.scalar(select(func.count()).select_from(Lead))
        progress: list[str] = []
        result = seed_demo("large", now=NOW, leads=small + 300, progress=progress.append)
        assert result["leads"] == 300 and result["contacts"] >= 300 and result["interactions"] > 200
        assert db.session.scalar(select(func.count()).select_from(Lead)) == small + 300
        assert progress[-1].strip() == "300 / 300 leads"
        again = seed_demo("large", now=NOW, leads=small + 600)
        assert again == {"users": 0}
        bulk_leads = list(db.session.scalars(select(Lead).order_by(Lead.id.desc()).limit(300)))
        for lead in bulk_leads:
            person = lead.kind == LeadKind.HOMETOWN_ENTREPRENEUR
            assert lead.name_key == identity.normalise_company_name(lead.name)
            assert (lead.pinyin_full, lead.pinyin_initials) == identity.pinyin_keys(lead.name, person=person)
            assert lead.uscc is None or identity.uscc_is_valid(lead.uscc)
        last = dict(db.session.execute(select(Interaction.lead_id, func.max(Interaction.occurred_at))
                                       .where(Interaction.lead_id.in_([lead.id for lead in bulk_leads]))
                                       .group_by(Interaction.lead_id)).all())
        assert all(lead.last_contacted_at == last.get(lead.id) for lead in bulk_leads)
        # The ids handed out in bulk leave the sequences (PostgreSQL) ready for the next ordinary insert.
        later = Lead(name="后来新增客商有限公司", owner_county_id=bulk_leads[0].owner_county_id)
        db.session.add(later)
        db.session.flush()
        db.session.add(Interaction(lead_id=later.id, kind="call", occurred_at=NOW))
        db.session.flush()
        assert later.id > max(lead.id for lead in bulk_leads)
        db.session.rollback()


def test_seed_demo_verifies_its_older_results_and_queues_recent_ones(city):
    """认定 (issue 15): older signings and funds are verified with evidence by city2; recent ones wait (one
    returned), one signing registered again by another county is a suspected 撞单; the figures count the verified."""
    from crm.models import EvidenceAttachment, Verification
    from crm.services import attachments, reports, verification, verification_queue

    with city.app_context():
        assert db.session.scalar(select(User).where(User.username == "city2")).can_verify
        states = Counter(db.session.scalars(select(Verification.status)))
        assert states["verified"] >= 20 and states["returned"] == 1
        queue = verification_queue.pending_counts()
        assert queue["signing"] >= 3 and queue["funds"] >= 1
        suspects = [p for p in db.session.scalars(select(Project)) if verification.suspected_duplicates(p)]
        assert len(suspects) == 2  # the original and the one signed again, each pointing at the other
        first = db.session.scalar(select(EvidenceAttachment))
        assert attachments.stored_path(first).read_bytes().startswith(b"%PDF-")
        city.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
        try:
            gated = reports.annual_report(TODAY.year - 1)
        finally:
            city.config["REPORTS_COUNT_VERIFIED_ONLY"] = False
        # last year's signings: the older ones verified and counted, the recent ones (under 90 days) pending
        everything = reports.annual_report(TODAY.year - 1)["signed_projects"]["count"]
        assert 0 < gated["signed_projects"]["count"] <= everything
        assert gated["signed_projects"]["count"] + gated["pending"]["signed_projects"]["count"] == everything


def test_the_demo_city_has_problems_in_every_state_and_department_contacts(city):
    from crm.models import Problem, ProblemEntry

    with city.app_context():
        items = list(db.session.scalars(select(Problem)))
        assert {p.status for p in items} == {"pending", "in_progress", "resolved", "confirmed"}
        today = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()
        assert any(p.status in ("pending", "in_progress") and p.deadline_on < today for p in items)  # overdue
        assert all(1 <= p.satisfaction <= 5 for p in items if p.status == "confirmed")
        assert len({p.county_id for p in items}) >= 3 and len({p.department_id for p in items}) >= 5
        kinds = set(db.session.scalars(select(ProblemEntry.kind)))
        assert {"raised", "routed", "progress", "resolved", "confirmed", "escalated", "instruction"} <= kinds
        contacts = {u.username: u for u in db.session.scalars(select(User).where(User.role == "department"))}
        assert set(contacts) == {"zrzy", "gongdian"} and all(u.department_id for u in contacts.values())


def test_seed_demo_is_deterministic_across_fresh_databases_and_days(city):
    """Runs last: it reseeds the module's database late on a Saturday evening; the names repeat, and the
    follow-ups still fall in every bucket of that evening (today's are still ahead)."""
    with city.app_context():
        first = lead_names()
        first_projects = list(db.session.scalars(select(Project.name).order_by(Project.id)))
    late_saturday = datetime(2027, 4, 17, 15, 30, tzinfo=UTC)  # 23:30 in Ankang
    _fresh(city)
    with city.app_context():
        seed_demo("small", now=late_saturday)
        again = lead_names()
        assert len(again) >= 380 and again == first[:len(again)]
        assert list(db.session.scalars(select(Project.name).order_by(Project.id))) == first_projects
        open_ = db.session.scalars(select(Followup).where(Followup.status == FollowupStatus.OPEN))
        assert {bucket_of(f, late_saturday) for f in open_} == set(BUCKETS)
