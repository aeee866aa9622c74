"""Issue 14 item 16: menus show only what the role may use, Chinese role labels, the event's city field, the
audit log in words (actions, objects, before → after in Beijing time, date range, export), the favicon."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, User
from crm.services import audit
from crm.web import labels


@pytest.mark.parametrize("role, county, shown, hidden", [
    ("viewer", None, ["/search/", "/reports/"], ["/imports/", "/admin/"]),
    ("county_staff", "610902", ["/imports/", "/search/"], ["/admin/"]),
    ("admin", None, ["/imports/", "/admin/audit", "/admin/users"], []),
])
def test_menu_shows_only_what_the_role_may_open(app, login_as, role, county, shown, hidden):
    client = login_as(role, county)
    page = client.get("/search/").get_data(as_text=True)
    nav = page[page.index('id="mainnav"'):page.index("</nav>")]
    for path in shown:
        assert f'href="{path}' in nav
        assert client.get(path).status_code in (200, 302), path
    for path in hidden:
        assert f'href="{path}' not in nav


def test_every_menu_entry_opens_for_every_role(app, login_as):
    """The menu is derived from permissions: whatever it offers a role, the page lets that role in."""
    for role, county in (("viewer", None), ("county_staff", "610902"), ("city_staff", None), ("admin", None)):
        client = login_as(role, county)
        with app.test_request_context():
            user = db.session.get(User, client.user.id)
            entries = [(e, None) for e, _i, _l in labels.nav_items(user)] + labels.admin_nav_items(user)
            from flask import url_for
            urls = [url_for(endpoint) for endpoint, _x in entries]
        for url in urls:
            assert client.get(url).status_code == 200, (role, url)


def test_profile_shows_the_chinese_role_label(login_as):
    page = login_as("city_staff", None).get("/profile").get_data(as_text=True)
    assert "市局干部" in page
    assert "· city_staff" not in page


def test_event_city_field_is_not_labelled_as_the_city_level(login_as):
    page = login_as("city_staff", None).get("/events/new").get_data(as_text=True)
    assert '<label class="form-label" for="city">举办城市</label>' in page
    assert "市本级</label>" not in page


def test_favicon_is_linked_and_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/favicon.ico")
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
    icon.close()
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


def _entries(app, admin_id):
    with app.app_context():
        actor = db.session.get(User, admin_id)
        audit.record(actor, "update", "lead", 7, summary="安康富硒茶业",
                     before={"status": "new", "tags": ["茶"]}, after={"status": "engaged", "tags": ["茶", "富硒"]})
        audit.record(actor, "followup.create", "followup", 3, summary="回访",
                     after={"due_at": "2027-03-15T02:00:00+00:00"})
        db.session.commit()
        old = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "followup"))
        old.at = datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
        db.session.commit()


def test_audit_log_reads_in_chinese_with_a_diff_in_beijing_time(app, login_as):
    admin = login_as("admin", None)
    _entries(app, admin.user.id)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "布置跟进任务" in page and "跟进任务" in page and "客商 #7" in page
    assert '<del class="text-danger">新线索</del> → <ins class="text-success text-decoration-none">已接洽</ins>' in page
    assert "2027-03-15 10:00:00" in page  # 02:00 UTC shown as Beijing time
    assert "2027-01-01 09:00:00" in page
    assert "followup.create" not in page.split('id="audit-entries"')[1]
    assert "{&#34;" not in page and '{"' not in page.split('id="audit-entries"')[1]


def test_audit_log_filters_by_beijing_date_range_and_refuses_bad_dates(app, login_as):
    admin = login_as("admin", None)
    _entries(app, admin.user.id)
    page = admin.get("/admin/audit?since=2027-01-01&until=2027-01-01").get_data(as_text=True)
    assert "回访" in page and "安康富硒茶业" not in page
    page = admin.get("/admin/audit?since=2027-02-01&until=2027-01-01").get_data(as_text=True)
    assert "结束日期早于开始日期" in page
    response = admin.get("/admin/audit?since=yesterday")
    assert response.status_code == 200 and "alert-danger" in response.get_data(as_text=True)


def test_audit_log_exports_csv_and_xlsx_and_the_export_is_audited(app, login_as):
    admin = login_as("admin", None)
    _entries(app, admin.user.id)
    response = admin.get("/admin/audit/export.csv?object_type=lead")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "时间（北京时间）" and len(rows) == 2
    assert rows[1][2] == "修改" and rows[1][3] == "客商"
    assert "→" in rows[1][6]
    assert admin.get("/admin/audit/export.xlsx").status_code == 200
    assert login_as("city_staff", None).get("/admin/audit/export.csv").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "audit_log")) is not None


def test_import_pages_offer_the_template_download(app, login_as):
    client = login_as("county_staff", "610902")
    assert 'href="/imports/template.xlsx"' in client.get("/imports/new").get_data(as_text=True)
    assert 'href="/imports/template.xlsx"' in client.get("/imports/").get_data(as_text=True)
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert "attachment" in response.headers["Content-Disposition"]
    assert login_as("viewer", None).get("/imports/template.xlsx").status_code == 403


def test_audit_log_names_the_leads_of_a_bulk_action(app, login_as):
    from crm.models import Lead

    admin = login_as("admin", None)
    with app.app_context():
        from crm.services.counties import county_by_code

        lead = Lead(name="批量里的客商", kind="enterprise", owner_county_id=county_by_code("610902").id)
        db.session.add(lead)
        db.session.commit()
        audit.record(db.session.get(User, admin.user.id), "bulk.tag", "lead", None, summary="春节",
                     after={"done": [lead.id], "refused": []})
        db.session.commit()
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "批量：添加标签" in page and "批量里的客商" in page


def test_login_texts_and_the_targets_page_agree_on_who_sets_targets(app, login_as):
    """DESIGN.md §1: the administrator keeps the targets; city staff read them in the reports."""
    from crm.services.demo import demo_logins

    texts = {username: what for username, _pw, what in demo_logins()}
    assert "targets" in texts["admin"]
    assert "targets: read-only" in texts["city"]
    assert login_as("city_staff", None).get("/reports/targets").status_code == 403
    assert login_as("admin", None).get("/reports/targets").status_code == 200
