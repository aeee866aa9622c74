"""Sign-in, lockout, safe redirects, logout that really ends the session, password change, CSRF."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import login


def test_login_with_right_password_reaches_home(client, make_user):
    user = make_user("county_staff")
    response = login(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "退出登录" in page.get_data(as_text=True)


def test_login_with_wrong_password_is_refused_in_chinese(client, make_user):
    user = make_user("county_staff")
    response = login(client, user, "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client):
    response = client.post("/login", data={"username": "nobody", "password": "whatever-1"})
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(client, make_user, app):
    user = make_user("county_staff")
    for _ in range(5):
        login(client, user, "wrong-password")
    response = login(client, user)
    assert response.status_code == 200
    assert "锁定" in response.get_data(as_text=True)
    from crm.extensions import db
    from crm.models import AuditEntry

    with app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="lock", object_id=user.id).count() == 1


def test_many_failures_from_one_address_throttle_before_hashing(client, app):
    app.config["LOGIN_IP_MAX_FAILURES"] = 3
    for i in range(3):
        client.post("/login", data={"username": f"ghost{i}", "password": "x" * 9})
    response = client.post("/login", data={"username": "ghost", "password": "x" * 9})
    assert "网络登录失败次数过多" in response.get_data(as_text=True)


@pytest.mark.parametrize("target,expected", [
    ("/admin/users", "/admin/users"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirect_only_goes_to_this_site(client, make_user, target, expected):
    user = make_user("county_staff")
    response = client.post("/login?next=" + target, data={"username": user.username, "password": user.password})
    assert response.headers["Location"] == expected


def test_logout_invalidates_a_copied_session_cookie(app, make_user):
    user = make_user("county_staff")
    first = app.test_client()
    login(first, user)
    stolen = first.get_cookie("session").value
    first.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302  # back to the sign-in page


def test_change_password_signs_out_other_sessions(app, make_user):
    user = make_user("county_staff")
    mine, other = app.test_client(), app.test_client()
    login(mine, user)
    login(other, user)
    response = mine.post("/password", data={"current_password": user.password, "new_password": "Brand-new-pass-2",
                                            "confirm": "Brand-new-pass-2"})
    assert response.status_code == 302
    assert mine.get("/").status_code == 200
    assert other.get("/").status_code == 302
    fresh = app.test_client()
    assert login(fresh, user, "Brand-new-pass-2").status_code == 302


def test_change_password_with_wrong_current_password_is_refused(login_as):
    client = login_as("county_staff")
    response = client.post("/password", data={"current_password": "nope-nope", "new_password": "Brand-new-pass-2",
                                              "confirm": "Brand-new-pass-2"})
    assert response.status_code == 200
    assert "当前密码不正确" in response.get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("county_staff")
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": user.password})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_form_post_with_csrf_token_from_the_page_works(app, make_user):
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("county_staff")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": user.username, "password": user.password, "csrf_token": token})
    assert response.status_code == 302


def test_inactive_user_cannot_sign_in(client, make_user):
    user = make_user("county_staff", is_active_user=False)
    response = login(client, user)
    assert "该账号已停用" in response.get_data(as_text=True)


def test_user_language_english_renders_english(app, make_user):
    user = make_user("county_staff", language="en")
    client = app.test_client()
    login(client, user)
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_session_cookie_flags(client, make_user):
    user = make_user("county_staff")
    response = login(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


STRANGER = {"REMOTE_ADDR": "203.0.113.9"}


def test_bad_passwords_from_a_stranger_address_do_not_lock_the_owner_out(app, client, make_user):
    user = make_user("admin", None)
    stranger = app.test_client()
    for _ in range(8):
        stranger.post("/login", data={"username": user.username, "password": "wrong-password"},
                      environ_base=STRANGER)
    refused = stranger.post("/login", data={"username": user.username, "password": user.password},
                            environ_base=STRANGER)
    assert "锁定" in refused.get_data(as_text=True)
    assert login(client, user).status_code == 302  # the owner, from their own address, still signs in


def test_lock_message_is_the_same_for_a_username_that_does_not_exist(app, make_user):
    user = make_user("county_staff")
    answers = []
    for name in (user.username, "no-such-user"):
        c = app.test_client()
        for _ in range(5):
            c.post("/login", data={"username": name, "password": "wrong-password"})
        page = c.post("/login", data={"username": name, "password": "wrong-password"}).get_data(as_text=True)
        answers.append([line for line in page.splitlines() if "alert" in line or "锁定" in line or "错误" in line])
    assert answers[0] == answers[1]
    assert any("锁定" in line for line in answers[0])


def test_admin_password_reset_lifts_a_lock(app, client, make_user, login_as):
    user = make_user("county_staff")
    for _ in range(5):
        login(client, user, "wrong-password")
    assert "锁定" in login(client, user).get_data(as_text=True)
    from crm.extensions import db
    from crm.models import User
    from crm.services.users import reset_password

    admin = make_user("admin", None)
    with app.app_context():
        reset_password(db.session.get(User, admin.id), user.id, "Fresh-pass-2026", now=datetime.now(UTC))
    assert login(client, user, "Fresh-pass-2026").status_code == 302
