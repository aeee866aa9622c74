"""Checks shared by every service's input validation: text length and characters, e-mail, choices."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}$")
_CONTROL_OK = {"\n", "\t"}


class Errors(dict):
    """field → [messages]; raise InvalidInput(errors) when non-empty."""

    def add(self, field: str, message) -> None:
        self.setdefault(field, []).append(message)


def clean_text(value, *, field: str, errors: Errors, max_length: int, required: bool = False,
               multiline: bool = False) -> str | None:
    """Strip, refuse control characters (PostgreSQL refuses NUL; SQLite would keep it) and over-long text."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if multiline:
        value = value.replace("\r\n", "\n")
    if not value:
        if required:
            errors.add(field, _l("This field is required."))
        return None
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cs") and not (multiline and c in _CONTROL_OK)]
    if bad:
        errors.add(field, _l("Contains characters that are not allowed."))
        return None
    if len(value) > max_length:
        errors.add(field, _l("At most %(n)d characters.", n=max_length))
        return None
    return value


def clean_email(value, *, field: str, errors: Errors) -> str | None:
    value = clean_text(value, field=field, errors=errors, max_length=254)
    if value and not EMAIL_RE.match(value):
        errors.add(field, _l("Not a valid e-mail address."))
        return None
    return value


def clean_choice(value, choices, *, field: str, errors: Errors, required: bool = True):
    if value in (None, ""):
        if required:
            errors.add(field, _l("This field is required."))
        return None
    if value not in choices:
        errors.add(field, _l("Not a valid choice."))
        return None
    return value
