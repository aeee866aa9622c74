"""The notification centre page, marking read, the user's channel choices, and the navbar's unread count."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import notifications
from crm.web.followups.labels import NOTIFICATION_ICONS
from crm.web.pagination import paginate

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def _unread():
    """One cheap count per page for the navbar badge; nothing for anonymous visitors."""
    def unread_notifications() -> int:
        if not current_user or not current_user.is_authenticated:
            return 0
        return notifications.unread_count(current_user)

    return {"unread_notifications": unread_notifications, "notification_icons": NOTIFICATION_ICONS}


@bp.before_request
@login_required
def _signed_in():
    pass


def _safe(link: str | None) -> str | None:
    return link if link and link.startswith("/") and not link.startswith("//") else None


@bp.route("/")
def index():
    unread_only = request.args.get("unread") == "1"
    page = paginate(notifications.notifications_query(current_user, unread_only=unread_only), per_page=30)
    available = notifications.channels_available()
    return render_template("notifications/index.html", page=page, unread_only=unread_only,
                           followup_status=notifications.linked_followups(page.items),
                           reminder_kinds=notifications.REMINDER_KINDS,
                           mail_on=available[notifications.EMAIL], webhook_on=available[notifications.WEBHOOK])


@bp.route("/<int:notification_id>/read", methods=["POST"])
def read(notification_id: int):
    note = notifications.mark_read(current_user, notification_id, now=datetime.now(UTC))
    if request.form.get("go") == "1" and _safe(note.link):
        return redirect(_safe(note.link))
    return redirect(url_for("notifications.index", unread=request.args.get("unread")))


@bp.route("/read-all", methods=["POST"])
def read_all():
    notifications.mark_all_read(current_user, now=datetime.now(UTC))
    return redirect(url_for("notifications.index"))


@bp.route("/channels", methods=["POST"])
def channels():
    # A channel the server cannot send on is shown disabled (so never posted): its stored choice stays as it was.
    available = notifications.channels_available()
    email = request.form.get("notify_email") == "1" if available[notifications.EMAIL] else current_user.notify_email
    webhook = (request.form.get("notify_webhook") == "1" if available[notifications.WEBHOOK]
               else current_user.notify_webhook)
    notifications.set_channels(current_user, email=email, webhook=webhook)
    flash(_("Your notification choices were saved."), "success")
    return redirect(url_for("notifications.index"))
