"""Holiday-outreach pages: campaigns and creation, settings, "my greetings" cards with tap-to-call and htmx
marking, follow-ups from replies, progress, print view and the neutralised XLSX export."""
from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from crm.extensions import db
from crm.models import Campaign, Contact, Followup, Interaction, OutreachItem, User
from crm.services import outreach
from tests.conftest import county_id
from tests.services.test_outreach import make_lead

NOW = datetime(2027, 1, 28, 0, 0, tzinfo=UTC)


def add_contact(app, lead_id: int, **values) -> None:
    with app.app_context():
        db.session.add(Contact(lead_id=lead_id, **values))
        db.session.commit()


def campaign(app, key="spring_festival", year=2027) -> int:
    with app.test_request_context():
        return outreach.create_campaign(None, key, year, None, now=NOW).id


def item_id(app, cid: int, lead_id: int) -> int:
    with app.app_context():
        found = db.session.scalar(db.select(OutreachItem.id).where(OutreachItem.campaign_id == cid,
                                                                  OutreachItem.lead_id == lead_id))
    assert found is not None
    return found


def test_index_lists_campaigns_and_create_form_for_city_staff(app, login_as):
    client = login_as("city_staff", None)
    campaign(app)
    page = client.get("/outreach/").get_data(as_text=True)
    assert "春节 2027" in page and 'action="/outreach/campaigns"' in page
    assert "节日设置" not in page  # settings are the admin's


def test_index_for_county_staff_has_no_create_form(login_as):
    page = login_as("county_staff").get("/outreach/").get_data(as_text=True)
    assert 'action="/outreach/campaigns"' not in page


def test_create_campaign_form_makes_one_campaign_with_filters(app, login_as):
    client = login_as("city_staff", None)
    chamber = make_lead(app, kind="chamber", name="深圳安康商会")
    make_lead(app, kind="adviser", name="李顾问")
    data = {"holiday_key": "mid_autumn", "year": "2027", "kinds": ["chamber"], "county_id": "0",
            "industry_id": "0", "tag": "", "include_key": ""}
    response = client.post("/outreach/campaigns", data=data)
    assert response.status_code == 302 and "/progress" in response.location
    assert client.post("/outreach/campaigns", data=data).location == response.location
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1
        assert db.session.scalars(db.select(OutreachItem.lead_id)).all() == [chamber]


def test_create_campaign_by_county_staff_is_403(login_as):
    response = login_as("county_staff").post("/outreach/campaigns", data={"holiday_key": "qingming",
                                                                           "year": "2027"})
    assert response.status_code == 403


def test_settings_page_admin_saves_and_others_are_refused(app, login_as):
    admin = login_as("admin", None)
    assert "清明节" in admin.get("/outreach/settings").get_data(as_text=True)
    response = admin.post("/outreach/settings", data={"key": "dragon_boat", "dragon_boat-is_enabled": "y",
                                                      "dragon_boat-days_before": "7",
                                                      "dragon_boat-template": "{name}：端午安康！"})
    assert response.status_code == 302
    with app.app_context():
        assert outreach.setting_for("dragon_boat").days_before == 7
    bad = admin.post("/outreach/settings", data={"key": "qingming", "qingming-days_before": "10",
                                                 "qingming-template": "{name.__class__}"})
    assert bad.status_code == 200 and "{name}" in bad.get_data(as_text=True)
    assert login_as("city_staff", None).get("/outreach/settings").status_code == 403


def test_my_greetings_shows_cards_with_tel_links_and_copy_wechat(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, name="王乡贤", owner_id=client.user.id)
    add_contact(app, lead_id, name="王总", mobile="138 1234 5678", wechat="wang_ankang")
    make_lead(app, name="紫阳乡贤", county_code="610924")
    cid = campaign(app)
    page = client.get(f"/outreach/campaigns/{cid}/mine").get_data(as_text=True)
    assert "王乡贤" in page and "紫阳乡贤" not in page
    assert 'href="tel:13812345678"' in page and 'data-copy="wang_ankang"' in page
    assert "王乡贤" in page.split("data-copy=")[2]  # the greeting text names the person
    assert f'hx-post="/outreach/items/{item_id(app, cid, lead_id)}/mark"' in page


