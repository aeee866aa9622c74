"""Display labels for the code names of DESIGN.md §2 and the navigation, translated at render time."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.services.permissions import can

ROLE_LABELS = {"admin": _l("Administrator"), "city_staff": _l("City staff"), "county_staff": _l("County staff"),
               "viewer": _l("Leader (read-only)"), "department": _l("Department contact")}
COUNTY_KIND_LABELS = {"city": _l("City"), "district": _l("District"), "county": _l("County"),
                      "county_city": _l("County-level city"), "zone": _l("Development zone")}

# Features add their start pages here with the permission their page checks; only endpoints that exist and
# that the signed-in user may use are shown (derived from permissions.can, never from a list of roles).
NAV = [
    ("leads.index", "people", _l("Leads"), "lead.view"),
    ("followups.mine", "list-check", _l("Follow-ups"), "followup.view"),
    ("search.index", "search", _l("Search"), "search.run"),
    ("outreach.index", "gift", _l("Holiday outreach"), "outreach.view"),
    ("projects.index", "kanban", _l("Projects"), "project.view"),
    ("problems.index", "exclamation-diamond", _l("Problem coordination"), "problem.list"),
    ("events.index", "calendar-event", _l("Events"), "event.view"),
    ("reports.annual", "bar-chart", _l("Reports"), "report.view"),
    ("imports.index", "upload", _l("Data import"), "import.view"),
]
# The administration menu: (endpoint, label, permission).
ADMIN_NAV = [
    ("admin.users_index", _l("Users"), "user.manage"),
    ("admin.counties_index", _l("Counties"), "county.manage"),
    ("problems.departments_index", _l("Departments"), "department.manage"),
    ("admin.audit_index", _l("Audit log"), "audit.view"),
]


def nav_items(user=None) -> list[tuple[str, str, str]]:
    user = current_user if user is None else user
    views = current_app.view_functions
    from crm.web.department_guard import allows  # a department contact reaches only the pages meant for them

    return [(endpoint, icon, str(label)) for endpoint, icon, label, action in NAV
            if endpoint in views and allows(user, endpoint) and can(user, action)]


def admin_nav_items(user=None) -> list[tuple[str, str]]:
    user = current_user if user is None else user
    views = current_app.view_functions
    return [(endpoint, str(label)) for endpoint, label, action in ADMIN_NAV
            if endpoint in views and can(user, action)]


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def county_kind_label(code: str) -> str:
    return str(COUNTY_KIND_LABELS.get(code, code))
