"""API resource: follow-ups (list with filters, create, edit, complete) over crm.services.followups."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.models import Followup
from crm.services import followups

bp = Blueprint("api_followups", __name__, url_prefix="/api/v1", description="Follow-ups (跟进任务)")


class FollowupSchema(Schema):
    id = fields.Integer()
    lead_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    title = fields.String()
    detail = fields.String(allow_none=True)
    due_at = fields.DateTime()
    priority = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    assigned_by_id = fields.Integer(allow_none=True)
    status = fields.String()
    handoff = fields.String()
    return_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    previous_id = fields.Integer(allow_none=True)
    result_interaction_id = fields.Integer(allow_none=True)
    version = fields.Integer(metadata={"description": "bumped by every edit and status change; also the ETag"})


class FollowupInput(Schema):
    """Shape only; the service checks meaning and answers 422 with field → messages."""

    title = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True, metadata={"description": "ISO 8601; without an offset: Asia/Shanghai"})
    priority = fields.String(allow_none=True)
    lead_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)


class FollowupPatch(FollowupInput):
    """The same fields, each optional (only those given change); `version` (or If-Match) guards against lost
    updates."""

    version = fields.Integer(allow_none=True,
                             metadata={"description": "the version read; a follow-up changed since answers 409"})


class NextInput(Schema):
    title = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    priority = fields.String(allow_none=True)


class CompleteInput(Schema):
    outcome = fields.String(required=True)
    kind = fields.String(load_default=None, metadata={"description": "interaction kind, default call"})
    next = fields.Nested(NextInput, load_default=None, allow_none=True,
                         metadata={"description": "done and schedule the next follow-up"})


class ClaimInput(Schema):
    version = fields.Integer(allow_none=True,
                             metadata={"description": "the version read; a follow-up changed since answers 409"})


class FollowupQuery(PageArgs):
    assignee_id = fields.Integer()
    county_id = fields.Integer()
    lead_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(["open", "done", "cancelled"]))
    due_before = fields.AwareDateTime(default_timezone=UTC)
    overdue = fields.Boolean()


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/followups")
@bp.arguments(FollowupQuery, location="query")
@bp.response(200, page_schema(FollowupSchema, "FollowupPage"))
def followup_list(args):
    stmt = followups.followups_query(
        actor(), assignee_id=args.get("assignee_id"), county_id=args.get("county_id"), status=args.get("status"),
        due_before=args.get("due_before"), overdue=args.get("overdue"), lead_id=args.get("lead_id"), now=_now())
    return page_of(db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False))


@bp.route("/followups", methods=["POST"])
@bp.arguments(FollowupInput)
@bp.response(201, FollowupSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def followup_create(data):
    return idempotency.create_once(Followup, lambda: followups.create_followup(actor(), data, now=_now()))


@bp.route("/followups/<int:followup_id>")
@bp.response(200, FollowupSchema)
def followup_get(followup_id: int):
    fu = followups.get_followup(actor(), followup_id)
    return fu, 200, versions.etag(fu.version)


@bp.route("/followups/<int:followup_id>", methods=["PATCH"])
@bp.arguments(FollowupPatch)
@bp.response(200, FollowupSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def followup_update(data, followup_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        fu = followups.update_followup(actor(), followup_id, data, now=_now(), expected_version=expected)
    return fu, 200, versions.etag(fu.version)


@bp.route("/followups/<int:followup_id>/complete", methods=["POST"])
@bp.arguments(CompleteInput)
@bp.response(200, FollowupSchema)
def followup_complete(data, followup_id: int):
    return followups.complete_followup(actor(), followup_id, data["outcome"], kind=data.get("kind"),
                                       next=data.get("next"), now=_now())


@bp.route("/followups/<int:followup_id>/claim", methods=["POST"])
@bp.arguments(ClaimInput)
@bp.response(200, FollowupSchema)
@bp.doc(description="领取: a county staff member takes an unassigned follow-up from their county's inbox (a "
                    "pending hand-off is accepted by the same act). Taken by a colleague first: 409.",
        **versions.IF_MATCH_DOC)
def followup_claim(data, followup_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        fu = followups.claim_followup(actor(), followup_id, now=_now(), expected_version=expected)
    return fu, 200, versions.etag(fu.version)
