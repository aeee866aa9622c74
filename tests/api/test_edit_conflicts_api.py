"""Lost updates over the API: reads carry ETag and `version`; PATCH with a stale If-Match is 412, with a stale
body `version` 409 (problem+json naming who changed it); without either the update stays unconditional."""
from __future__ import annotations

import pytest


@pytest.fixture
def hanbin(api_client):
    return api_client("county_staff", "610902", display_name="王芳")


def _lead(c) -> dict:
    response = c.post("/api/v1/leads", json={"name": "恒信建设工程有限公司"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_get_lead_carries_etag_and_version(hanbin):
    lead = _lead(hanbin)
    response = hanbin.get(f"/api/v1/leads/{lead['id']}")
    assert response.headers["ETag"] == '"1"' and response.get_json()["version"] == 1


def test_patch_lead_with_current_if_match_saves_and_returns_the_new_etag(hanbin):
    lead = _lead(hanbin)
    response = hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "一"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert response.get_json()["version"] == 2


def test_patch_lead_with_stale_if_match_is_412_and_keeps_the_first_save(hanbin, api_client):
    other = api_client("county_staff", "610902")
    lead = _lead(hanbin)
    assert hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "先"}, headers={"If-Match": '"1"'}
                        ).status_code == 200
    response = other.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "后"}, headers={"If-Match": '"1"'})
    problem = response.get_json()
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert problem["current_version"] == 2 and problem["changed_by"] == "王芳" and problem["changed_at"]
    assert hanbin.get(f"/api/v1/leads/{lead['id']}").get_json()["notes"] == "先"


def test_patch_lead_with_stale_body_version_is_409(hanbin):
    lead = _lead(hanbin)
    assert hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "先", "version": 1}).status_code == 200
    response = hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "后", "version": 1})
    assert response.status_code == 409 and response.get_json()["current_version"] == 2
    huge = hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "后", "version": int("9" * 40)})
    assert huge.status_code == 422  # an integer no column holds is bad input, never a 500


def test_patch_lead_with_weak_or_garbled_if_match_is_412(hanbin):
    lead = _lead(hanbin)
    for header in ('W/"1"', '"abc"', '"1", "2"', f'"{"9" * 40}"'):
        assert hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "x"}, headers={"If-Match": header}
                            ).status_code == 412, header


def test_patch_lead_with_if_match_star_or_without_version_is_unconditional(hanbin):
    lead = _lead(hanbin)
    assert hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "一"}).status_code == 200
    response = hanbin.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "二"}, headers={"If-Match": "*"})
    assert response.status_code == 200 and response.get_json()["version"] == 3


def test_project_stage_change_makes_a_stale_project_patch_412(hanbin):
    project = hanbin.post("/api/v1/projects", json={"name": "毛绒玩具加工"}).get_json()
    etag = hanbin.get(f"/api/v1/projects/{project['id']}").headers["ETag"]
    moved = hanbin.post(f"/api/v1/projects/{project['id']}/stage", json={"stage": "negotiating"})
    assert moved.status_code == 200 and moved.headers["ETag"] == '"2"'
    response = hanbin.patch(f"/api/v1/projects/{project['id']}", json={"notes": "旧"}, headers={"If-Match": etag})
    assert response.status_code == 412


def test_followup_patch_with_stale_version_is_409(hanbin):
    lead = _lead(hanbin)
    fu = hanbin.post("/api/v1/followups", json={"title": "回访", "due_at": "2027-03-20T09:00", "lead_id": lead["id"],
                                                "assignee_id": hanbin.user.id}).get_json()
    assert fu["version"] == 1
    assert hanbin.get(f"/api/v1/followups/{fu['id']}").headers["ETag"] == '"1"'
    assert hanbin.patch(f"/api/v1/followups/{fu['id']}", json={"title": "电话回访", "version": 1}).status_code == 200
    assert hanbin.patch(f"/api/v1/followups/{fu['id']}", json={"title": "上门回访", "version": 1}).status_code == 409
    assert hanbin.get(f"/api/v1/followups/{fu['id']}").get_json()["title"] == "电话回访"


def test_event_patch_with_stale_if_match_is_412(api_client):
    city = api_client("city_staff", None)
    event = city.post("/api/v1/events", json={"name": "深圳推介会", "held_on": "2027-03-01"}).get_json()
    assert event["version"] == 1
    assert city.patch(f"/api/v1/events/{event['id']}", json={"city": "深圳"}, headers={"If-Match": '"1"'}
                      ).status_code == 200
    assert city.patch(f"/api/v1/events/{event['id']}", json={"city": "广州"}, headers={"If-Match": '"1"'}
                      ).status_code == 412
    assert city.get(f"/api/v1/events/{event['id']}").get_json()["city"] == "深圳"


def test_put_targets_with_stale_was_is_refused_and_untouched_cells_are_left_alone(api_client):
    admin, other = api_client("admin", None), api_client("admin", None, display_name="王芳")
    assert admin.put("/api/v1/targets?year=2027", json=[{"metric": "signed_count", "value": 10}]).status_code == 200
    assert other.put("/api/v1/targets?year=2027", json=[{"metric": "signed_count", "value": 20}]).status_code == 200
    kept = admin.put("/api/v1/targets?year=2027", json=[{"metric": "signed_count", "value": 10, "was": 10}])
    assert kept.status_code == 200 and kept.get_json()[0]["value"] == 20
    refused = admin.put("/api/v1/targets?year=2027", json=[{"metric": "signed_count", "value": 15, "was": 10}])
    problem = refused.get_json()
    assert refused.status_code == 422 and "王芳" in problem["errors"]["0.value"][0] and problem["errors"]["0.was"] == ["20"]
