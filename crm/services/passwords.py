"""Password hashing with argon2id; parameters come from the app config so tests can use cheap ones."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

# A hash to verify against when the username is unknown, so timing does not reveal which names exist.
_DUMMY: dict[tuple, str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"],
                          parallelism=cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    if password_hash is None:
        key = (hasher.time_cost, hasher.memory_cost)
        if key not in _DUMMY:
            _DUMMY[key] = hasher.hash("not-a-real-password")
        password_hash = _DUMMY[key]
        hasher.verify(password_hash, "not-a-real-password")
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Messages (lazily translated) for a password that will not do."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_l("Password must be at least %(n)d characters.", n=minimum))
    if len(password) > 128:
        problems.append(_l("Password must be at most 128 characters."))
    if username and password.lower() == username.lower():
        problems.append(_l("Password must not be the username."))
    return problems
