"""Admin pages: only admins reach them; users are created, edited, deactivated; every change is audited."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.models import AuditEntry, User

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/counties", "/admin/audit"]


@pytest.mark.parametrize("role,expected", [("admin", 200), ("city_staff", 403), ("county_staff", 403),
                                           ("viewer", 403)])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_by_role(login_as, role, expected, path):
    client = login_as(role, "610902" if role == "county_staff" else None)
    assert client.get(path).status_code == expected


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_creates_county_user_and_it_is_audited(app, login_as):
    from tests.conftest import county_id

    admin = login_as("admin", None)
    response = admin.post("/admin/users/new", data={
        "username": "ziyang2", "display_name": "紫阳干部", "role": "county_staff",
        "county_id": county_id(app, "610924"), "email": "", "phone": "", "language": "zh",
        "password": "Long-enough-1"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.query(User).filter_by(username="ziyang2").one()
        entry = db.session.query(AuditEntry).filter_by(object_type="user", object_id=user.id, action="create").one()
        assert entry.actor_id == admin.user.id and entry.after["role"] == "county_staff"


def test_county_staff_without_county_is_refused_on_the_form(login_as):
    admin = login_as("admin", None)
    response = admin.post("/admin/users/new", data={
        "username": "nocounty", "display_name": "无县区", "role": "county_staff", "county_id": 0,
        "language": "zh", "password": "Long-enough-1"})
    assert response.status_code == 200
    assert "县区干部必须选择所属县区" in response.get_data(as_text=True)


def test_deactivating_a_user_ends_their_session(app, login_as, make_user):
    from tests.conftest import login

    target = make_user("county_staff")
    victim = app.test_client()
    login(victim, target)
    assert victim.get("/").status_code == 200
    admin = login_as("admin", None)
    response = admin.post(f"/admin/users/{target.id}/edit", data={
        "username": target.username, "display_name": "改名", "role": "county_staff",
        "county_id": target.county_id, "language": "zh", "is_active_user": ""})
    assert response.status_code == 302
    assert victim.get("/").status_code == 302
    with app.app_context():
        entry = db.session.query(AuditEntry).filter_by(object_id=target.id, action="update").one()
        assert entry.before["is_active_user"] is True and entry.after["is_active_user"] is False


def test_admin_resets_password_and_old_one_stops_working(app, login_as, make_user):
    from tests.conftest import login

    target = make_user("county_staff")
    admin = login_as("admin", None)
    admin.post(f"/admin/users/{target.id}/password", data={"password": "Reset-pass-99"})
    assert login(app.test_client(), target).status_code == 200  # old password refused
    assert login(app.test_client(), target, "Reset-pass-99").status_code == 302


def test_xss_in_display_name_is_escaped(app, login_as):
    admin = login_as("admin", None)
    admin.post("/admin/users/new", data={"username": "xss1", "display_name": "<script>alert(1)</script>",
                                         "role": "viewer", "county_id": 0, "language": "zh",
                                         "password": "Long-enough-1"})
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_oversized_display_name_is_refused_cleanly(login_as):
    admin = login_as("admin", None)
    response = admin.post("/admin/users/new", data={"username": "big1", "display_name": "长" * 5000,
                                                    "role": "viewer", "county_id": 0, "language": "zh",
                                                    "password": "Long-enough-1"})
    assert response.status_code == 200


def test_admin_edits_a_county_name(app, login_as):
    from tests.conftest import county_id

    admin = login_as("admin", None)
    cid = county_id(app, "AK-HKQ")
    response = admin.post(f"/admin/counties/{cid}/edit", data={"name": "恒口示范区（试验区）", "kind": "zone",
                                                              "sort_order": 12, "is_active": "y"})
    assert response.status_code == 302
    assert "恒口示范区（试验区）" in admin.get("/admin/counties").get_data(as_text=True)
    assert "恒口示范区（试验区）" in admin.get("/admin/audit?object_type=county").get_data(as_text=True)
