"""Display labels for the problems' code names (category, severity, status, timeline entry kinds)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {"land": _l("Land (用地)"), "planning": _l("Planning approval"), "environment": _l("Environmental assessment"),
                   "utilities": _l("Water, power and gas"), "financing": _l("Financing"), "labour": _l("Labour"),
                   "policy": _l("Policy delivery"), "other": _l("Other")}
SEVERITY_LABELS = {"normal": _l("Normal"), "pressing": _l("Pressing"), "urgent": _l("Urgent")}
SEVERITY_COLOURS = {"normal": "secondary", "pressing": "warning", "urgent": "danger"}
STATUS_LABELS = {"pending": _l("Awaiting acceptance"), "in_progress": _l("Being handled"), "resolved": _l("Resolved"),
                 "confirmed": _l("Confirmed by the enterprise")}
STATUS_COLOURS = {"pending": "secondary", "in_progress": "primary", "resolved": "info", "confirmed": "success"}
ENTRY_LABELS = {"raised": _l("Raised"), "routed": _l("Routed"), "progress": _l("Handling"), "resolved": _l("Resolved"),
                "confirmed": _l("Enterprise confirmation"), "returned": _l("Sent back by the enterprise"),
                "instruction": _l("Leader's instruction"), "escalated": _l("Overdue escalation"),
                "meeting": _l("Joint meeting decision"), "edited": _l("Edited")}
ENTRY_ICONS = {"raised": "flag", "routed": "signpost-split", "progress": "tools", "resolved": "check2-circle",
               "confirmed": "patch-check", "returned": "arrow-return-left", "instruction": "pen",
               "escalated": "alarm", "meeting": "people", "edited": "pencil"}
KINDS = {"category": CATEGORY_LABELS, "severity": SEVERITY_LABELS, "status": STATUS_LABELS, "entry": ENTRY_LABELS}


def label(kind: str, code) -> str:
    return str(KINDS[kind].get(code, code or ""))


def template_globals() -> dict:
    return {"problem_label": label, "SEVERITY_COLOURS": SEVERITY_COLOURS, "STATUS_COLOURS": STATUS_COLOURS,
            "ENTRY_ICONS": ENTRY_ICONS}
