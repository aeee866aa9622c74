"""Holiday outreach rules: settings and templates, target selection, idempotent campaigns (across restarts and
racing sessions), split by owner, exactly-once reminders, marking items (interaction on the lead), follow-ups
from replies, the digest list, progress and the permission matrix."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm import create_app
from crm.extensions import db
from crm.models import (
    Campaign,
    Followup,
    HolidaySetting,
    Interaction,
    Lead,
    LeadTag,
    Notification,
    OutreachItem,
    Role,
    User,
)
from crm.services import outreach
from crm.services.counties import county_by_code
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import base_config

# 2027-01-28 08:00 in Ankang: 春节 2027 is 02-06, so its 10-day reminder window opened on 01-27.
NOW = datetime(2027, 1, 28, 0, 0, tzinfo=UTC)
COVERED_ACTIONS = {"outreach.configure", "outreach.manage", "outreach.view", "outreach.work", "outreach.progress"}


def make_lead(app, county_code="610902", **extra) -> int:
    tags = extra.pop("tags", [])
    with app.app_context():
        lead = Lead(name=extra.pop("name", "张三"), kind=extra.pop("kind", "hometown_entrepreneur"),
                    owner_county_id=county_by_code(county_code).id, **extra)
        lead.tag_rows = [LeadTag(tag=t) for t in tags]
        db.session.add(lead)
        db.session.commit()
        return lead.id


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def items_of(campaign_id: int) -> dict[int, OutreachItem]:
    return {i.lead_id: i for i in db.session.scalars(db.select(OutreachItem).where(
        OutreachItem.campaign_id == campaign_id))}


def outreach_notes(user_id: int) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.user_id == user_id,
                                                                 Notification.kind == "outreach")))


def spring_festival(app, actor_id=None, filters=None) -> int:
    with app.test_request_context():
        actor = user(actor_id) if actor_id else None
        return outreach.create_campaign(actor, "spring_festival", 2027, filters, now=NOW).id


# --- the permission matrix ------------------------------------------------------------------------------

def _actor(role: str) -> User:
    county = {"county_staff": 1, "city_staff": 100}.get(role)
    return User(id=10, username=role, display_name=role, role=role, county_id=county, is_active_user=True,
                password_hash="!")


ITEMS = {"mine": dict(assignee_id=10, county_id=1), "colleague": dict(assignee_id=11, county_id=1),
         "inbox": dict(assignee_id=None, county_id=1), "other_county": dict(assignee_id=30, county_id=2)}
ALL = {"admin", "city_staff", "county_staff", "viewer"}
CITY = {"admin", "city_staff"}
MATRIX = {
    ("outreach.configure", None): {"admin"},
    ("outreach.manage", None): CITY,
    ("outreach.view", "mine"): ALL, ("outreach.view", "colleague"): ALL, ("outreach.view", "inbox"): ALL,
    ("outreach.view", "other_county"): CITY | {"viewer"},
    ("outreach.work", "mine"): CITY | {"county_staff"}, ("outreach.work", "colleague"): CITY | {"county_staff"},
    ("outreach.work", "inbox"): CITY | {"county_staff"}, ("outreach.work", "other_county"): CITY,
    ("outreach.progress", None): CITY | {"viewer"}, ("outreach.progress", 1): ALL,
    ("outreach.progress", 2): CITY | {"viewer"},
}


@pytest.mark.parametrize("action,target", sorted(MATRIX, key=str))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_action_matrix(role, action, target):
    obj = OutreachItem(**ITEMS[target]) if isinstance(target, str) else target
    assert can(_actor(role), action, obj) is (role in MATRIX[(action, target)])


def test_inactive_staff_can_work_nothing():
    gone = _actor("city_staff")
    gone.is_active_user = False
    assert not any(can(gone, a, None) for a in COVERED_ACTIONS)


# --- settings and greeting templates --------------------------------------------------------------------

def test_holiday_settings_default_to_three_enabled_holidays_ten_days_ahead(app):
    with app.app_context():
        settings = {s.key: s for s in outreach.holiday_settings()}
        assert {k for k, s in settings.items() if s.is_enabled} == {"spring_festival", "qingming", "mid_autumn"}
        assert {s.days_before for s in settings.values()} == {10}
        assert db.session.scalar(db.select(db.func.count()).select_from(HolidaySetting)) == 0


def test_update_holiday_setting_by_admin_is_stored_and_audited(app, make_user):
    admin = make_user("admin", None)
    with app.test_request_context():
        outreach.update_holiday_setting(user(admin.id), "dragon_boat", {"is_enabled": True, "days_before": 5,
                                                                        "template": "{name}，{holiday}安康！"}, now=NOW)
        row = outreach.setting_for("dragon_boat")
        assert (row.is_enabled, row.days_before, row.template) == (True, 5, "{name}，{holiday}安康！")


def test_update_holiday_setting_by_city_staff_is_forbidden(app, make_user):
    city = make_user("city_staff", None)
    with app.test_request_context(), pytest.raises(PermissionDenied):
        outreach.update_holiday_setting(user(city.id), "qingming", {"is_enabled": False}, now=NOW)


@pytest.mark.parametrize("template", ["{name.__class__}", "{0}", "{name!r}", "{name:>99999}", "{oops", "{lead}"])
def test_update_holiday_setting_with_unsafe_template_is_refused(app, make_user, template):
    admin = make_user("admin", None)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        outreach.update_holiday_setting(user(admin.id), "qingming", {"days_before": 10, "template": template},
                                        now=NOW)
    assert "template" in info.value.errors


def test_update_holiday_setting_with_bad_days_is_refused(app, make_user):
    admin = make_user("admin", None)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        outreach.update_holiday_setting(user(admin.id), "qingming", {"days_before": "0"}, now=NOW)
    assert "days_before" in info.value.errors


def test_render_greeting_fills_placeholders_and_falls_back_on_bad_template(app):
    with app.test_request_context():
        assert outreach.render_greeting("{name}：{year}年{holiday}快乐", name="张三", holiday="春节",
                                        year=2027) == "张三：2027年春节快乐"
        fallback = outreach.render_greeting("{name.__init__.__globals__}", name="张三", holiday="春节", year=2027)
        assert "张三" in fallback and "__globals__" not in fallback


# --- campaigns: targets, idempotence, split by owner ---------------------------------------------------

def test_create_campaign_targets_default_kinds_and_key_investors_only(app, make_user):
    city = make_user("city_staff", None)
    wanted = {make_lead(app, kind="hometown_entrepreneur"), make_lead(app, kind="adviser", name="李顾问"),
              make_lead(app, kind="chamber", name="深圳安康商会"),
              make_lead(app, kind="enterprise", name="重点企业", is_key=True)}
    make_lead(app, kind="enterprise", name="普通企业")
    make_lead(app, kind="intermediary", name="中介")
    make_lead(app, name="已删除乡贤", deleted_at=NOW)
    target = make_lead(app, name="合并目标")
    make_lead(app, name="被合并乡贤", merged_into_id=target)
    wanted.add(target)
    cid = spring_festival(app, city.id)
    with app.app_context():
        assert set(items_of(cid)) == wanted
        campaign = db.session.get(Campaign, cid)
        assert campaign.holiday_date == date(2027, 2, 6) and campaign.remind_days_before == 10
        assert campaign.target_kinds == ["hometown_entrepreneur", "adviser", "chamber"]


def test_create_campaign_with_filters_narrows_targets(app, make_user):
    from crm.services.industries import all_industries

    city = make_user("city_staff", None)
    with app.app_context():
        rows = all_industries()
        parent = next(i for i in rows if i.parent_id is None and any(c.parent_id == i.id for c in rows))
        child = next(i for i in rows if i.parent_id == parent.id)
    hit = make_lead(app, industry_id=child.id, tags=["富硒"], status="engaged")
    make_lead(app, industry_id=child.id, tags=["富硒"], status="engaged", county_code="610924")  # other county
    make_lead(app, industry_id=child.id, tags=["其他"], status="engaged")  # other tag
    make_lead(app, industry_id=child.id, tags=["富硒"], status="dropped")  # other status
    make_lead(app, kind="adviser", industry_id=child.id, tags=["富硒"], status="engaged")  # other kind
    with app.test_request_context():
        hanbin = county_by_code("610902").id
        campaign = outreach.create_campaign(user(city.id), "mid_autumn", 2027, {
            "kinds": ["hometown_entrepreneur"], "include_key": False, "county_id": hanbin,
            "industry_id": parent.id, "tag": "富硒", "statuses": ["engaged"]}, now=NOW)
        assert set(items_of(campaign.id)) == {hit}
        assert campaign.holiday_date == date(2027, 9, 15)


def test_create_campaign_with_bad_input_reports_each_field(app, make_user):
    city = make_user("city_staff", None)
    with app.test_request_context(), pytest.raises(InvalidInput) as info:
        outreach.create_campaign(user(city.id), "easter", 2200, {"kinds": ["pirate"], "county_id": 999999,
                                                                 "tag": "x" * 41}, now=NOW)
    assert {"holiday_key", "year", "kinds", "county_id", "tag"} <= set(info.value.errors)


def test_create_campaign_by_county_staff_is_forbidden(app, make_user):
    staff = make_user("county_staff")
    with app.test_request_context(), pytest.raises(PermissionDenied):
        outreach.create_campaign(user(staff.id), "spring_festival", 2027, None, now=NOW)


def test_create_campaign_twice_returns_the_existing_one(app, make_user):
    city = make_user("city_staff", None)
    make_lead(app)
    first = spring_festival(app, city.id)
    make_lead(app, name="后来的乡贤")
    assert spring_festival(app, city.id) == first
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1
        assert len(items_of(first)) == 1


def test_create_campaign_racing_another_session_returns_its_campaign(app, make_user, monkeypatch):
    """Session B looks, finds nothing, and meanwhile session A commits: the unique key makes B load A's."""
    city = make_user("city_staff", None)
    make_lead(app)
    other = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path))
    real = outreach.existing_campaign
    calls = []

    def look_then_lose_the_race(key, year):
        calls.append(key)
        if len(calls) == 1:  # B's first look: empty; A commits right after it
            db.session.rollback()  # B holds no lock meanwhile (SQLite's BEGIN IMMEDIATE would serialise them)
            with other.test_request_context():
                outreach.create_campaign(None, key, year, None, now=NOW)
                db.session.remove()
            return None
        return real(key, year)

    monkeypatch.setattr(outreach, "existing_campaign", look_then_lose_the_race)
    cid = spring_festival(app, city.id)
    with app.app_context():
        assert [c.id for c in db.session.scalars(db.select(Campaign))] == [cid]
        assert len(items_of(cid)) == 1
    with other.app_context():
        db.engine.dispose()


