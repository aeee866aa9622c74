"""Holiday-outreach pages after the list is made: changing a mistaken result from its card, the counters that
follow a mark without a reload (hx-swap-oob), one counter label and one status vocabulary, and the city's
"update the list" button."""
from __future__ import annotations

from datetime import UTC, datetime

from crm import holidays
from crm.extensions import db
from crm.models import AuditEntry, Interaction, OutreachItem
from crm.services import outreach
from tests.services.test_outreach import make_lead
from tests.web.test_outreach import campaign as make_campaign
from tests.web.test_outreach import item_id


def campaign(app) -> int:
    """The coming 春节's list: the pages judge "until the holiday" by the real clock."""
    today = outreach.today_in_ankang(datetime.now(UTC))
    return make_campaign(app, "spring_festival", holidays.next_occurrence("spring_festival", today).date.year)


def test_mark_with_htmx_also_sends_the_counters_out_of_band(app, login_as):
    client = login_as("county_staff", "610902")
    a = make_lead(app, owner_id=client.user.id)
    make_lead(app, owner_id=client.user.id, name="李四")
    cid = campaign(app)
    page = client.get(f"/outreach/campaigns/{cid}/mine").get_data(as_text=True)
    assert 'id="outreach-counts"' in page and "0/2 已完成" in page
    response = client.post(f"/outreach/items/{item_id(app, cid, a)}/mark", data={"status": "declined"},
                           headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert 'id="outreach-counts" hx-swap-oob="true"' in body and "1/2 已完成" in body
    assert '<span data-counter="pending">1</span>' in body and '<span data-counter="declined">1</span>' in body


def test_counters_sent_after_a_mark_keep_the_list_filter_highlighted(app, login_as):
    client = login_as("county_staff", "610902")
    a = make_lead(app, owner_id=client.user.id)
    cid = campaign(app)
    body = client.post(f"/outreach/items/{item_id(app, cid, a)}/mark", data={"status": "greeted"}, headers={
        "HX-Request": "true", "HX-Current-URL": f"http://localhost/outreach/campaigns/{cid}/mine?status=pending",
    }).get_data(as_text=True)
    counts = body[body.index('id="outreach-counts"'):]
    assert f'active" href="/outreach/campaigns/{cid}/mine?status=pending"' in counts


def test_index_counter_reads_done_of_total(app, login_as):
    client = login_as("county_staff", "610902")
    a = make_lead(app, owner_id=client.user.id)
    make_lead(app, owner_id=client.user.id, name="李四")
    cid = campaign(app)
    client.post(f"/outreach/items/{item_id(app, cid, a)}/mark", data={"status": "greeted"})
    assert "1/2 已完成" in client.get("/outreach/").get_data(as_text=True)


def test_change_a_mistaken_declined_from_the_card(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, owner_id=client.user.id)
    cid = campaign(app)
    iid = item_id(app, cid, lead_id)
    card = client.post(f"/outreach/items/{iid}/mark", data={"status": "declined"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'action="/outreach/items/{iid}/change"' in card and "更改结果" in card
    changed = client.post(f"/outreach/items/{iid}/change", data={"status": "greeted", "note": "按错了"},
                          headers={"HX-Request": "true"})
    body = changed.get_data(as_text=True)
    assert changed.status_code == 200 and "alert-success" in body and "已问候" in body
    assert '<span data-counter="declined">0</span>' in body
    with app.app_context():
        item = db.session.get(OutreachItem, iid)
        assert (item.status, item.note) == ("greeted", "按错了")
        assert db.session.scalar(db.select(db.func.count(Interaction.id))) == 1
        assert db.session.scalar(db.select(AuditEntry.id).where(AuditEntry.action == "outreach.change"))


def test_change_by_other_county_is_404_and_without_htmx_redirects_to_the_card(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, owner_id=client.user.id)
    cid = campaign(app)
    iid = item_id(app, cid, lead_id)
    client.post(f"/outreach/items/{iid}/mark", data={"status": "declined"})
    assert login_as("county_staff", "610924").post(f"/outreach/items/{iid}/change",
                                                   data={"status": "greeted"}).status_code == 404
    response = client.post(f"/outreach/items/{iid}/change", data={"status": "greeted"})
    assert response.status_code == 302 and response.location.endswith(f"/outreach/campaigns/{cid}/mine#item-{iid}")
    with app.app_context():
        assert db.session.get(OutreachItem, iid).status == "greeted"


def test_create_form_uses_the_leads_status_vocabulary(login_as):
    page = login_as("city_staff", None).get("/outreach/").get_data(as_text=True)
    assert "已接洽" in page and "接洽中" not in page


def test_refresh_button_adds_a_newcomer_for_city_staff_only(app, login_as):
    city = login_as("city_staff", None)
    cid = campaign(app)
    page = city.get(f"/outreach/campaigns/{cid}/progress").get_data(as_text=True)
    assert f'action="/outreach/campaigns/{cid}/refresh"' in page and "更新名单" in page
    newcomer = make_lead(app, name="王乡贤")
    response = city.post(f"/outreach/campaigns/{cid}/refresh", follow_redirects=True)
    assert "新增 1 位" in response.get_data(as_text=True)
    assert item_id(app, cid, newcomer)
    county = login_as("county_staff", "610902")
    assert f"/outreach/campaigns/{cid}/refresh" not in county.get(
        f"/outreach/campaigns/{cid}/progress").get_data(as_text=True)
    assert county.post(f"/outreach/campaigns/{cid}/refresh").status_code == 403


def test_refresh_button_is_gone_after_the_holiday(app, login_as):
    city = login_as("city_staff", None)
    with app.test_request_context():
        past = outreach.create_campaign(None, "new_year", 2026, None, now=datetime(2025, 12, 20, tzinfo=UTC)).id
    page = city.get(f"/outreach/campaigns/{past}/progress").get_data(as_text=True)
    assert "/refresh" not in page
    assert "节日已过" in city.post(f"/outreach/campaigns/{past}/refresh", follow_redirects=True).get_data(
        as_text=True)
