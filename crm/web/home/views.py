"""The start page after sign-in: today's work at a glance and the quickest way to log a visit."""
from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from crm.services import followups, notifications
from crm.services.permissions import can

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user._get_current_object()
    buckets = followups.my_followups(user, datetime.now(UTC)) if user.role != "viewer" else {}
    return render_template("home/index.html", buckets=buckets, unread=notifications.unread_count(user),
                           may_log=can(user, "interaction.log"))