def test_create_campaign_splits_items_by_owner_and_unowned_go_to_county_inbox(app, make_user):
    city = make_user("city_staff", None)
    liu, zhao = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    gone = make_user("county_staff", "610902", is_active_user=False)
    a = make_lead(app, owner_id=liu.id)
    b = make_lead(app, county_code="610924", owner_id=zhao.id)
    c = make_lead(app)  # unowned
    d = make_lead(app, owner_id=gone.id)  # owner left
    cid = spring_festival(app, city.id)
    with app.app_context():
        items = items_of(cid)
        hanbin, ziyang = county_by_code("610902").id, county_by_code("610924").id
        assert (items[a].assignee_id, items[a].county_id) == (liu.id, hanbin)
        assert (items[b].assignee_id, items[b].county_id) == (zhao.id, ziyang)
        assert (items[c].assignee_id, items[c].county_id) == (None, hanbin)
        assert (items[d].assignee_id, items[d].county_id) == (None, hanbin)


# --- the scheduler's job -------------------------------------------------------------------------------

def test_campaigns_due_only_inside_the_window_of_enabled_holidays(app):
    with app.app_context():
        assert [h.key for h in outreach.campaigns_due(datetime(2027, 1, 27, 0, 0, tzinfo=UTC))] == [
            "spring_festival"]
        assert outreach.campaigns_due(datetime(2027, 1, 26, 0, 0, tzinfo=UTC)) == []  # 11 days before
        assert outreach.campaigns_due(datetime(2027, 2, 6, 0, 0, tzinfo=UTC)) == []  # the day itself
        # 除夕 is not enabled by default although it is inside its window too
        assert "new_years_eve" not in [h.key for h in outreach.campaigns_due(NOW)]


