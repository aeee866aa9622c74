"""The notification centre page, the navbar badge and marking read (own only)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from crm.extensions import db
from crm.models import Notification, User
from crm.services import notifications


def plan(app, user_id, key, title="新的跟进任务", link="/followups/mine"):
    with app.test_request_context():
        note = notifications.notify(db.session.get(User, user_id), "assigned", title, "明天上午", link, key,
                                    now=datetime.now(UTC))
        db.session.commit()
        return note.id


def test_badge_counts_unread_and_centre_lists_them(app, login_as):
    client = login_as("county_staff")
    plan(app, client.user.id, "a")
    plan(app, client.user.id, "b", title="第二条")
    home = client.get("/").get_data(as_text=True)
    assert "bi-bell" in home and ">2</span>" in home
    page = client.get("/notifications/").get_data(as_text=True)
    assert "新的跟进任务" in page and "第二条" in page


def test_open_marks_read_and_follows_link(app, login_as):
    client = login_as("county_staff")
    nid = plan(app, client.user.id, "a")
    response = client.post(f"/notifications/{nid}/read", data={"go": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/followups/mine")
    with app.app_context():
        assert db.session.get(Notification, nid).read_at is not None


def test_marking_someone_elses_notification_is_not_found(app, login_as, make_user):
    other = make_user("county_staff")
    nid = plan(app, other.id, "a")
    client = login_as("county_staff")
    assert client.post(f"/notifications/{nid}/read").status_code == 404


def test_channel_choices_saved(app, login_as):
    app.config.update(MAIL_SERVER="127.0.0.1", CHAT_WEBHOOK_URL="http://127.0.0.1:9/hook")
    client = login_as("county_staff")
    client.post("/notifications/channels", data={"notify_webhook": "1"})
    with app.app_context():
        u = db.session.get(User, client.user.id)
        assert (u.notify_email, u.notify_webhook) == (False, True)
    page = client.get("/notifications/").get_data(as_text=True)
    assert re.search(r'id="ch-hook" checked\s*>', page) and re.search(r'id="ch-email"\s*>', page)


def test_channels_not_set_up_are_unticked_and_disabled(app, login_as):
    """Issue 14 #9: both boxes were ticked although both said 系统尚未配置."""
    app.config.update(MAIL_SERVER="", CHAT_WEBHOOK_URL="")
    client = login_as("county_staff")
    page = client.get("/notifications/").get_data(as_text=True)
    for box in ("ch-email", "ch-hook"):
        tag = re.search(rf'<input[^>]*id="{box}"[^>]*>', page).group(0)
        assert "disabled" in tag and "checked" not in tag
    client.post("/notifications/channels", data={})  # disabled boxes are never posted: nothing changes
    with app.app_context():
        u = db.session.get(User, client.user.id)
        assert (u.notify_email, u.notify_webhook) == (True, True)


def test_anonymous_sees_no_badge(client):
    assert "bi-bell" not in client.get("/login").get_data(as_text=True)
