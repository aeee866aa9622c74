"""Display labels for the code names of DESIGN.md §2 and the navigation, translated at render time."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"admin": _l("Administrator"), "city_staff": _l("City staff"), "county_staff": _l("County staff"),
               "viewer": _l("Leader (read-only)"), "department": _l("Department contact")}
COUNTY_KIND_LABELS = {"city": _l("City"), "district": _l("District"), "county": _l("County"),
                      "county_city": _l("County-level city"), "zone": _l("Development zone")}

# Features add their start pages here; only endpoints that exist are shown.
NAV = [
    ("leads.index", "people", _l("Leads")),
    ("followups.mine", "list-check", _l("Follow-ups")),
    ("search.index", "search", _l("Search")),
    ("outreach.index", "gift", _l("Holiday outreach")),
    ("projects.index", "kanban", _l("Projects")),
    ("problems.index", "exclamation-diamond", _l("Problem coordination")),
    ("events.index", "calendar-event", _l("Events")),
    ("reports.annual", "bar-chart", _l("Reports")),
    ("imports.index", "upload", _l("Data import")),
]


# Entries shown only to those with the permission (crm.services.permissions).
NAV_PERMISSIONS = {"problems.index": "problem.list"}


def nav_items() -> list[tuple[str, str, str]]:
    from flask_login import current_user

    from crm.services.permissions import can
    from crm.web.department_guard import allows

    views = current_app.view_functions
    return [(endpoint, icon, str(label)) for endpoint, icon, label in NAV if endpoint in views
            and allows(current_user, endpoint)
            and (endpoint not in NAV_PERMISSIONS or can(current_user, NAV_PERMISSIONS[endpoint]))]


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def county_kind_label(code: str) -> str:
    return str(COUNTY_KIND_LABELS.get(code, code))
