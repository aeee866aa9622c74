"""Logging a visit without friction (issue 14, items 1–4): every error on one submit with a summary on top,
"use this lead" on a duplicate warning (never for a masked match), the page-script answers (JSON save, the
token cookie that drops a saved draft, the session check), the installable web app and dates with the year."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Interaction, Lead, User
from crm.services import leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def make_lead(app, ref, name="恒信建设工程有限公司", **data) -> int:
    with app.test_request_context():
        return leads.create_lead(db.session.get(User, ref.id), {"name": name, **data}, now=NOW).id


def visit(**extra) -> dict:
    data = {"kind": "visit", "occurred_at": "2026-01-15T09:30", "location": "北京", "leader_level": "none",
            "leader_name": "", "visitor_count": "3", "summary": "介绍园区政策", "outcome": "有意向考察",
            "trip_id": "0", "next_title": "", "next_due_at": "", "next_assignee_id": "0"}
    data.update(extra)
    return data


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def summary_links(page: str) -> list[str]:
    block = re.search(r'<div class="alert alert-danger error-summary".*?</div>\s*</div>|'
                      r'<div class="alert alert-danger error-summary".*?</ul>', page, re.S)
    assert block, "no error summary on the page"
    return re.findall(r'href="#([\w-]+)"', block.group(0))


# --- item 2: every error at once ---------------------------------------------------------------------------

def test_empty_visit_shows_every_error_at_once_with_a_summary_and_keeps_the_typing(app, login_as):
    c = login_as("county_staff")
    page = c.post("/interactions/new", data=visit(summary="", location="北京朝阳", leader_level="none",
                                                  leader_name="张县长", next_title="回访", next_due_at="")
                  ).get_data(as_text=True)
    links = summary_links(page)
    # the form's own refusal (no summary) and the service's (no lead, a leader's name without a level, a next
    # step without a due time) on the same page
    assert {"summary", "lead_id", "leader_name", "next_due_at"} <= set(links)
    assert links[0] == "lead_id" and links[-1] == "next_due_at"  # in the order the page shows them
    assert "请修改以下" in page
    assert 'value="北京朝阳"' in page and 'value="回访"' in page and 'value="张县长"' in page
    assert count(app, Interaction) == 0


def test_visit_with_a_new_lead_reports_the_new_leads_problems_together_with_the_visits(app, login_as):
    c = login_as("county_staff")
    page = c.post("/interactions/new", data=visit(summary="", new_lead="y", new_name="",
                                                  new_mobile="12")).get_data(as_text=True)
    links = summary_links(page)
    assert "summary" in links and "new_name" in links
    assert count(app, Interaction) == 0 and count(app, Lead) == 0


def test_a_field_refused_by_the_form_keeps_its_own_message_only(app, login_as):
    c = login_as("county_staff")
    page = c.post("/interactions/new", data=visit(occurred_at="gestern")).get_data(as_text=True)
    links = summary_links(page)
    assert links.count("occurred_at") == 1 and "lead_id" in links


def test_a_clean_visit_page_has_no_error_summary(login_as):
    page = login_as("county_staff").get("/interactions/new").get_data(as_text=True)
    assert "error-summary" not in page


def test_other_forms_get_the_summary_too(app, login_as):
    c = login_as("county_staff")
    page = c.post("/leads/new", data={"name": "", "kind": "enterprise"}).get_data(as_text=True)
    assert "name" in summary_links(page)
    page = c.post("/trips/new", data={"title": ""}).get_data(as_text=True)
    assert {"title", "starts_on", "ends_on"} <= set(summary_links(page))


# --- item 1: use this existing lead -------------------------------------------------------------------------

def test_duplicate_warning_offers_use_this_lead_and_logs_the_visit_on_it(app, login_as):
    c = login_as("county_staff")
    existing = make_lead(app, c.user, name="安康富硒茶业有限公司")
    data = visit(new_lead="y", new_name="安康富硒茶业有限公司", new_kind="enterprise", idempotency_key="k-dup-00001")
    page = c.post("/interactions/new", data=data).get_data(as_text=True)
    assert f'name="use_lead" value="{existing}"' in page and "使用此客商" in page
    page = c.post("/interactions/new", data=data | {"use_lead": str(existing)}).get_data(as_text=True)
    assert count(app, Interaction) == 0  # chosen, not yet saved: the user checks and saves
    assert f'<option value="{existing}" selected>安康富硒茶业有限公司</option>' in page
    assert 'id="new_lead" name="new_lead" type="checkbox" value="y">' in page  # unticked
    assert "介绍园区政策" in page and "已有客商" in page
    response = c.post("/interactions/new", data=visit(lead_id=existing, idempotency_key="k-dup-00001"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{existing}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
        assert db.session.scalar(select(Interaction.lead_id)) == existing


def test_a_match_on_masked_contact_data_gets_no_use_this_lead(app, login_as, make_user):
    hanbin = make_user("county_staff", "610902")
    hidden = make_lead(app, hanbin, name="汉滨某公司", contacts=[{"name": "张三", "mobile": "13912345678"}])
    c = login_as("county_staff", "610924")
    page = c.post("/interactions/new", data=visit(new_lead="y", new_name="完全不同的名字", new_contact="李四",
                                                  new_mobile="13912345678")).get_data(as_text=True)
    assert 'name="force"' in page  # the warning is there …
    assert 'name="use_lead"' not in page and f"/leads/{hidden}" not in page and "汉滨某公司" not in page


def test_use_this_lead_refuses_a_lead_the_reader_may_not_pick(app, login_as):
    c = login_as("county_staff")
    gone = make_lead(app, c.user, name="已删除的公司")
    with app.test_request_context():
        leads.delete_lead(db.session.get(User, c.user.id), gone, now=NOW)
    for value in (str(gone), "999999", "abc", "1" * 40):
        page = c.post("/interactions/new", data=visit(new_lead="y", new_name="新公司", use_lead=value)
                      ).get_data(as_text=True)
        assert "无法选择该客商" in page and "已删除的公司" not in page
    assert count(app, Interaction) == 0


def test_enter_in_a_field_presses_save_not_use_this_lead(app, login_as):
    """The first submit button of a form is the one Enter presses: a hidden save button comes first."""
    c = login_as("county_staff")
    make_lead(app, c.user, name="安康富硒茶业有限公司")
    page = c.post("/interactions/new", data=visit(new_lead="y", new_name="安康富硒茶业有限公司")).get_data(as_text=True)
    form = page[page.index('<form method="post" novalidate id="visit-form">'):]
    first = re.search(r"<button[^>]*>", form).group(0)
    assert 'type="submit"' in first and "name=" not in first


# --- item 3: the page script's answers ----------------------------------------------------------------------

JSON = {"Accept": "application/json"}


def test_a_queued_send_is_saved_once_and_answers_json(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    data = visit(lead_id=lead_id, idempotency_key="queued-visit-0001")
    first = c.post("/interactions/new", data=data, headers=JSON)
    assert first.status_code == 200 and first.json["saved"] is True and first.json["replayed"] is False
    assert first.json["location"].endswith(f"/leads/{lead_id}")
    again = c.post("/interactions/new", data=data, headers=JSON)  # the answer was lost: sent again
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["interaction_id"] == first.json["interaction_id"]
    assert count(app, Interaction) == 1
    assert "已提交" not in c.get(f"/leads/{lead_id}").get_data(as_text=True)  # no flash left for a later page


def test_a_queued_send_that_is_refused_answers_422_with_every_message(app, login_as):
    c = login_as("county_staff")
    response = c.post("/interactions/new", data=visit(summary=""), headers=JSON)
    assert response.status_code == 422 and response.json["saved"] is False
    assert {"summary", "lead_id"} <= set(response.json["errors"])
    assert count(app, Interaction) == 0


def test_a_save_tells_the_draft_its_token_was_used(app, login_as):
    c = login_as("county_staff")
    lead_id = make_lead(app, c.user)
    for key in ("draft-token-0001", "draft-token-0002"):
        c.post("/interactions/new", data=visit(lead_id=lead_id, idempotency_key=key))
    cookie = c.get_cookie("crm_visit_saved")
    assert cookie is not None and cookie.value.split(".") == ["draft-token-0001", "draft-token-0002"]
    assert not cookie.http_only  # static/js/visit-form.js reads it


def test_session_state_says_who_is_signed_in_with_a_token(client, login_as):
    anonymous = client.get("/webapp/session")
    assert anonymous.json["signed_in"] is False and anonymous.json["user_id"] is None
    assert anonymous.json["csrf_token"] and anonymous.headers["Cache-Control"] == "no-store"
    c = login_as("county_staff")
    state = c.get("/webapp/session").json
    assert state["signed_in"] is True and state["user_id"] == c.user.id


def test_manifest_makes_the_visit_form_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    body = response.json if response.is_json else __import__("json").loads(response.data)
    assert body["start_url"] == "/interactions/new" and body["display"] == "standalone"
    assert body["name"] == "招商客商管理平台"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert sizes == {"192x192", "512x512"}
    for icon in body["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png.data[16:20], "big"), int.from_bytes(png.data[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]
        png.close()


def test_service_worker_is_served_from_the_root_with_its_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    text = response.get_data(as_text=True)
    assert text.startswith("self.CRM_SHELL = ") and '"/interactions/new"' in text
    assert "/static/js/visit-form.js" in text and "/static/vendor/bootstrap/css/bootstrap.min.css" in text
    for path in re.search(r'"assets": (\[.*?\])', text).group(1).strip("[]").split(", "):
        asset = client.get(path.strip('"'))
        assert asset.status_code == 200, path
        asset.close()


def test_security_headers_allow_the_worker_and_manifest_from_this_site_only(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["worker-src"] == "'self'" and directives["manifest-src"] == "'self'"
    assert directives["script-src"] == "'self'"


def test_visit_form_links_its_manifest_and_page_script(login_as):
    page = login_as("county_staff").get("/interactions/new").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in page
    assert "/static/js/visit-form.js" in page and 'id="visit-form-config"' in page
    assert page.index("js/visit-form.js") < page.index("js/pickers.js")  # restores before the pickers wrap


# --- item 4: dates with the year ----------------------------------------------------------------------------

def test_no_template_shows_a_date_without_its_year():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for fmt in re.findall(r"localtime\('([^']*)'\)", path.read_text(encoding="utf-8")):
            if ("MM" in fmt or "dd" in fmt) and "y" not in fmt:
                offenders.append(f"{path.name}: {fmt}")
    assert offenders == []


def test_trip_choices_on_the_visit_form_carry_the_year(app, login_as):
    c = login_as("county_staff")
    c.post("/trips/new", data={"title": "京津冀招商考察", "leader_level": "none", "starts_on": "2027-03-10",
                               "ends_on": "2027-03-12", "participant_ids": [c.user.id]})
    page = c.get("/interactions/new").get_data(as_text=True)
    assert "京津冀招商考察 (2027-03-10–03-12)" in page


def test_an_expired_form_token_leads_back_to_the_form_not_a_refusal(database_url, tmp_path):
    from crm import create_app
    from tests.conftest import base_config

    app = create_app(base_config(database_url, str(tmp_path)) | {"WTF_CSRF_ENABLED": True})
    c = app.test_client()
    response = c.post("/interactions/new", data=visit(summary="山区叩门拜访"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "表单已过期" in page and "请求被拒绝" not in page
    assert 'href="/interactions/new"' in page and "内容已保存在本机" in page
    answer = c.post("/interactions/new", data=visit(), headers=JSON)
    assert answer.status_code == 400 and answer.json["error"] == "csrf"
    with app.app_context():
        db.engine.dispose()


LEAD_FORM = {"name": "安康富硒茶业有限公司", "kind": "enterprise", "status": "new", "industry_id": 0,
             "owner_county_id": 0, "owner_id": 0, "home_county_id": 0, "source_channel": "", "referrer_id": 0}


def test_lead_form_duplicate_warning_opens_the_existing_lead_instead(app, login_as):
    c = login_as("county_staff")
    existing = make_lead(app, c.user, name="安康富硒茶业有限公司")
    page = c.post("/leads/new", data=LEAD_FORM).get_data(as_text=True)
    assert re.search(rf'<a class="btn btn-sm btn-outline-primary use-lead" href="/leads/{existing}">', page)
    other = make_lead(app, c.user, name="另一家茶业公司")
    page = c.post(f"/leads/{other}/edit", data=LEAD_FORM).get_data(as_text=True)
    assert 'name="force"' in page and "use-lead" not in page  # editing: there is no visit to move
    assert count(app, Lead) == 2


def test_summary_names_a_contact_rows_own_field(login_as):
    c = login_as("county_staff")
    page = c.post("/leads/new", data=LEAD_FORM | {"name": "紫阳新茶厂", "uscc": "123", "contacts-0-name": "王经理",
                                                  "contacts-0-mobile": "12"}).get_data(as_text=True)
    links = summary_links(page)
    assert "uscc" in links and "contacts-0-mobile" in links
    block = page[page.index("error-summary"):page.index("</ul>", page.index("error-summary"))]
    assert "{" not in block and "[" not in block  # no raw error dict of a row