def test_my_greetings_on_a_phone_has_viewport_and_no_wide_table(app, login_as):
    client = login_as("county_staff", "610902")
    make_lead(app, owner_id=client.user.id)
    page = client.get(f"/outreach/campaigns/{campaign(app)}/mine").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width' in page and "<table" not in page
    assert "col-12 col-md-6" in page


def test_mark_with_htmx_returns_the_updated_card_and_writes_interaction(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, owner_id=client.user.id)
    iid = item_id(app, campaign(app), lead_id)
    response = client.post(f"/outreach/items/{iid}/mark", data={"status": "greeted", "note": "已拜年"},
                           headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="item-{iid}"' in page and "已问候" in page and "<html" not in page
    assert "转为跟进" in page
    with app.app_context():
        assert db.session.scalar(db.select(Interaction.kind).where(Interaction.lead_id == lead_id)) == "greeting"


def test_mark_twice_shows_the_refusal_in_the_card(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, owner_id=client.user.id)
    iid = item_id(app, campaign(app), lead_id)
    client.post(f"/outreach/items/{iid}/mark", data={"status": "visited"})
    again = client.post(f"/outreach/items/{iid}/mark", data={"status": "greeted"}, headers={"HX-Request": "1"})
    assert again.status_code == 200 and "alert-danger" in again.get_data(as_text=True)


def test_mark_by_other_county_is_404(app, login_as):
    make_lead(app)
    cid = campaign(app)
    with app.app_context():
        iid = db.session.scalar(db.select(OutreachItem.id))
    assert login_as("county_staff", "610924").post(f"/outreach/items/{iid}/mark",
                                                   data={"status": "greeted"}).status_code == 404
    assert cid


def test_turn_into_followup_creates_it_for_the_staff_member(app, login_as):
    client = login_as("county_staff", "610902")
    lead_id = make_lead(app, owner_id=client.user.id)
    iid = item_id(app, campaign(app), lead_id)
    client.post(f"/outreach/items/{iid}/mark", data={"status": "greeted", "note": "想回乡投资"})
    response = client.post(f"/outreach/items/{iid}/followup")
    assert response.status_code == 302
    with app.app_context():
        fu = db.session.scalar(db.select(Followup))
        assert fu.assignee_id == client.user.id and fu.detail == "想回乡投资"


def test_progress_page_for_leader_lists_counties_and_staff(app, login_as):
    leader = login_as("viewer", None)
    staff = login_as("county_staff", "610902")
    make_lead(app, owner_id=staff.user.id)
    make_lead(app, county_code="610924")
    cid = campaign(app)
    page = leader.get(f"/outreach/campaigns/{cid}/progress").get_data(as_text=True)
    assert "汉滨区" in page and "紫阳县" in page and "县区待领" in page
    with app.app_context():
        name = db.session.get(User, staff.user.id).display_name
    assert name in page
    assert "我的问候" not in page  # leaders read progress, they have no list of their own


def test_progress_page_for_county_staff_shows_only_their_county(app, login_as):
    staff = login_as("county_staff", "610924")
    make_lead(app)
    make_lead(app, county_code="610924", name="紫阳乡贤")
    cid = campaign(app)
    page = staff.get(f"/outreach/campaigns/{cid}/progress").get_data(as_text=True)
    assert "紫阳县" in page and "汉滨区" not in page
    hanbin = county_id(app, "610902")
    assert staff.get(f"/outreach/campaigns/{cid}/progress?county_id={hanbin}").status_code == 403


def test_print_view_is_one_table_with_print_css(app, login_as):
    client = login_as("city_staff", None)
    make_lead(app, name="王乡贤")
    page = client.get(f"/outreach/campaigns/{campaign(app)}/print").get_data(as_text=True)
    assert page.count("<table") == 1 and "@media print" in page and "王乡贤" in page


def test_export_xlsx_neutralises_formulas(app, login_as):
    client = login_as("city_staff", None)
    lead_id = make_lead(app, name="=HYPERLINK(\"http://evil\",\"点我\")")
    add_contact(app, lead_id, name="+cmd|' /C calc'!A0", mobile="13812345678")
    response = client.get(f"/outreach/campaigns/{campaign(app)}/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "客商" and rows[1][0].startswith("'=HYPERLINK") and rows[1][4].startswith("'+cmd")
    assert rows[1][5] == "13812345678"  # city staff see contacts unmasked


def test_nav_links_to_outreach(login_as):
    assert 'href="/outreach/"' in login_as("county_staff").get("/").get_data(as_text=True)
