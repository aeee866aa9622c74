"""One permission mechanism for web, API and CLI: rules registered per action, checked with can()/require()."""
from __future__ import annotations

from collections.abc import Callable

from crm.models import Role, User
from crm.services.errors import PermissionDenied

Rule = Callable[[User, object], bool]
_RULES: dict[str, Rule] = {}
# Department contacts (部门联络员) act on their department's problems and on their own account, nothing else, whatever
# a feature's rule would say (crm.web.department_guard keeps them off every other page the same way).
DEPARTMENT_ACTIONS = ("problem.", "self.edit", "token.manage")


def rule(action: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        if action in _RULES:
            raise RuntimeError(f"permission rule {action!r} registered twice")
        _RULES[action] = fn
        return fn

    return register


def can(actor: User | None, action: str, obj: object = None) -> bool:
    """Unknown actions raise (fail loudly, never open); inactive or missing actors may do nothing."""
    try:
        check = _RULES[action]
    except KeyError:
        raise LookupError(f"no permission rule for {action!r}") from None
    if actor is None or not getattr(actor, "is_active_user", False):
        return False
    if actor.role == Role.DEPARTMENT and not action.startswith(DEPARTMENT_ACTIONS):
        return False
    return bool(check(actor, obj))


def require(actor: User | None, action: str, obj: object = None) -> None:
    if not can(actor, action, obj):
        raise PermissionDenied(action)


def known_actions() -> list[str]:
    return sorted(_RULES)


def is_admin(actor: User) -> bool:
    return actor.role == Role.ADMIN


def is_city_level(actor: User) -> bool:
    return actor.role in (Role.ADMIN, Role.CITY_STAFF)


def same_county(actor: User, county_id: int | None) -> bool:
    return actor.county_id is not None and actor.county_id == county_id


# --- the foundation's own rules -------------------------------------------------------------------
for _action in ("user.manage", "county.manage", "audit.view", "industry.manage", "target.manage"):
    rule(_action)(lambda actor, _obj: is_admin(actor))


@rule("user.view_list")
def _view_users(actor: User, _obj) -> bool:
    """API.md: GET /users is for administrators."""
    return is_admin(actor)


@rule("self.edit")
def _edit_self(actor: User, obj) -> bool:
    return obj is None or getattr(obj, "id", None) == actor.id


@rule("token.manage")
def _manage_token(actor: User, obj) -> bool:
    """Own tokens; admins may revoke anyone's."""
    return obj is None or getattr(obj, "user_id", None) == actor.id or is_admin(actor)
