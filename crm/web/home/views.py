"""The start page after sign-in: the leaders' dashboard for viewers and city staff; for everyone else today's work
at a glance and the quickest way to log a visit."""
from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.models import Role
from crm.services import dashboard, followups, notifications, problems, targets
from crm.services.permissions import can

bp = Blueprint("home", __name__)

DASHBOARD_ROLES = (Role.VIEWER, Role.CITY_STAFF)


@bp.route("/")
@login_required
def index():
    user, now = current_user._get_current_object(), datetime.now(UTC)
    if user.role == Role.DEPARTMENT:
        return redirect(url_for("problems.index"))  # a department contact's whole job is there
    page = {"buckets": followups.my_followups(user, now) if user.role != Role.VIEWER else {},
            "unread": notifications.unread_count(user), "may_log": can(user, "interaction.log"),
            "problem_counts": problems.counts(user, now) if can(user, "problem.list") else None}
    if user.role not in DASHBOARD_ROLES:
        return render_template("home/index.html", **page)
    year = request.args.get("year", type=int)
    if not (year and targets.MIN_YEAR <= year <= targets.MAX_YEAR):
        year = dashboard.current_year(now)
    return render_template("home/dashboard.html", board=dashboard.leaders_dashboard(user, year, now=now), **page)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: a permanent redirect to the static icon."""
    return redirect(url_for("static", filename="favicon.ico"), 301)
