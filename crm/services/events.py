"""Promotion events (推介会): who organised them, which leads were invited and came, and what was signed there."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, extract, func, insert, select

from crm.extensions import db
from crm.models import County, Event, Lead, Project, Role, Stage, User, event_leads
from crm.services import audit, versions
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import is_city_level, require, rule, same_county
from crm.services.projects import parse_date
from crm.services.validation import Errors, clean_text

AUDITED = ("name", "held_on", "city", "county_id", "leaders", "notes", "lead_ids", "attended_ids")


@rule("event.view")
def _view(_actor: User, _event) -> bool:
    return True


@rule("event.edit")
def _edit(actor: User, event) -> bool:
    """City level any event; county staff the events their county organises (and new ones for it)."""
    if is_city_level(actor):
        return True
    return actor.role == Role.COUNTY_STAFF and (event is None or same_county(actor, event.county_id))


def _ids(raw, field: str, errors: Errors) -> list[int]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple, set)):
        raw = [raw]
    try:
        ids = sorted({int(v) for v in raw if v not in (None, "")})
    except (TypeError, ValueError):
        errors.add(field, _l("Unknown lead."))
        return []
    if len(ids) > 500:
        errors.add(field, _l("At most %(n)d leads.", n=500))
        return []
    found = set(db.session.scalars(select(Lead.id).where(Lead.id.in_(ids)))) if ids else set()
    if found != set(ids):
        errors.add(field, _l("Unknown lead."))
    return ids


def _clean(actor: User, data: dict, current: Event | None) -> dict:
    errors = Errors()
    out: dict = {}

    def given(key):
        return current is None or key in data

    if given("name"):
        out["name"] = clean_text(data.get("name"), field="name", errors=errors, max_length=200, required=True)
    if given("held_on"):
        out["held_on"] = parse_date(data.get("held_on"), field="held_on", errors=errors, required=True)
    if given("city"):
        out["city"] = clean_text(data.get("city"), field="city", errors=errors, max_length=100)
    if given("leaders"):
        out["leaders"] = clean_text(data.get("leaders"), field="leaders", errors=errors, max_length=300)
    if given("notes"):
        out["notes"] = clean_text(data.get("notes"), field="notes", errors=errors, max_length=5000, multiline=True)
    if given("county_id"):
        county_id = data.get("county_id") or None
        if county_id is None and current is None and actor.role == Role.COUNTY_STAFF:
            county_id = actor.county_id
        if county_id is not None:
            try:
                county_id = int(county_id)
            except (TypeError, ValueError):
                county_id = -1
            if db.session.get(County, county_id) is None:
                errors.add("county_id", _l("Unknown county."))
        out["county_id"] = county_id
    if given("lead_ids"):
        out["lead_ids"] = _ids(data.get("lead_ids"), "lead_ids", errors)
    if given("attended_ids") or "lead_ids" in out:
        attended = _ids(data.get("attended_ids"), "attended_ids", errors)
        invited = out.get("lead_ids", _lead_ids(current) if current else [])
        out["attended_ids"] = attended
        out["lead_ids"] = sorted(set(invited) | set(attended))  # whoever came was (at least) invited
    if errors:
        raise InvalidInput(errors)
    return out


def _lead_ids(event: Event, *, attended_only: bool = False) -> list[int]:
    stmt = select(event_leads.c.lead_id).where(event_leads.c.event_id == event.id)
    if attended_only:
        stmt = stmt.where(event_leads.c.attended.is_(True))
    return sorted(db.session.scalars(stmt))


def snapshot(event: Event) -> dict:
    values = {k: getattr(event, k) for k in AUDITED if k not in ("lead_ids", "attended_ids")}
    values["lead_ids"], values["attended_ids"] = _lead_ids(event), _lead_ids(event, attended_only=True)
    return values


def _apply(event: Event, fields: dict) -> None:
    for key, value in fields.items():
        if key not in ("lead_ids", "attended_ids"):
            setattr(event, key, value)
    if "lead_ids" in fields:
        db.session.flush()
        db.session.execute(delete(event_leads).where(event_leads.c.event_id == event.id))
        attended = set(fields.get("attended_ids") or [])
        rows = [{"event_id": event.id, "lead_id": i, "attended": i in attended} for i in fields["lead_ids"]]
        if rows:
            db.session.execute(insert(event_leads), rows)
        db.session.expire(event, ["leads"])


def create_event(actor: User, data: dict, *, now: datetime) -> Event:
    require(actor, "event.edit")
    fields = _clean(actor, data, None)
    event = Event(created_by_id=actor.id, name=fields["name"], held_on=fields["held_on"])
    require(actor, "event.edit", _Probe(fields.get("county_id")))
    db.session.add(event)
    _apply(event, fields)
    db.session.flush()
    audit.record(actor, "create", "event", event.id, summary=event.name, after=snapshot(event))
    db.session.commit()
    return event


class _Probe:
    """Stands in for an event not yet saved when asking whether its organising county is the actor's."""

    def __init__(self, county_id):
        self.county_id = county_id


