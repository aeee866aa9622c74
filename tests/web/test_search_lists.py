"""The search page's lists: removable chips per active filter, saved searches listed and shared, bulk actions on
ticked rows or on all results, the refused leads reported on the result page."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.models import Lead, SavedSearch
from crm.services.counties import county_by_code
from tests.web.test_search import add_leads


def _leads(app):
    return add_leads(app, ("汉滨富硒茶业", "selenium_food", "610902", ["茶"]),
                     ("紫阳富硒茶厂", "selenium_food", "610924", ["茶"]),
                     ("汉滨生物医药", "bio_pharma", "610902", []))


def test_active_filters_show_as_removable_chips(app, login_as):
    _leads(app)
    with app.app_context():
        county = county_by_code("610902").id
    page = login_as("viewer", None).get(f"/search/?q=富硒&county_id={county}&kind=enterprise").get_data(as_text=True)
    chips = page[page.index('id="active-filters"'):page.index('id="active-filters"') + 2000]
    assert "汉滨区" in chips and "企业" in chips
    assert 'href="/search/?q=%E5%AF%8C%E7%A1%92&amp;kind=enterprise"' in chips  # removing the county keeps the rest
    assert "清除全部筛选" in chips


def test_saved_search_is_listed_opens_and_is_shared_with_the_county(app, login_as):
    _leads(app)
    hanbin = login_as("county_staff", "610902")
    response = hanbin.post("/search/saved", data={"name": "本县富硒", "scope": "county", "query": "q=富硒&kind=enterprise"})
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(SavedSearch))
        assert saved.query == {"q": "富硒", "kind": "enterprise"} and saved.scope == "county"
        saved_id = saved.id
    colleague = login_as("county_staff", "610902")
    page = colleague.get("/search/").get_data(as_text=True)
    assert "本县富硒" in page and 'id="saved-searches"' in page
    assert colleague.get(f"/search/saved/{saved_id}").headers["Location"].startswith("/search/?q=")
    assert "本县富硒" not in login_as("county_staff", "610924").get("/search/").get_data(as_text=True)
    assert login_as("county_staff", "610924").get(f"/search/saved/{saved_id}").status_code == 404
    # the colleague may not delete it; its maker may
    assert colleague.post(f"/search/saved/{saved_id}/delete").status_code == 403
    hanbin.post(f"/search/saved/{saved_id}/delete")
    with app.app_context():
        assert db.session.scalar(select(SavedSearch)) is None


def test_saving_with_a_scope_not_allowed_is_refused_with_a_message(app, login_as):
    hanbin = login_as("county_staff", "610902")
    response = hanbin.post("/search/saved", data={"name": "全市", "scope": "city", "query": "q=茶"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert 'class="alert alert-danger' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(SavedSearch)) is None


def test_results_page_has_row_checkboxes_and_the_bulk_bar(app, login_as):
    ids = _leads(app)
    page = login_as("county_staff", "610902").get("/search/?q=富硒").get_data(as_text=True)
    assert 'id="bulk-form"' in page
    assert set(map(int, re.findall(r'name="lead_ids" value="(\d+)"', page))) == set(ids[:2])
    viewer = login_as("viewer", None).get("/search/?q=富硒").get_data(as_text=True)
    assert '<option value="export"' in viewer and '<option value="tag"' not in viewer


def test_bulk_tag_by_county_user_reports_the_other_countys_lead(app, login_as):
    ids = _leads(app)
    hanbin = login_as("county_staff", "610902")
    response = hanbin.post("/search/bulk", data={"action": "tag", "tag": "春节走访", "query": "q=富硒",
                                                 "lead_ids": [str(ids[0]), str(ids[1])]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="bulk-refused"' in page and "紫阳富硒茶厂" in page and "紫阳县" in page
    with app.app_context():
        assert "春节走访" in db.session.get(Lead, ids[0]).tags
        assert "春节走访" not in db.session.get(Lead, ids[1]).tags


def test_bulk_on_all_results_and_export(app, login_as):
    ids = _leads(app)
    city = login_as("city_staff", None)
    response = city.post("/search/bulk", data={"action": "tag", "tag": "全部", "query": "q=富硒", "all_results": "y"})
    assert response.status_code == 200
    with app.app_context():
        tagged = {lead.id for lead in db.session.scalars(select(Lead)) if "全部" in lead.tags}
    assert tagged == set(ids[:2])
    response = city.post("/search/bulk", data={"action": "export", "fmt": "csv", "query": "q=富硒",
                                               "lead_ids": [str(ids[0])]})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "汉滨富硒茶业" in response.get_data(as_text=True)


def test_bulk_with_nothing_selected_or_bad_ids_says_so(app, login_as):
    _leads(app)
    city = login_as("city_staff", None)
    for data in ({"action": "tag", "tag": "x", "query": "q=富硒"},
                 {"action": "tag", "tag": "x", "query": "q=富硒", "lead_ids": ["abc"]},
                 {"action": "teleport", "query": "q=富硒", "lead_ids": ["1"]}):
        response = city.post("/search/bulk", data=data, follow_redirects=True)
        assert response.status_code == 200
        assert 'class="alert alert-danger' in response.get_data(as_text=True)



def test_outreach_list_made_from_a_saved_search(app, login_as):
    from crm.models import Campaign, OutreachItem
    from crm.services import saved_searches

    ids = _leads(app)
    city = login_as("city_staff", None)
    from crm.models import User

    with app.app_context():
        saved = saved_searches.save_search(db.session.get(User, city.user.id), "富硒茶", {"q": "富硒"}, "private",
                                           now=datetime.now(UTC))
        saved_id = saved.id
    assert "富硒茶" in city.get("/outreach/").get_data(as_text=True)
    response = city.post("/outreach/campaigns", data={"holiday_key": "mid_autumn", "year": "2030", "kinds": ["adviser"],
                                                      "include_key": "", "saved_search_id": str(saved_id)})
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert campaign.filters["saved_search_id"] == saved_id and campaign.target_kinds == []
        listed = set(db.session.scalars(select(OutreachItem.lead_id).where(OutreachItem.campaign_id == campaign.id)))
    assert listed == set(ids[:2])


def test_lead_list_rows_can_be_selected_for_a_bulk_action_and_it_returns_to_the_list(app, login_as):
    ids = _leads(app)
    hanbin = login_as("county_staff", "610902")
    page = hanbin.get("/leads?kind=enterprise").get_data(as_text=True)
    assert 'id="bulk-form"' in page and 'name="next" type="hidden" value="/leads?kind=enterprise"' in page
    assert f'name="lead_ids" value="{ids[0]}"' in page
    response = hanbin.post("/search/bulk", data={"action": "tag", "tag": "列表", "next": "/leads?kind=enterprise",
                                                 "lead_ids": [str(ids[0]), str(ids[0]), str(ids[2])]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'href="/leads?kind=enterprise"' in page
    with app.app_context():
        assert "列表" in db.session.get(Lead, ids[0]).tags and "列表" in db.session.get(Lead, ids[2]).tags
    # an outside target is not followed
    response = hanbin.post("/search/bulk", data={"action": "tag", "tag": "x", "next": "//evil.example/"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/search/")


def test_all_results_over_the_cap_are_refused_not_cut(app, login_as, monkeypatch):
    from crm.services import bulk

    _leads(app)
    monkeypatch.setattr(bulk, "MAX_LEADS", 1)
    city = login_as("city_staff", None)
    response = city.post("/search/bulk", data={"action": "tag", "tag": "全部", "query": "q=富硒", "all_results": "y"},
                         follow_redirects=True)
    assert "一次最多处理 1 条客商" in response.get_data(as_text=True)
    with app.app_context():
        assert not any("全部" in lead.tags for lead in db.session.scalars(select(Lead)))


def test_lead_list_shows_its_active_filters_as_removable_chips(app, login_as):
    _leads(app)
    with app.app_context():
        county = county_by_code("610924").id
    page = login_as("viewer", None).get(f"/leads?kind=enterprise&county_id={county}&silent_days=30&page=2") \
        .get_data(as_text=True)
    chips = page[page.index('id="active-filters"'):]
    chips = chips[:chips.index("</div>")]
    assert "紫阳县" in chips and "企业" in chips and "30 天及以上" in chips
    assert f'href="/leads?county_id={county}&amp;silent_days=30"' in chips  # drops the type, keeps the rest
    assert "page=" not in chips
