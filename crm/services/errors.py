"""Domain errors raised by services; web maps them onto forms and flashes, the API onto problem+json."""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str = "", **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(DomainError):
    """Field → list of messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str = ""):
        super().__init__(message or "; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in errors.items()))
        self.errors = errors


class ConfirmationNeeded(InvalidInput):
    """Input that is possible but unusual: refused until resent with the confirmation its message names.
    `code` says which check it was (the API's problem+json carries it, with `extra`)."""

    def __init__(self, errors: dict[str, list[str]], *, code: str, **extra):
        super().__init__(errors)
        self.code = code
        self.extra = {"code": code, **extra}


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class AuthError(DomainError):
    """Sign-in refused; `reason` is one of bad_credentials, locked, throttled, inactive."""

    status = 401

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class EditConflict(Conflict):
    """An edit made from a stale copy: the record changed (to `current_version`) since the editor loaded it.
    `changed_by` (a display name) and `changed_at` say who saved in between and when, where the audit log knows."""

    def __init__(self, message: str, *, current_version: int, changed_by: str | None = None,
                 changed_at=None):
        super().__init__(message, current_version=current_version, changed_by=changed_by,
                         changed_at=changed_at.isoformat() if changed_at else None)
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