def get_event(actor: User, event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("event")
    require(actor, "event.view", event)
    return event


def update_event(actor: User, event_id: int, data: dict, *, now: datetime,
                 expected_version: int | None = None) -> Event:
    """Edit an event; with `expected_version`, one changed since the editor loaded it is refused."""
    event = get_event(actor, event_id)
    require(actor, "event.edit", event)
    fields = _clean(actor, data, event)
    if "county_id" in fields:
        require(actor, "event.edit", _Probe(fields["county_id"]))
    versions.bump(event, "event", expected_version)
    before = snapshot(event)
    _apply(event, fields)
    old, new = audit.changes(before, snapshot(event))
    if new:
        audit.record(actor, "update", "event", event.id, summary=event.name, before=old, after=new)
    db.session.commit()
    return event


def events_query(*, year=None, county_id=None):
    stmt = select(Event)
    if year:
        stmt = stmt.where(extract("year", Event.held_on) == int(year))
    if county_id:
        stmt = stmt.where(Event.county_id == county_id)
    return stmt.order_by(Event.held_on.desc(), Event.id.desc())


def _signed_at(stmt):
    return stmt.where(Project.deleted_at.is_(None), Project.stage != Stage.DROPPED, Project.signed_on.is_not(None))


def results(event_ids, *, county_id=None) -> dict[int, dict]:
    """event id → {signed_count, signed_investment (万元)}: the projects signed there (not dropped)."""
    ids = list(event_ids)
    out = {i: {"signed_count": 0, "signed_investment": Decimal("0.00")} for i in ids}
    if not ids:
        return out
    stmt = _signed_at(select(Project.event_id, func.count(Project.id), func.coalesce(func.sum(
        Project.investment_total), 0)).where(Project.event_id.in_(ids)))
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    for event_id, count, total in db.session.execute(stmt.group_by(Project.event_id)):
        out[event_id] = {"signed_count": count, "signed_investment": Decimal(total).quantize(Decimal("0.01"))}
    return out


def signed_projects(event: Event) -> list[Project]:
    stmt = _signed_at(select(Project).where(Project.event_id == event.id))
    return list(db.session.scalars(stmt.order_by(Project.signed_on, Project.id)))


def attendance(event: Event) -> list[tuple[Lead, bool]]:
    rows = db.session.execute(select(Lead, event_leads.c.attended).join(event_leads, event_leads.c.lead_id == Lead.id)
                              .where(event_leads.c.event_id == event.id).order_by(Lead.name))
    return [(lead, bool(attended)) for lead, attended in rows]


def event_values(event: Event, result: dict | None = None) -> dict:
    """The API's view of an event, with its results."""
    result = result or results([event.id])[event.id]
    return {"id": event.id, "name": event.name, "held_on": event.held_on, "city": event.city,
            "county_id": event.county_id, "leaders": event.leaders, "notes": event.notes,
            "lead_ids": _lead_ids(event), "attended_ids": _lead_ids(event, attended_only=True),
            "version": event.version, **result}