def test_create_due_campaigns_across_restarts_creates_once_and_reminds_each_owner_once(app, make_user):
    liu, colleague = make_user("county_staff", "610902"), make_user("county_staff", "610902")
    zhao = make_user("county_staff", "610924")
    make_lead(app, owner_id=liu.id, name="乡贤甲")
    make_lead(app, owner_id=liu.id, name="乡贤乙", kind="adviser")
    make_lead(app, county_code="610924", owner_id=zhao.id, kind="chamber", name="商会")
    make_lead(app, name="无主乡贤")  # 汉滨 inbox: both Hanbin staff are its coordinators
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    results = []
    for _restart in range(2):  # a fresh app (a restart) each time
        fresh = create_app(base_config(url, app.instance_path))
        with fresh.test_request_context():
            results.append(outreach.create_due_campaigns(NOW))
            db.session.remove()
            db.engine.dispose()
    assert results[0]["created"] == 1 and results[1] == {"created": 0, "reminded": 0}
    with app.test_request_context():
        assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1
        mine = outreach_notes(liu.id)
        assert len(mine) == 1 and mine[0].dedupe_key.startswith("outreach:")
        assert "乡贤甲" in mine[0].body and "乡贤乙" in mine[0].body and "无主乡贤" in mine[0].body
        assert "商会" not in mine[0].body
        assert [n.body for n in outreach_notes(colleague.id)] == ["- 无主乡贤"]
        assert len(outreach_notes(zhao.id)) == 1


