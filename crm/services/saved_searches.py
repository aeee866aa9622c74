"""Saved searches: a user's named query and filters of the search page, kept private or shared with the own county
(county users) or the whole city (city level); listed on the search page, usable as an outreach list's targets.
Running one always answers as the reader sees the leads (crm.services.indexing, contact_search)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from crm.extensions import db
from crm.models import County, Industry, LeadKind, LeadStatus, Role, SavedSearch, SearchScope, User
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, is_admin, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_text

MAX_PER_USER = 50
MAX_RESULTS = 2_000  # "select all N results" and an outreach list from a search stop here
QUERY_KEYS = ("q", "industry_id", "county_id", "kind", "status", "is_key", "type")
SCOPE_LABELS = {"private": _l("Only me"), "county": _l("My county"), "city": _l("Everyone (city-wide)")}


@rule("saved_search.create")
def _create(actor: User, scope) -> bool:
    """obj: the scope asked for (None = some scope). Private for every user; a county user may share with the own
    county, city level with everyone."""
    if scope in (None, SearchScope.PRIVATE.value):
        return True
    if scope == SearchScope.COUNTY.value:
        return actor.county_id is not None and actor.role != Role.VIEWER
    return scope == SearchScope.CITY.value and is_city_level(actor)


@rule("saved_search.view")
def _view(actor: User, saved) -> bool:
    if saved is None or saved.user_id == actor.id or saved.scope == SearchScope.CITY.value:
        return True
    return saved.scope == SearchScope.COUNTY.value and same_county(actor, saved.county_id)


@rule("saved_search.delete")
def _delete(actor: User, saved) -> bool:
    return saved is None or saved.user_id == actor.id or is_admin(actor)


def scope_choices(actor: User) -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in SCOPE_LABELS.items() if can(actor, "saved_search.create", code)]


def clean_query(raw: dict, errors: Errors | None = None) -> dict:
    """The search page's arguments worth keeping: a query text and the facet filters, checked; empty ones dropped."""
    errors = Errors() if errors is None else errors
    raw = raw or {}
    out: dict = {}
    q = clean_text(raw.get("q"), field="q", errors=errors, max_length=256)
    if q:
        out["q"] = q
    for key, model in (("industry_id", Industry), ("county_id", County)):
        value = raw.get(key)
        if value in (None, "", 0, "0"):
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not 0 < value < 2**31 or db.session.get(model, value) is None:
            errors.add(key, _l("Not a valid choice."))
        else:
            out[key] = value
    for key, allowed in (("kind", {k.value for k in LeadKind} | {"project"}),
                         ("status", {s.value for s in LeadStatus} | {"planned", "negotiating", "signed", "started",
                                                                    "operating", "dropped"}),
                         ("type", {"lead", "project"})):
        value = raw.get(key)
        if value in (None, ""):
            continue
        if value not in allowed:
            errors.add(key, _l("Not a valid choice."))
        else:
            out[key] = value
    is_key = raw.get("is_key")
    if is_key in (True, "1", 1, "true"):
        out["is_key"] = True
    elif is_key in (False, "0", 0, "false"):
        out["is_key"] = False
    return out


def search_filters(query: dict) -> dict:
    """A saved query as the filters crm.services.indexing.search_leads takes (the page's string forms)."""
    out = {k: v for k, v in query.items() if k not in ("q", "is_key")}
    if "is_key" in query:
        out["is_key"] = bool(query["is_key"])
    return out


def url_args(query: dict) -> dict:
    """A saved query as the search page's query-string arguments."""
    args = {k: v for k, v in query.items() if k != "is_key"}
    if "is_key" in query:
        args["is_key"] = 1 if query["is_key"] else 0
    return args


