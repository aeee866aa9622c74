"""Shared form plumbing: copy a service's InvalidInput onto a WTForms form (the flaskbb handshake)."""
from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from crm.services.errors import InvalidInput


def populate_errors(form: FlaskForm, error: InvalidInput) -> None:
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(str(m) for m in messages)
        else:
            for message in messages:
                flash(str(message), "danger")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them (tuples are deprecated there)."""
    return [SelectChoice(value, label) for value, label in pairs]
