"""Shared form plumbing: copy a service's InvalidInput onto a WTForms form (the flaskbb handshake), and the
one-time token that makes a create form safe to submit twice, and the "changed meanwhile" notice for an edit
refused as stale."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import flash, request
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.fields.choices import SelectChoice

from crm.services import idempotency
from crm.services.errors import EditConflict, InvalidInput


def new_token() -> str:
    return secrets.token_urlsafe(24)


class OnceForm(FlaskForm):
    """A create form: the token is drawn when the form is shown, so a second submit of the same page (a double
    tap, the back button, a retry on a slow line) finds the record the first one made instead of a copy."""

    idempotency_key = HiddenField(default=new_token)


def create_once(form: OnceForm, model, create):
    """Run the create under the form's token; → (record, replayed). A replay is told so on the next page."""
    record, replayed = idempotency.create_once(current_user, form.idempotency_key.data, model, create,
                                               now=datetime.now(UTC))
    if replayed:
        flash(_("This form was already submitted: here is what it saved (nothing was added twice)."), "info")
    return record, replayed


def populate_errors(form: FlaskForm, error: InvalidInput) -> None:
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors") and not isinstance(field, HiddenField):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(str(m) for m in messages)
        else:
            for message in messages:
                flash(str(message), "danger")


def flash_errors(error: InvalidInput) -> None:
    """A refusal of an action without a form of its own (a button, a one-field form): each message as a flash."""
    for messages in error.errors.values():
        for message in messages:
            flash(str(message), "danger")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them (tuples are deprecated there)."""
    return [SelectChoice(value, label) for value, label in pairs]


def edit_conflict(form: FlaskForm, error: EditConflict, current: FlaskForm, *, ignore=()) -> dict:
    """The "changed meanwhile" notice for a refused edit: who saved in between and when, the fields where the
    saved record and the user's input differ, and the form moved to the current version, so pressing save
    again is a deliberate overwrite. The user's input stays in `form`; `ignore` names fields that are choices
    about this save rather than values of the record."""
    form.version.data = str(error.current_version)
    changes = []
    for field in form:
        if field.name not in current._fields or field.name in ignore:
            continue
        yours, saved = _shown(field), _shown(current[field.name])
        if yours is not None and yours != saved:
            changes.append((field.label.text, saved, yours))
    when = None
    if error.changed_at is not None:
        today = format_date(datetime.now(UTC), "yyyy-MM-dd") == format_date(error.changed_at, "yyyy-MM-dd")
        when = format_datetime(error.changed_at, "HH:mm" if today else "yyyy-MM-dd HH:mm")
    return {"who": error.changed_by, "when": when, "changes": changes}


def _shown(field) -> str | None:
    """A field's value as the user reads it (choice labels, not ids); None for fields not shown."""
    if field.type in ("HiddenField", "CSRFTokenField", "SubmitField", "PasswordField"):
        return None
    if field.type == "FieldList":
        rows = [_shown(entry) for entry in field.entries]
        return "; ".join(row for row in rows if row)
    if field.type == "FormField":  # one row of a list (a contact): its filled-in values, ticked boxes by label
        values = [text for sub in field.form if sub.type != "BooleanField" and (text := _shown(sub))]
        ticked = [str(sub.label.text) for sub in field.form if sub.type == "BooleanField" and sub.data]
        return " ".join(values + ticked) if values else ""
    if field.type == "BooleanField":
        return _("Yes") if field.data else _("No")
    if field.type in ("SelectField", "SelectMultipleField"):
        labels = [str(choice.label) for choice in field.iter_choices() if choice.selected]
        return "、".join(labels) if labels else ("" if field.data in (None, "", 0, []) else str(field.data))
    return str(field._value() or "").strip()


def wants_json() -> bool:
    """A page script's fetch (static/js/visit-form.js sends Accept: application/json): answer with JSON."""
    return request.accept_mimetypes.best == "application/json"