def save_search(actor: User, name, query: dict, scope: str = "private", *, now: datetime) -> SavedSearch:
    errors = Errors()
    name = clean_text(name, field="name", errors=errors, max_length=80, required=True)
    scope = scope or SearchScope.PRIVATE.value
    if scope not in SCOPE_LABELS:
        errors.add("scope", _l("Not a valid choice."))
    clean = clean_query(query, errors)
    if not clean and "q" not in errors:
        errors.add("q", _l("Type a search or choose a filter before saving it."))
    if errors:
        raise InvalidInput(errors)
    require(actor, "saved_search.create", scope)
    mine = db.session.scalars(select(SavedSearch).where(SavedSearch.user_id == actor.id)).all()
    if any(s.name == name for s in mine):
        raise InvalidInput({"name": [_l("You already have a saved search of that name.")]})
    if len(mine) >= MAX_PER_USER:
        raise InvalidInput({"name": [_l("At most %(n)d saved searches per user: delete one first.", n=MAX_PER_USER)]})
    saved = SavedSearch(user_id=actor.id, name=name, query=clean, scope=scope, created_at=now,
                        county_id=actor.county_id if scope == SearchScope.COUNTY.value else None)
    db.session.add(saved)
    db.session.flush()
    audit.record(actor, "create", "saved_search", saved.id, summary=name,
                 after={"query": clean, "scope": scope, "county_id": saved.county_id})
    db.session.commit()
    return saved


def get_search(actor: User, saved_id) -> SavedSearch:
    try:
        saved = db.session.get(SavedSearch, int(saved_id))
    except (TypeError, ValueError, OverflowError):
        saved = None
    if saved is None or not can(actor, "saved_search.view", saved):
        raise NotFound("saved_search")  # another user's private search does not exist for this reader
    return saved


def delete_search(actor: User, saved_id: int, *, now: datetime) -> None:
    saved = get_search(actor, saved_id)
    require(actor, "saved_search.delete", saved)
    audit.record(actor, "delete", "saved_search", saved.id, summary=saved.name,
                 before={"query": saved.query, "scope": saved.scope, "county_id": saved.county_id})
    db.session.delete(saved)
    db.session.commit()


def visible_searches(actor: User) -> list[SavedSearch]:
    """The reader's own searches first, then those shared with the reader's county, then city-wide ones."""
    shared = [SavedSearch.scope == SearchScope.CITY.value]
    if actor.county_id is not None:
        shared.append((SavedSearch.scope == SearchScope.COUNTY.value) & (SavedSearch.county_id == actor.county_id))
    stmt = select(SavedSearch).where(or_(SavedSearch.user_id == actor.id, *shared))
    rows = db.session.scalars(stmt.order_by(SavedSearch.name, SavedSearch.id)).all()
    return sorted(rows, key=lambda s: (s.user_id != actor.id, s.scope != "county", s.name))


def result_lead_ids(actor: User, query: dict, *, limit: int = MAX_RESULTS) -> tuple[list[int], int]:
    """(lead ids, total) of every lead the search finds for this reader, in name order, at most `limit` ids.
    Projects in the results are left out: bulk actions and outreach lists are about leads."""
    from crm.services import indexing

    filters = {**search_filters(query), "type": "lead"}
    ids: list[int] = []
    page, total = 1, 0
    while len(ids) < limit:
        result = indexing.search_leads(actor, query.get("q") or "", filters, "name", page, 100)
        total = result["total"]
        ids += [i["id"] for i in result["items"] if i["type"] == "lead" and i["id"] not in ids]
        if page * 100 >= min(total, limit) or not result["items"]:
            break
        page += 1
    return ids[:limit], total


FILTER_TITLES = {"industry_id": _l("Industry"), "county_id": _l("County"), "kind": _l("Type"),
                 "status": _l("Status"), "is_key": _l("Key lead"), "type": _l("Result type")}
TYPE_LABELS = {"lead": _l("Leads"), "project": _l("Projects")}


def describe(filters: dict) -> list[dict]:
    """One chip per active filter of the search page: {key, title, value} with the value's name, for the reader
    to see what narrows the results and to remove it."""
    from crm.services.indexing import KIND_LABELS, STATUS_LABELS

    chips = []
    for key in ("industry_id", "county_id", "kind", "status", "is_key", "type"):
        value = filters.get(key)
        if value in (None, ""):
            continue
        if key in ("industry_id", "county_id"):
            try:
                row = db.session.get(Industry if key == "industry_id" else County, int(value))
            except (TypeError, ValueError, OverflowError):
                row = None
            name = row.name if row is not None else str(value)
        elif key == "is_key":
            name = _l("Key lead") if value else _l("Not a key lead")
        elif key == "type":
            name = TYPE_LABELS.get(value, value)
        else:
            name = (KIND_LABELS if key == "kind" else STATUS_LABELS).get(value, value)
        chips.append({"key": key, "title": FILTER_TITLES[key], "value": str(name)})
    return chips
