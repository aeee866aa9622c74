"""Display labels for follow-up code names, registered as Jinja globals by the blueprint."""
from flask_babel import lazy_gettext as _l

PRIORITY_LABELS = {"high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
STATUS_LABELS = {"open": _l("In progress"), "done": _l("Done"), "cancelled": _l("Cancelled")}
HANDOFF_LABELS = {"none": "", "pending": _l("Waiting for the county"), "accepted": _l("Accepted by the county"),
                  "returned": _l("Returned by the county")}
BUCKET_LABELS = {"overdue": _l("Overdue"), "today": _l("Due today"), "week": _l("This week"), "later": _l("Later")}
INTERACTION_KIND_LABELS = {"call": _l("Phone call"), "visit": _l("Visit"), "reception": _l("Reception"),
                           "revisit": _l("Return visit"), "wechat": _l("WeChat"), "meeting": _l("Meeting"),
                           "event": _l("Promotion event"), "greeting": _l("Holiday greeting"),
                           "signing": _l("Signing")}
NOTIFICATION_ICONS = {"assigned": "person-plus", "due_soon": "alarm", "overdue": "exclamation-triangle",
                      "escalation": "arrow-up-circle", "digest": "sunrise", "silent_lead": "bell-slash",
                      "completed": "check2-circle", "handoff": "box-arrow-in-right", "accepted": "hand-thumbs-up",
                      "returned": "arrow-return-left"}


def label(mapping: dict, code) -> str:
    return str(mapping.get(code, code or ""))
