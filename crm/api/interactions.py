"""API resources for contact history: a lead's interactions (with the inline next step), correcting and
withdrawing one, and trips."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from crm.api import idempotency
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_schema
from crm.extensions import db
from crm.models import Followup, Interaction, Trip
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
    withdrawn_at = fields.DateTime(dump_only=True, allow_none=True)
    withdrawn_by_id = fields.Integer(dump_only=True, allow_none=True)
    withdraw_reason = fields.String(dump_only=True, allow_none=True)
    followup = fields.Nested(FollowupInSchema, allow_none=True)


class InteractionPatch(Schema):
    """The fields given replace the recorded ones; the lead stays."""

    kind = fields.String(validate=validate.OneOf(interactions.KINDS))
    occurred_at = fields.DateTime()
    location = fields.String(allow_none=True)
    summary = fields.String()
    outcome = fields.String(allow_none=True)
    leader_level = fields.String(validate=validate.OneOf(interactions.LEVELS))
    leader_name = fields.String(allow_none=True)
    participant_ids = fields.List(fields.Integer(), validate=validate.Length(max=interactions.MAX_PARTICIPANTS))
    visitor_count = fields.Integer()
    trip_id = fields.Integer(allow_none=True)


class InteractionWithdrawIn(Schema):
    reason = fields.String(required=True)


class TripPatch(Schema):
    title = fields.String()
    leader_name = fields.String(allow_none=True)
    leader_level = fields.String(validate=validate.OneOf(interactions.LEVELS))
    starts_on = fields.Date()
    ends_on = fields.Date()
    cities = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    participant_ids = fields.List(fields.Integer())


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
                                         "created_by_id", "withdrawn_at", "withdrawn_by_id", "withdraw_reason")}
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
@bp.doc(parameters=[idempotency.PARAMETER])
def interaction_create(data, lead_id: int):
    followup = data.pop("followup", None)
    interaction, headers = idempotency.create_once(Interaction, lambda: interactions.log_interaction(
        actor(), data, now=_now(), lead_id=lead_id, followup=followup))
    fu = db.session.scalar(select(Followup).where(Followup.source_interaction_id == interaction.id))
    return _interaction(interaction, fu), headers


def _readable(interaction_id: int):
    interaction = interactions.get_interaction(interaction_id)
    if interaction.lead_id is not None:
        leads.get_lead(actor(), interaction.lead_id)  # the lead must be one the caller may open
    return interaction


@bp.route("/interactions/<int:interaction_id>")
@bp.response(200, InteractionSchema)
def interaction_get(interaction_id: int):
    return _interaction(_readable(interaction_id))


@bp.route("/interactions/<int:interaction_id>", methods=["PATCH"])
@bp.arguments(InteractionPatch)
@bp.response(200, InteractionSchema)
def interaction_update(data, interaction_id: int):
    """Correct a contact (the county that logged it, or the city); audited, and the figures follow."""
    return _interaction(interactions.update_interaction(actor(), _readable(interaction_id).id, data, now=_now()))


@bp.route("/interactions/<int:interaction_id>/withdraw", methods=["POST"])
@bp.arguments(InteractionWithdrawIn)
@bp.response(200, InteractionSchema)
def interaction_withdraw(data, interaction_id: int):
    """Withdraw (撤回) a contact logged by mistake: kept, marked, left out of every figure; 409 if already."""
    return _interaction(interactions.withdraw_interaction(actor(), _readable(interaction_id).id, data["reason"],
                                                          now=_now()))


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
@bp.doc(parameters=[idempotency.PARAMETER])
def trip_create(data):
    trip, headers = idempotency.create_once(Trip, lambda: trips.create_trip(actor(), data, now=_now()))
    return _trip(trip), headers


@bp.route("/trips/<int:trip_id>")
@bp.response(200, TripSchema)
def trip_get(trip_id: int):
    return _trip(trips.get_trip(trip_id))


@bp.route("/trips/<int:trip_id>", methods=["PATCH"])
@bp.arguments(TripPatch)
@bp.response(200, TripSchema)
def trip_update(data, trip_id: int):
    return _trip(trips.update_trip(actor(), trip_id, data, now=_now()))
