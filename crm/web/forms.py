"""Shared form plumbing: copy a service's InvalidInput onto a WTForms form (the flaskbb handshake), and the
one-time token that makes a create form safe to submit twice."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import flash
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.fields.choices import SelectChoice

from crm.services import idempotency
from crm.services.errors import InvalidInput


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


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them (tuples are deprecated there)."""
    return [SelectChoice(value, label) for value, label in pairs]
