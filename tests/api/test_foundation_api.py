"""The API frame: bearer tokens, problem+json, paging, OpenAPI, and /me, /counties, /users."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest


def test_no_token_is_401_problem_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and response.json["title"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer crm_wrong", "Bearer ", "Basic abc", "Bearer " + "x" * 5000, "crm_x"])
def test_wrong_token_is_401(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_session_cookie_does_not_authenticate_the_api(login_as):
    client = login_as("admin", None)
    assert client.get("/api/v1/me").status_code == 401


def test_me_returns_the_caller(api_client):
    client = api_client("county_staff", "610924")
    body = client.get("/api/v1/me").json
    assert body["username"] == client.user.username
    assert body["role"] == "county_staff" and body["county_id"] == client.user.county_id


def test_revoked_token_stops_working(app, api_client):
    from crm.extensions import db
    from crm.models import ApiToken, User
    from crm.services.tokens import revoke_token

    client = api_client("city_staff", None)
    assert client.get("/api/v1/me").status_code == 200
    with app.app_context():
        user = db.session.get(User, client.user.id)
        token = db.session.query(ApiToken).filter_by(user_id=user.id).one()
        revoke_token(user, token.id, now=datetime.now(UTC))
    assert client.get("/api/v1/me").status_code == 401


def test_token_of_deactivated_user_stops_working(app, api_client):
    from crm.extensions import db
    from crm.models import User

    client = api_client("city_staff", None)
    with app.app_context():
        db.session.get(User, client.user.id).is_active_user = False
        db.session.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_tokens_are_stored_hashed(app, api_client):
    from crm.extensions import db
    from crm.models import ApiToken

    client = api_client("viewer", None)
    with app.app_context():
        stored = db.session.query(ApiToken).filter_by(user_id=client.user.id).one()
        assert client.token not in (stored.token_hash, stored.prefix)


def test_counties_lists_ankang_with_codes(api_client):
    body = api_client("viewer", None).get("/api/v1/counties").json
    codes = {c["code"]: c for c in body}
    assert codes["610902"]["name"] == "汉滨区" and codes["AK-GXQ"]["kind"] == "zone"
    assert len(codes) == 13


def test_users_list_is_paged_for_admins(api_client, make_user):
    for _ in range(3):
        make_user("viewer", None)
    body = api_client("admin", None).get("/api/v1/users?per_page=2&page=1").json
    assert body["per_page"] == 2 and body["page"] == 1 and body["total"] >= 4 and len(body["items"]) == 2
    assert "password" not in body["items"][0] and "password_hash" not in body["items"][0]


@pytest.mark.parametrize("role", ["city_staff", "county_staff", "viewer"])
def test_users_list_forbidden_below_admin(api_client, role):
    response = api_client(role, "610902" if role == "county_staff" else None).get("/api/v1/users")
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_per_page_over_200_is_a_validation_problem(api_client):
    response = api_client("admin", None).get("/api/v1/users?per_page=1000")
    assert response.status_code == 422
    assert "per_page" in response.json["errors"]


def test_admin_creates_user_over_api(app, api_client):
    client = api_client("admin", None)
    from tests.conftest import county_id

    response = client.post("/api/v1/users", json={"username": "api-made", "display_name": "接口用户",
                                                  "password": "Long-enough-1", "role": "county_staff",
                                                  "county_id": county_id(app, "610921"), "email": "a@b.cn"})
    assert response.status_code == 201, response.json
    assert response.json["username"] == "api-made" and "password" not in response.json
    assert response.json["display_name"] == "接口用户"
    assert "接口用户" in response.get_data(as_text=True)  # Chinese unescaped


def test_create_user_validation_errors_are_field_problems(api_client):
    response = api_client("admin", None).post("/api/v1/users", json={
        "username": "ok-name", "display_name": "x", "password": "short", "role": "county_staff"})
    assert response.status_code == 422
    assert set(response.json["errors"]) >= {"password", "county_id"}


@pytest.mark.parametrize("body", ["not json", "[1,2]", '{"username": 5}', "\xff\xfe"])
def test_malformed_bodies_are_4xx_never_500(api_client, body):
    response = api_client("admin", None).post("/api/v1/users", data=body.encode("utf-8", "surrogateescape"),
                                              content_type="application/json")
    assert 400 <= response.status_code < 500


def test_non_admin_cannot_create_users(api_client):
    response = api_client("city_staff", None).post("/api/v1/users", json={
        "username": "nope", "display_name": "x", "password": "Long-enough-1", "role": "viewer"})
    assert response.status_code == 403


def test_unknown_api_path_is_problem_json(api_client):
    response = api_client("viewer", None).get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_openapi_document_is_served_and_names_the_paths(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/me", "/api/v1/counties", "/api/v1/users"):
        assert path in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_many_bad_tokens_from_one_address_are_throttled_before_lookup(app, client, api_client):
    app.config["API_TOKEN_IP_MAX_FAILURES"] = 3
    for i in range(3):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer crm_guess{i}"}).status_code == 401
    throttled = client.get("/api/v1/me", headers={"Authorization": "Bearer crm_guess9"})
    assert throttled.status_code == 429 and throttled.mimetype == "application/problem+json"
    assert int(throttled.headers["Retry-After"]) > 0
    elsewhere = api_client("county_staff")  # a good token from another address is not affected
    assert elsewhere.get("/api/v1/me", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_bad_tokens_do_not_count_against_web_sign_in(app, client, make_user):
    app.config["API_TOKEN_IP_MAX_FAILURES"] = 100
    app.config["LOGIN_IP_MAX_FAILURES"] = 3
    for i in range(5):
        client.get("/api/v1/me", headers={"Authorization": f"Bearer crm_guess{i}"})
    user = make_user("county_staff")
    from tests.conftest import login

    assert login(client, user).status_code == 302
