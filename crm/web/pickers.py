"""Choices for fields shown as searchable pickers (static/js/pickers.js): a lead field offers only the leads it
holds (the picker searches the rest on the server), so no form is cut at the first few hundred leads and any live
lead may be chosen; an id that is no live lead fails the field's own choice check."""
from __future__ import annotations

from flask_login import current_user

from crm.services import leads as lead_service
from crm.web.forms import choices


def _ids(value) -> list[int]:
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]


def lead_choices(*fields, empty: str | None = None) -> None:
    """Set each field's choices to the live leads among the ids it holds (with an "" choice first, meaning none,
    when `empty` is given). Fields holding the same kind of value (invited / attended) share one query."""
    wanted = sorted({i for field in fields for i in _ids(field.data)})
    found = [(lead.id, lead.name) for lead in lead_service.pickable_leads(current_user, wanted)]
    for field in fields:
        field.choices = choices(([("", empty)] if empty is not None else []) + found)


def optional_id(value) -> int:
    """Coerce for a single picker: blank means none (0); anything else must be a number."""
    if value in (None, "") or (isinstance(value, str) and not value.strip()):
        return 0
    return int(value)
