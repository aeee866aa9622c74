"""Double submit: every create form carries a one-time token drawn when the page is shown, so posting the same
page again (a double tap, the back button, a retry) lands on the first record instead of making another."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Event, Followup, FundsArrival, ImportBatch, Interaction, Lead, Project, Trip, User
from crm.services import leads, projects
from tests.conftest import county_id

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
TOKEN = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def token(page: str) -> str:
    found = TOKEN.findall(page)
    assert len(found) == 1, "the create form carries exactly one token"
    return found[0]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _lead(app, ref) -> int:
    with app.test_request_context():
        return leads.create_lead(db.session.get(User, ref.id), {"name": "恒信建设工程有限公司"}, now=NOW).id


def _project(app, ref) -> int:
    with app.test_request_context():
        return projects.create_project(db.session.get(User, ref.id), {"name": "富硒茶深加工项目", "is_continuing": True,
                                                                      "investment_total": "10000"}, now=NOW).id


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")


def _visit(app, c):
    lead_id = _lead(app, c.user)
    return f"/leads/{lead_id}/interactions/new", f"/leads/{lead_id}/interactions/new", {
        "kind": "visit", "occurred_at": "2026-01-15T09:30", "leader_level": "county", "leader_name": "张县长",
        "visitor_count": "3", "summary": "介绍园区政策", "trip_id": "0", "participant_ids": [c.user.id],
        "next_title": "寄送园区资料", "next_due_at": _soon(), "next_assignee_id": c.user.id}


def _trip(app, c):
    today = datetime.now(UTC).date().isoformat()
    return "/trips/new", "/trips/new", {"title": "京津冀招商考察", "leader_level": "city", "leader_name": "市长",
                                        "starts_on": today, "ends_on": today, "participant_ids": [c.user.id]}


def _followup(app, c):
    return "/followups/new", "/followups/new", {"title": "寄送资料", "lead_id": _lead(app, c.user),
                                                "due_at": _soon(), "priority": "normal",
                                                "assignee_id": c.user.id, "county_id": 0}


def _new_project(app, c):
    return "/projects/new", "/projects/new", {"name": "毛绒玩具加工", "county_id": county_id(app, "610902"),
                                              "industry_id": 0, "investment_total": "5000", "stage": "planned",
                                              "source_channel": "", "referrer_id": 0, "event_id": 0}


def _lead_form(app, c):
    return "/leads/new", "/leads/new", {"name": "秦巴生物药业有限公司", "kind": "enterprise", "status": "new",
                                        "industry_id": 0, "owner_county_id": c.user.county_id,
                                        "owner_id": c.user.id, "home_county_id": 0, "source_channel": "",
                                        "referrer_id": 0, "contacts-0-name": "王经理",
                                        "contacts-0-mobile": "13912345678", "contacts-0-is_primary": "y"}


def _event(app, c):
    return "/events/new", "/events/new", {"name": "雄安推介会", "held_on": "2027-03-19", "city": "雄安",
                                          "county_id": county_id(app, "610902")}


def _funds(app, c):
    pid = _project(app, c.user)
    return f"/projects/{pid}", f"/projects/{pid}/funds", {"amount": "100.5", "arrived_on": "2026-02-01",
                                                          "out_of_province": "y"}


FORMS = {"visit": (_visit, [Interaction, Followup]), "trip": (_trip, [Trip]), "followup": (_followup, [Followup]),
         "project": (_new_project, [Project]), "lead": (_lead_form, [Lead]), "event": (_event, [Event]),
         "funds": (_funds, [FundsArrival])}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_the_same_create_form_posted_three_times_saves_once(app, login_as, name):
    c = login_as("county_staff")
    build, models = FORMS[name]
    page_url, post_url, data = build(app, c)
    before = {m: count(app, m) for m in models}
    data["idempotency_key"] = token(c.get(page_url).get_data(as_text=True))
    responses = [c.post(post_url, data=data) for _ in range(3)]
    assert [r.status_code for r in responses] == [302] * 3, responses[0].get_data(as_text=True)[:3000]
    assert len({r.headers["Location"] for r in responses}) == 1
    assert {m.__name__: count(app, m) - before[m] for m in models} == {m.__name__: 1 for m in models}
    page = c.get(responses[-1].headers["Location"]).get_data(as_text=True)
    assert "该表单已提交过" in page


def test_the_same_upload_posted_twice_makes_one_import(app, login_as):
    c = login_as("county_staff")
    key = token(c.get("/imports/new").get_data(as_text=True))

    def upload():
        return c.post("/imports/new", data={"file": (io.BytesIO("企业名称\n安康甲公司\n".encode()), "leads.csv"),
                                            "duplicate_mode": "skip", "idempotency_key": key},
                      content_type="multipart/form-data")

    first, second = upload(), upload()
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert count(app, ImportBatch) == 1


def test_a_fresh_page_draws_a_fresh_token_and_saves_again(app, login_as):
    c = login_as("county_staff")
    _page, url, data = _trip(app, c)
    first, second = (token(c.get(url).get_data(as_text=True)) for _ in range(2))
    assert first != second
    for key in (first, second):
        assert c.post(url, data=dict(data, idempotency_key=key)).status_code == 302
    assert count(app, Trip) == 2


def test_a_refused_post_keeps_its_token_and_the_corrected_one_saves_once(app, login_as):
    c = login_as("county_staff")
    _page, url, data = _followup(app, c)
    key = token(c.get(url).get_data(as_text=True))
    refused = c.post(url, data=dict(data, title="", idempotency_key=key))
    assert refused.status_code == 200 and token(refused.get_data(as_text=True)) == key
    for _ in range(2):
        assert c.post(url, data=dict(data, idempotency_key=key)).status_code == 302
    assert count(app, Followup) == 1


def test_a_tampered_token_is_refused_with_a_message(app, login_as):
    c = login_as("county_staff")
    _page, url, data = _trip(app, c)
    response = c.post(url, data=dict(data, idempotency_key="<script>"))
    assert response.status_code == 200 and "幂等键" in response.get_data(as_text=True)
    assert count(app, Trip) == 0

