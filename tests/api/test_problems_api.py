"""The problems API: raise, read with the timeline, route, advance, confirm, instruct, edit with versions, the
department list; bad input is a 422 problem+json naming the field, in Chinese, with nothing saved."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.extensions import db
from crm.models import Problem, User
from crm.services.departments import department_by_code, load_reference_departments


@pytest.fixture
def setup(app, api_client):
    from crm.services.counties import county_by_code
    from crm.services.projects import create_project

    with app.app_context():
        load_reference_departments()
        land, power = department_by_code("CITY-ZRZY").id, department_by_code("CITY-GD").id
        hanbin = county_by_code("610902").id
    county, city = api_client("county_staff", "610902"), api_client("city_staff", None)
    contact = api_client("department", None, department_id=land)
    other_contact = api_client("department", None, department_id=power)
    leader = api_client("viewer", None)
    with app.test_request_context():
        project = create_project(db.session.get(User, county.user.id), {"name": "富硒茶深加工项目",
                                                                        "county_id": hanbin}, now=datetime.now(UTC)).id
    return {"county": county, "city": city, "contact": contact, "other_contact": other_contact, "leader": leader,
            "land": land, "power": power, "project": project}


def test_the_loop_through_the_api(app, setup):
    s = setup
    made = s["county"].post("/api/v1/problems", json={"title": "二期用地未交付", "category": "land",
                                                      "severity": "urgent", "project_id": s["project"]})
    assert made.status_code == 201, made.json
    pid = made.json["id"]
    assert made.json["status"] == "pending" and made.json["entries"][0]["kind"] == "raised"
    assert made.json["target_name"] == "富硒茶深加工项目"
    assert s["city"].post(f"/api/v1/problems/{pid}/route", json={"department_id": s["land"]}).status_code == 200
    refused = s["other_contact"].post(f"/api/v1/problems/{pid}/advance", json={"status": "in_progress", "text": "x"})
    assert refused.status_code == 403 and "其他部门" in refused.json["detail"]
    assert s["contact"].post(f"/api/v1/problems/{pid}/advance",
                             json={"status": "resolved", "text": "用地批复已下达"}).json["status"] == "resolved"
    assert s["contact"].get("/api/v1/leads").status_code == 403  # the guard: nothing else for a department
    bad = s["county"].post(f"/api/v1/problems/{pid}/confirm", json={"satisfaction": 9})
    assert bad.status_code == 422 and "satisfaction" in bad.json["errors"]
    assert "1 到 5" in bad.json["errors"]["satisfaction"][0]
    done = s["county"].post(f"/api/v1/problems/{pid}/confirm", json={"satisfaction": 5, "text": "满意"})
    assert done.json["status"] == "confirmed" and done.json["satisfaction"] == 5
    assert s["leader"].post(f"/api/v1/problems/{pid}/instruct", json={"text": "总结经验"}).status_code == 200
    kinds = [e["kind"] for e in s["city"].get(f"/api/v1/problems/{pid}").json["entries"]]
    assert kinds == ["raised", "routed", "resolved", "confirmed", "instruction"]
    listing = s["contact"].get("/api/v1/problems").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == pid
    assert s["other_contact"].get("/api/v1/problems").json["total"] == 0


def test_bad_input_is_refused_and_nothing_is_saved(app, setup):
    s = setup
    past = s["county"].post("/api/v1/problems", json={"title": "用电", "category": "utilities",
                                                      "project_id": s["project"], "deadline_on": "2020-01-01"})
    assert past.status_code == 422 and "过去" in past.json["errors"]["deadline_on"][0]
    assert s["county"].post("/api/v1/problems", json={"title": "", "category": "x"}).status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Problem.id))) == 0


def test_edits_carry_versions_and_departments_are_listed(app, setup):
    s = setup
    pid = s["county"].post("/api/v1/problems", json={"title": "环评", "category": "environment",
                                                     "project_id": s["project"]}).json["id"]
    read = s["county"].get(f"/api/v1/problems/{pid}")
    patched = s["county"].patch(f"/api/v1/problems/{pid}", json={"severity": "urgent"},
                                headers={"If-Match": read.headers["ETag"]})
    assert patched.status_code == 200 and patched.json["severity"] == "urgent"
    stale = s["county"].patch(f"/api/v1/problems/{pid}", json={"title": "改"}, headers={"If-Match": read.headers["ETag"]})
    assert stale.status_code == 412
    names = {d["name"] for d in s["contact"].get("/api/v1/departments?city=true").json}
    assert "市自然资源局" in names and "汉滨区自然资源局" not in names
    assert s["county"].post("/api/v1/departments", json={"code": "X-1", "name": "某局"}).status_code == 403


def test_the_openapi_documents_the_problems():
    from crm import create_app
    from tests.conftest import base_config

    app = create_app(base_config("sqlite://", "/tmp"))
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert {"/api/v1/problems", "/api/v1/problems/{problem_id}", "/api/v1/problems/{problem_id}/route",
            "/api/v1/problems/{problem_id}/advance", "/api/v1/problems/{problem_id}/confirm",
            "/api/v1/departments"} <= set(spec["paths"])
    assert "ProblemDetail" in spec["components"]["schemas"]
