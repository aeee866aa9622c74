"""Trips (招商考察 / 叩门行动): one outing under one leader over several days and cities, grouping visits."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import Interaction, Lead, LeaderLevel, Trip, User
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound
from crm.services.interactions import LEVELS, check_leader, clean_user_ids, interactions_query
from crm.services.leads import STAFF
from crm.services.permissions import is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

MAX_DAYS = 60


@rule("trip.create")
def _create(actor: User, _obj) -> bool:
    return actor.role in STAFF


def _date(value, errors: Errors, field: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value in (None, ""):
        errors.add(field, _l("This field is required."))
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _l("Not a valid date."))
        return None


@rule("trip.edit")
def _edit(actor: User, trip) -> bool:
    """The county that organised it corrects it; the city and admins any."""
    if actor.role not in STAFF:
        return False
    return trip is None or is_city_level(actor) or same_county(actor, trip.county_id)


def clean_trip(data: dict) -> dict:
    errors = Errors()
    out = {
        "title": clean_text(data.get("title"), field="title", errors=errors, max_length=200, required=True),
        "leader_name": clean_text(data.get("leader_name"), field="leader_name", errors=errors, max_length=60),
        "leader_level": clean_choice(data.get("leader_level") or LeaderLevel.NONE.value, LEVELS,
                                     field="leader_level", errors=errors),
        "starts_on": _date(data.get("starts_on"), errors, "starts_on"),
        "ends_on": _date(data.get("ends_on"), errors, "ends_on"),
        "cities": clean_text(data.get("cities"), field="cities", errors=errors, max_length=200),
        "notes": clean_text(data.get("notes"), field="notes", errors=errors, max_length=5000, multiline=True),
    }
    starts_on, ends_on = out["starts_on"], out["ends_on"]
    if starts_on and ends_on and not (starts_on <= ends_on <= starts_on + timedelta(days=MAX_DAYS)):
        errors.add("ends_on", _l("The end is on or after the start, within %(n)d days.", n=MAX_DAYS))
    check_leader(out["leader_level"], out["leader_name"], errors)
    out["participants"] = clean_user_ids(data.get("participant_ids"), errors, "participant_ids")
    if errors:
        raise InvalidInput(errors)
    return out


def _values(trip: Trip) -> dict:
    return {"title": trip.title, "leader_name": trip.leader_name, "leader_level": trip.leader_level,
            "starts_on": trip.starts_on, "ends_on": trip.ends_on, "cities": trip.cities, "notes": trip.notes,
            "participant_ids": sorted(u.id for u in trip.participants)}


def create_trip(actor: User, data: dict, *, now: datetime) -> Trip:
    require(actor, "trip.create")
    fields = clean_trip(data)
    participants = fields.pop("participants")
    trip = Trip(county_id=actor.county_id, created_by_id=actor.id, participants=participants or [actor],
                created_at=now, updated_at=now, **fields)
    db.session.add(trip)
    db.session.flush()
    audit.record(actor, "create", "trip", trip.id, summary=trip.title, after=_values(trip))
    db.session.commit()
    return trip


def update_trip(actor: User, trip_id: int, data: dict, *, now: datetime) -> Trip:
    """Correct a trip: the fields given replace the recorded ones; audited. Its visits keep their own leaders."""
    trip = get_trip(trip_id)
    require(actor, "trip.edit", trip)
    before = _values(trip)
    fields = clean_trip({**before, **{k: v for k, v in data.items() if k in before}})
    participants = fields.pop("participants") or trip.participants
    for key, value in fields.items():
        setattr(trip, key, value)
    trip.participants = participants
    after = _values(trip)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        trip.updated_at = now
        audit.record(actor, "update", "trip", trip.id, summary=trip.title,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    db.session.commit()
    return trip


def get_trip(trip_id: int) -> Trip:
    trip = db.session.get(Trip, trip_id)
    if trip is None:
        raise NotFound("trip")
    return trip


def trips_query(*, county_id: int | None = None):
    stmt = select(Trip).order_by(Trip.starts_on.desc(), Trip.id.desc())
    if county_id:
        stmt = stmt.where(Trip.county_id == county_id)
    return stmt


def trip_visits(trip_id: int) -> list[Interaction]:
    """The trip's contacts, newest first, withdrawn ones left out."""
    return list(db.session.scalars(interactions_query(trip_id=trip_id)))


def lead_names(visits: list[Interaction]) -> dict[int, str]:
    ids = {v.lead_id for v in visits if v.lead_id}
    if not ids:
        return {}
    rows = db.session.execute(select(Lead.id, Lead.name).where(Lead.id.in_(ids)))
    return {lead_id: name for lead_id, name in rows}


def trip_choices(actor: User, *, today: date, days: int = 60) -> list[Trip]:
    """Recent and current trips to pick on the visit form: the actor's county's (all of them for the city)."""
    stmt = trips_query().where(Trip.ends_on >= today - timedelta(days=days))
    if not is_city_level(actor):
        stmt = stmt.where(Trip.county_id == actor.county_id)
    return list(db.session.scalars(stmt.limit(50)))
