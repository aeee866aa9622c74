"""API resources for contact history: a lead's interactions (with the inline next step) and trips."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_schema
from crm.extensions import db
from crm.models import Followup
from crm.services import interactions, leads, trips

bp = Blueprint("api_interactions", __name__, url_prefix="/api/v1", description="Interactions and trips")


class FollowupInSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True)
    due_at = fields.DateTime(required=True)
    assignee_id = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)


class InteractionSchema(Schema):
    id = fields.Integer(dump_only=True)
    lead_id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(interactions.KINDS))
    occurred_at = fields.DateTime(allow_none=True)
    location = fields.String(allow_none=True)
    summary = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    leader_level = fields.String(load_default="none", validate=validate.OneOf(interactions.LEVELS))
    leader_name = fields.String(allow_none=True)
    participant_ids = fields.List(fields.Integer(), validate=validate.Length(max=interactions.MAX_PARTICIPANTS))
    visitor_count = fields.Integer(load_default=0)
    trip_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(dump_only=True)
    created_by_id = fields.Integer(dump_only=True)
    followup = fields.Nested(FollowupInSchema, allow_none=True)


class TripSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True)
    leader_name = fields.String(allow_none=True)
    leader_level = fields.String(load_default="none", validate=validate.OneOf(interactions.LEVELS))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    cities = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    county_id = fields.Integer(dump_only=True)
    participant_ids = fields.List(fields.Integer())


def _now() -> datetime:
    return datetime.now(UTC)


def _interaction(i, followup: Followup | None = None) -> dict:
    values = {k: getattr(i, k) for k in ("id", "lead_id", "kind", "occurred_at", "location", "summary", "outcome",
                                         "leader_level", "leader_name", "visitor_count", "trip_id", "county_id",
                                         "created_by_id")}
    values["participant_ids"] = [u.id for u in i.participants]
    if followup is not None:
        values["followup"] = {"id": followup.id, "title": followup.title, "due_at": followup.due_at,
                              "assignee_id": followup.assignee_id, "detail": followup.detail}
    return values


def _trip(t) -> dict:
    values = {k: getattr(t, k) for k in ("id", "title", "leader_name", "leader_level", "starts_on", "ends_on",
                                         "cities", "notes", "county_id")}
    values["participant_ids"] = [u.id for u in t.participants]
    return values


@bp.route("/leads/<int:lead_id>/interactions")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(InteractionSchema, "InteractionPage"))
def interaction_list(args, lead_id: int):
    lead = leads.get_lead(actor(), lead_id)
    result = db.paginate(interactions.interactions_query(lead_id=lead.id), page=args["page"],
                         per_page=args["per_page"], error_out=False)
    return {"items": [_interaction(i) for i in result.items], "total": result.total, "page": result.page,
            "per_page": result.per_page}


@bp.route("/leads/<int:lead_id>/interactions", methods=["POST"])
@bp.arguments(InteractionSchema)
@bp.response(201, InteractionSchema)
def interaction_create(data, lead_id: int):
    followup = data.pop("followup", None)
    interaction = interactions.log_interaction(actor(), data, now=_now(), lead_id=lead_id, followup=followup)
    fu = db.session.scalar(select(Followup).where(Followup.source_interaction_id == interaction.id))
    return _interaction(interaction, fu)


@bp.route("/trips")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(TripSchema, "TripPage"))
def trip_list(args):
    result = db.paginate(trips.trips_query(), page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": [_trip(t) for t in result.items], "total": result.total, "page": result.page,
            "per_page": result.per_page}


@bp.route("/trips", methods=["POST"])
@bp.arguments(TripSchema)
@bp.response(201, TripSchema)
def trip_create(data):
    return _trip(trips.create_trip(actor(), data, now=_now()))
