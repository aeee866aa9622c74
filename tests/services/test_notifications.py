"""The notification centre: planned once per dedupe key, outbox rows per the user's choices, own only."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.models import Notification, OutboxMessage, User
from crm.services import notifications
from crm.services.errors import NotFound
from tests.services.test_followups import NOW


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_notify_twice_with_same_key_is_a_no_op(app, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", CHAT_WEBHOOK_URL="http://127.0.0.1:9/robot")
    staff = make_user("county_staff", email="wang@ankang.test")
    with app.test_request_context():
        u = db.session.get(User, staff.id)
        first = notifications.notify(u, "due_soon", "提醒", "正文", "/followups/1", "due_soon:1:x", now=NOW)
        again = notifications.notify(u, "due_soon", "提醒", "正文", "/followups/1", "due_soon:1:x", now=NOW)
        db.session.commit()
        assert first is not None and again is None
        assert count(Notification) == 1
        assert sorted(db.session.scalars(db.select(OutboxMessage.channel))) == ["email", "webhook"]


def test_notify_respects_user_choices(app, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", CHAT_WEBHOOK_URL="http://127.0.0.1:9/robot")
    no_mail = make_user("county_staff", email="a@ankang.test", notify_email=False)
    no_address = make_user("county_staff", notify_webhook=False)
    with app.test_request_context():
        for uid in (no_mail.id, no_address.id):
            notifications.notify(db.session.get(User, uid), "k", "t", "", None, "key", now=NOW)
        db.session.commit()
        assert count(Notification) == 2
        assert list(db.session.execute(db.select(OutboxMessage.user_id, OutboxMessage.channel))) == [
            (no_mail.id, "webhook")]


def test_unread_count_and_mark_read_own_only(app, make_user):
    me, other = make_user("county_staff"), make_user("county_staff")
    with app.test_request_context():
        u = db.session.get(User, me.id)
        ids = [notifications.notify(u, "k", f"t{i}", "", None, f"key{i}", now=NOW + timedelta(minutes=i)).id
               for i in range(3)]
        db.session.commit()
        assert notifications.unread_count(u) == 3 and notifications.unread_count(None) == 0
        assert [n.title for n in notifications.list_notifications(u)] == ["t2", "t1", "t0"]
        with pytest.raises(NotFound):
            notifications.mark_read(db.session.get(User, other.id), ids[0], now=NOW)
        notifications.mark_read(u, ids[0], now=NOW)
        assert notifications.unread_count(u) == 2
        assert notifications.mark_all_read(u, now=NOW) == 2
        assert notifications.unread_count(u) == 0


def test_inactive_user_gets_nothing(app, make_user):
    gone = make_user("county_staff", is_active_user=False)
    with app.test_request_context():
        assert notifications.notify(db.session.get(User, gone.id), "k", "t", "", None, "key", now=NOW) is None
