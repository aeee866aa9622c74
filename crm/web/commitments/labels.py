"""Display labels and badge colours of commitments, the 三未 warnings and the health colour."""
from __future__ import annotations

from crm.services.commitments import KIND_LABELS, PEOPLE, SIDE_LABELS, STATUS_LABELS, UNIT, UNIT_LABELS
from crm.services.landing_warnings import KIND_LABELS as WARNING_LABELS
from crm.services.project_health import COLOUR_LABELS

HEALTH_BADGES = {"green": "success", "amber": "warning", "red": "danger"}
STATUS_BADGES = {"open": "secondary", "met": "success", "missed": "danger", "waived": "light"}


def unit_of(kind) -> str:
    unit = UNIT.get(kind)
    return str(UNIT_LABELS[unit]) if unit else ""


def quantity(value, kind) -> str:
    """A target or actual with its unit: people whole, money with two decimals."""
    if value is None:
        return ""
    unit = UNIT.get(kind)
    number = f"{value:,.0f}" if unit == PEOPLE else f"{value:,.2f}"
    return f"{number} {unit_of(kind)}".strip()


def template_globals() -> dict:
    return {"commitment_kind_labels": KIND_LABELS, "commitment_side_labels": SIDE_LABELS,
            "commitment_status_labels": STATUS_LABELS, "commitment_status_badges": STATUS_BADGES,
            "commitment_unit": unit_of, "commitment_qty": quantity, "warning_labels": WARNING_LABELS, "health_labels": COLOUR_LABELS,
            "health_badges": HEALTH_BADGES}