def test_create_due_campaigns_reminds_for_a_campaign_made_by_hand(app, make_user):
    city, liu = make_user("city_staff", None), make_user("county_staff", "610902")
    make_lead(app, owner_id=liu.id)
    with app.test_request_context():
        outreach.update_holiday_setting(user(make_user("admin", None).id), "spring_festival",
                                        {"is_enabled": False, "days_before": 10}, now=NOW)
    spring_festival(app, city.id)
    with app.test_request_context():
        assert outreach.create_due_campaigns(NOW) == {"created": 0, "reminded": 1}
        assert len(outreach_notes(liu.id)) == 1


def test_scheduler_table_runs_outreach_daily_at_seven(app):
    from crm import scheduler

    job = scheduler.JOBS_BY_ID["outreach_campaigns"]
    assert str(job.trigger(app.config)) == "cron[hour='7', minute='0']"
    assert scheduler.run_job(app, job, NOW) == {"created": 1, "reminded": 0}  # no leads: nobody to remind
    with app.app_context():
        assert db.session.scalar(db.select(Campaign.holiday_key)) == "spring_festival"


# --- working the list ----------------------------------------------------------------------------------

def test_mark_item_greeted_writes_greeting_interaction_on_lead(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    later = datetime(2027, 2, 1, 3, 0, tzinfo=UTC)
    with app.test_request_context():
        item = items_of(cid)[lead_id]
        outreach.mark_item(user(liu.id), item.id, "greeted", "电话拜年，约节后回乡考察", now=later)
        item = db.session.get(OutreachItem, item.id)
        assert (item.status, item.done_at, item.done_by_id) == ("greeted", later, liu.id)
        interaction = db.session.get(Interaction, item.interaction_id)
        assert (interaction.lead_id, interaction.kind, interaction.outcome) == (lead_id, "greeting",
                                                                               "电话拜年，约节后回乡考察")
        assert db.session.get(Lead, lead_id).last_contacted_at == later


def test_mark_item_visited_writes_visit_and_unreachable_keeps_last_contact(app, make_user):
    liu = make_user("county_staff", "610902")
    a, b = make_lead(app, owner_id=liu.id), make_lead(app, owner_id=liu.id, name="李四")
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        items = items_of(cid)
        outreach.mark_item(user(liu.id), items[a].id, "visited", None, now=NOW)
        outreach.mark_item(user(liu.id), items[b].id, "unreachable", "关机", now=NOW)
        kinds = dict(db.session.execute(db.select(Interaction.lead_id, Interaction.kind)).all())
        assert kinds == {a: "visit", b: "greeting"}
        assert db.session.get(Lead, b).last_contacted_at is None
        # reached later: an unreachable item can be marked again; a greeted one cannot
        outreach.mark_item(user(liu.id), items[b].id, "greeted", None, now=NOW)
        with pytest.raises(Conflict):
            outreach.mark_item(user(liu.id), items[b].id, "visited", None, now=NOW)


def test_mark_item_by_other_county_is_not_found_and_viewer_forbidden(app, make_user):
    liu, zhao = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    viewer = make_user("viewer", None)
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item_id = items_of(cid)[lead_id].id
        with pytest.raises(NotFound):
            outreach.mark_item(user(zhao.id), item_id, "greeted", None, now=NOW)
        with pytest.raises(PermissionDenied):
            outreach.mark_item(user(viewer.id), item_id, "greeted", None, now=NOW)
        assert db.session.get(OutreachItem, item_id).status == "pending"
        assert db.session.scalar(db.select(db.func.count(Interaction.id))) == 0


def test_mark_item_inbox_by_county_colleague_is_allowed(app, make_user):
    colleague = make_user("county_staff", "610902")
    lead_id = make_lead(app)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item = outreach.mark_item(user(colleague.id), items_of(cid)[lead_id].id, "declined", "婉拒", now=NOW)
        assert item.status == "declined"


def test_mark_item_with_bad_status_or_note_is_refused(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        item_id = items_of(cid)[lead_id].id
        with pytest.raises(InvalidInput) as info:
            outreach.mark_item(user(liu.id), item_id, "pending", "a\x00b", now=NOW)
        assert {"status", "note"} <= set(info.value.errors)


def test_item_to_followup_creates_followup_on_lead_for_actor(app, make_user):
    liu = make_user("county_staff", "610902")
    lead_id = make_lead(app, owner_id=liu.id)
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        fu = outreach.item_to_followup(user(liu.id), items_of(cid)[lead_id].id, {}, now=NOW)
        fu = db.session.get(Followup, fu.id)
        assert (fu.lead_id, fu.assignee_id) == (lead_id, liu.id)
        assert "张三" in fu.title


def test_pending_items_for_lists_overdue_items_from_the_holiday_on(app, make_user):
    liu, colleague = make_user("county_staff", "610902"), make_user("county_staff", "610902")
    mine, inbox = make_lead(app, owner_id=liu.id), make_lead(app, name="无主")
    make_lead(app, county_code="610924", name="紫阳乡贤")
    spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        assert outreach.pending_items_for(user(liu.id), NOW) == []  # before the holiday
        on_the_day = datetime(2027, 2, 6, 0, 30, tzinfo=UTC)
        assert {i.lead_id for i in outreach.pending_items_for(user(liu.id), on_the_day)} == {mine, inbox}
        assert {i.lead_id for i in outreach.pending_items_for(user(colleague.id), on_the_day)} == {inbox}
        assert outreach.pending_items_for(user(liu.id), datetime(2027, 3, 30, tzinfo=UTC)) == []


def test_progress_counts_by_county_and_staff(app, make_user):
    liu, zhao = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    a, _b = make_lead(app, owner_id=liu.id), make_lead(app, owner_id=liu.id, name="李四")
    make_lead(app, county_code="610924", owner_id=zhao.id)
    make_lead(app, name="无主")
    cid = spring_festival(app, make_user("city_staff", None).id)
    leader = make_user("viewer", None)
    with app.test_request_context():
        outreach.mark_item(user(liu.id), items_of(cid)[a].id, "greeted", None, now=NOW)
        city = outreach.progress(user(leader.id), cid)
        assert (city["total"], city["done"], city["percent"]) == (4, 1, 25)
        by_county = {row["county"].code: (row["total"], row["done"]) for row in city["counties"]}
        assert by_county == {"610902": (3, 1), "610924": (1, 0)}
        by_staff = {(row["user"].id if row["user"] else None): row["by_status"]["greeted"] for row in city["staff"]}
        assert by_staff == {liu.id: 1, zhao.id: 0, None: 0}
        own = outreach.progress(user(zhao.id), cid)  # county staff: their county only
        assert own["total"] == 1 and own["county_id"] == zhao.county_id
        with pytest.raises(PermissionDenied):
            outreach.progress(user(zhao.id), cid, county_id=liu.county_id)


def test_export_rows_masks_other_countys_contacts_and_is_audited(app, make_user):
    from crm.models import AuditEntry, Contact

    zhao = make_user("county_staff", "610924")
    lead_id = make_lead(app, name="=HYPERLINK(\"x\")")
    with app.app_context():
        db.session.add(Contact(lead_id=lead_id, name="张三", mobile="13812345678", wechat="zhangsan88"))
        db.session.commit()
    cid = spring_festival(app, make_user("city_staff", None).id)
    with app.test_request_context():
        _headers, rows = outreach.export_rows(user(make_user("viewer", None).id), cid, now=NOW)
        assert rows[0][0].startswith("=HYPERLINK") and "5678" in rows[0][5] and "1234" not in rows[0][5]
        assert outreach.export_rows(user(zhao.id), cid, now=NOW)[1] == []  # not their county's
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "export")) == 2


def test_morning_digest_lists_greetings_still_pending_on_the_holiday(app, make_user):
    from crm.services import reminders

    liu = make_user("county_staff", "610902")
    make_lead(app, owner_id=liu.id, name="王乡贤")
    spring_festival(app, make_user("city_staff", None).id)
    on_the_day = datetime(2027, 2, 6, 0, 30, tzinfo=UTC)
    with app.test_request_context():
        assert reminders.digest_for(user(liu.id), NOW)["greetings"] == []
        assert [i.lead.name for i in reminders.digest_for(user(liu.id), on_the_day)["greetings"]] == ["王乡贤"]
        assert reminders.plan_morning_digests(on_the_day) >= 1
        digest = db.session.scalars(db.select(Notification).where(Notification.user_id == liu.id,
                                                                  Notification.kind == "digest")).one()
        assert "王乡贤" in digest.body and "节日问候" in digest.body
