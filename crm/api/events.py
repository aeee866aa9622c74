"""API: promotion events (推介会) with what was signed at each."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.models import Event
from crm.services import events
from crm.services.permissions import require

bp = Blueprint("api_events", __name__, url_prefix="/api/v1", description="Promotion events")


class EventSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    held_on = fields.Raw(required=True, metadata={"description": "YYYY-MM-DD"})
    city = fields.String(allow_none=True)
    county_id = fields.Integer(allow_none=True, metadata={"description": "organising county; null = the city"})
    leaders = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    lead_ids = fields.List(fields.Integer(), metadata={"description": "invited leads"})
    attended_ids = fields.List(fields.Integer(), metadata={"description": "leads that came"})
    signed_count = fields.Integer(dump_only=True)
    signed_investment = fields.Float(dump_only=True, metadata={"description": "万元"})
    version = fields.Integer(dump_only=True, metadata={"description": "bumped by every edit; also the ETag"})


class EventOut(EventSchema):
    held_on = fields.Date()


class EventPatch(EventSchema):
    name = fields.String()
    held_on = fields.Raw()
    version = fields.Integer(metadata={"description": "the version read; an event changed since answers 409"})


class EventQuery(PageArgs):
    year = fields.Integer(validate=validate.Range(min=1900, max=2100))
    county_id = fields.Integer()


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/events")
@bp.arguments(EventQuery, location="query")
@bp.response(200, page_schema(EventOut, "EventPage"))
def event_list(args):
    require(actor(), "event.view")
    result = db.paginate(events.events_query(year=args.get("year"), county_id=args.get("county_id")),
                         page=args["page"], per_page=args["per_page"], error_out=False)
    signed = events.results(e.id for e in result.items)
    return {**page_of(result), "items": [events.event_values(e, signed[e.id]) for e in result.items]}


@bp.route("/events", methods=["POST"])
@bp.arguments(EventSchema)
@bp.response(201, EventOut)
@bp.doc(parameters=[idempotency.PARAMETER])
def event_create(data):
    event, headers = idempotency.create_once(Event, lambda: events.create_event(actor(), data, now=_now()))
    return events.event_values(event), headers


@bp.route("/events/<int:event_id>")
@bp.response(200, EventOut)
def event_get(event_id: int):
    event = events.get_event(actor(), event_id)
    return events.event_values(event), 200, versions.etag(event.version)


@bp.route("/events/<int:event_id>", methods=["PATCH"])
@bp.arguments(EventPatch)
@bp.response(200, EventOut)
@bp.doc(**versions.IF_MATCH_DOC)
def event_update(data, event_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        event = events.update_event(actor(), event_id, data, now=_now(), expected_version=expected)
    return events.event_values(event), 200, versions.etag(event.version)
