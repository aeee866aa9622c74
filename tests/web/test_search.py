"""The search page: examples when empty, results with escaped highlights, facet chips, sort, paging, htmx."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Industry, Lead, LeadTag
from crm.services import indexing
from crm.services.counties import county_by_code

NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


def add_leads(app, *rows) -> list[int]:
    """rows: (name, industry code or None, county code, tags)."""
    with app.app_context():
        ids = []
        for name, industry, county, tags in rows:
            industry_id = db.session.scalar(select(Industry.id).where(Industry.code == industry)) if industry else None
            lead = Lead(name=name, industry_id=industry_id, owner_county_id=county_by_code(county).id,
                        created_at=NOW, updated_at=NOW, tag_rows=[LeadTag(tag=t) for t in tags])
            db.session.add(lead)
            db.session.commit()
            ids.append(lead.id)
        indexing.leads_changed(ids)
        return ids


@pytest.fixture
def city(app):
    return add_leads(app, ("安康生物医药有限公司", "bio_pharma", "610902", []),
                     ("平利绞股蓝种植合作社", "tcm_herbs", "610926", []),
                     ("紫阳县绿源公司", "selenium_food", "610924", ["茶"]),
                     ("汉阴建材厂", "new_materials", "610921", []))


def test_empty_search_shows_examples_not_everything(login_as, city):
    page = login_as("viewer", None).get("/search/").get_data(as_text=True)
    assert "富硒茶" in page and "zsb" in page
    assert "安康生物医药有限公司" not in page


def test_search_lists_matches_with_marks_and_facets(login_as, city):
    response = login_as("county_staff", "610902").get("/search/?q=医药")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<mark>医药</mark>" in page and "平利绞股蓝种植合作社" in page
    assert "汉阴建材厂" not in page
    assert "生物医药" in page and "中药材" in page  # industry facet chips
    assert "industry_id=" in page and "county_id=" in page


def test_facet_filter_narrows_results(app, login_as, city):
    with app.app_context():
        herbs = db.session.scalar(select(Industry.id).where(Industry.code == "tcm_herbs"))
    page = login_as("city_staff", None).get(f"/search/?q=医药&industry_id={herbs}").get_data(as_text=True)
    assert "平利绞股蓝种植合作社" in page and "安康生物" not in page


def test_synonym_and_tag_together(login_as, city):
    page = login_as("city_staff", None).get("/search/?q=富硒茶").get_data(as_text=True)
    assert "紫阳县绿源公司" in page


def test_htmx_request_gets_only_the_results_part(login_as, city):
    response = login_as("city_staff", None).get("/search/?q=医药", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert "安康生物<mark>医药</mark>有限公司" in page and "<html" not in page


def test_a_lead_named_script_is_shown_escaped(app, login_as):
    add_leads(app, ("<script>alert('x')</script>公司", None, "610902", []))
    page = login_as("city_staff", None).get("/search/?q=alert").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_sorts_and_pages_render(login_as, city):
    client = login_as("city_staff", None)
    for sort in ("relevance", "last_contact", "name", "bogus"):
        assert client.get(f"/search/?q=公司&sort={sort}").status_code == 200
    assert client.get("/search/?q=公司&page=999999999").status_code == 200


@pytest.mark.parametrize("q", ['"unbalanced', "AND OR NOT", "*", "county:1", "医药" * 3000, "😀", "（医药）",
                               "\x00", "%00", "<img src=x onerror=alert(1)>", "' OR 1=1 --"])
def test_hostile_query_strings_never_produce_an_error_page(login_as, city, q):
    response = login_as("city_staff", None).get("/search/", query_string={"q": q, "industry_id": "x",
                                                                         "county_id": "-1", "is_key": "maybe"})
    assert response.status_code == 200
    assert "<img src=x" not in response.get_data(as_text=True)


def test_search_requires_sign_in(client):
    assert client.get("/search/?q=医药").status_code == 302


def test_while_a_lost_index_is_rebuilt_the_page_says_results_come_from_the_database(app, login_as, city):
    import shutil

    with app.app_context():
        path = indexing.search_index().path
    indexing._indexes.clear()
    shutil.rmtree(path)
    client = login_as("county_staff", "610902")
    page = client.get("/search/?q=医药").get_data(as_text=True)
    assert "搜索索引正在重建" in page
    assert "安康生物<mark>医药</mark>有限公司" in page and "平利绞股蓝种植合作社" in page  # 中药材 is under 生物医药
    with app.app_context():
        indexing.reconcile(NOW)
    page = client.get("/search/?q=医药").get_data(as_text=True)
    assert "搜索索引正在重建" not in page and "平利绞股蓝种植合作社" in page


def test_search_by_mobile_shows_own_countys_lead_and_nothing_for_another_county(app, login_as):
    from crm.models import Contact

    with app.app_context():
        lead = Lead(name="紫阳魔芋公司", owner_county_id=county_by_code("610924").id, created_at=NOW, updated_at=NOW,
                    contacts=[Contact(name="李强", mobile="13912345678", mobile_key="13912345678")])
        db.session.add(lead)
        db.session.commit()
        indexing.leads_changed([lead.id])
    own = login_as("county_staff", "610924").get("/search/?q=13912345678").get_data(as_text=True)
    assert "紫阳魔芋公司" in own
    other = login_as("county_staff", "610902")
    masked = other.get("/search/?q=13912345678").get_data(as_text=True)
    miss = other.get("/search/?q=13987654321").get_data(as_text=True)
    assert "紫阳魔芋公司" not in masked
    assert masked.replace("13912345678", "Q") == miss.replace("13987654321", "Q")
