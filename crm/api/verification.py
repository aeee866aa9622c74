"""API: 认定 (the verifier's queue, verify / return / resubmit a signing or a funds arrival, 撞单 decisions),
evidence attachments (multipart upload, permission-checked download) and the 月报 snapshots with their diff."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.services import attachments, projects, snapshots, verification, verification_queue
from crm.services.errors import InvalidInput
from crm.services.funds import get_funds, project_funds
from crm.services.permissions import require

bp = Blueprint("api_verification", __name__, url_prefix="/api/v1",
               description="认定 (verified results), evidence attachments and monthly snapshots (月报)")
Num = fields.Float


def _now() -> datetime:
    return datetime.now(UTC)


class DuplicateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    county_id = fields.Integer()
    signed_on = fields.Date()
    reasons = fields.List(fields.String(), metadata={
        "description": "same_lead | same_investment | similar_name | other_county | other_event"})


class QueueItemSchema(Schema):
    kind = fields.String(metadata={"description": "signing | funds"})
    id = fields.Integer(metadata={"description": "the project id (signing) or the funds id (funds)"})
    project_id = fields.Integer()
    project = fields.String()
    county_id = fields.Integer()
    county = fields.String()
    status = fields.String(metadata={"description": "pending (待认定) | verified (已认定) | returned (退回)"})
    reason = fields.String(allow_none=True, metadata={"description": "why it was returned"})
    on = fields.Date(metadata={"description": "signed_on or arrived_on"})
    amount = Num(metadata={"description": "万元: the investment (signing) or the amount (funds)"})
    out_of_province = fields.Boolean(allow_none=True)
    evidence = fields.Integer(metadata={"description": "how many evidence files are attached"})
    duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={"description": "suspected 撞单"})


class QueueArgs(Schema):
    kind = fields.String(validate=validate.OneOf(verification.KINDS))
    status = fields.String(load_default="pending", validate=validate.OneOf(verification.STATUSES))
    county_id = fields.Integer()


class VerificationSchema(Schema):
    kind = fields.String()
    project_id = fields.Integer()
    funds_id = fields.Integer(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    duplicate_of_id = fields.Integer(allow_none=True)


class ReturnIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "required: why"})


class DuplicateIn(Schema):
    other_id = fields.Integer(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(verification.DECISIONS))
    reason = fields.String(load_default=None, allow_none=True)


class AttachmentSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    funds_id = fields.Integer(allow_none=True)
    kind = fields.String(metadata={"description": "contract | licence | bank_slip | other"})
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class SubjectSchema(Schema):
    kind = fields.String()
    id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)


class ProjectVerificationSchema(Schema):
    project_id = fields.Integer()
    signing = fields.Nested(SubjectSchema, allow_none=True, metadata={"description": "null: not signed"})
    funds = fields.List(fields.Nested(SubjectSchema))
    duplicates = fields.List(fields.Nested(DuplicateSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema), metadata={
        "description": "empty for a reader of another county (evidence is the city's and the county's only)"})


class SnapshotSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    month = fields.Integer()
    source = fields.String(metadata={"description": "scheduled | manual"})
    note = fields.String(allow_none=True)
    frozen_by_id = fields.Integer(allow_none=True)
    frozen_at = fields.DateTime()


class SnapshotDetailSchema(SnapshotSchema):
    figures = fields.Dict(metadata={"description": "{report: the annual report as frozen (money as strings with "
                                                   "two decimals), ranking: the county ranking as frozen}"})


class SnapshotIn(Schema):
    year = fields.Integer(required=True)
    month = fields.Integer(required=True)
    note = fields.String(load_default=None, allow_none=True)


class DiffRow(Schema):
    path = fields.String(metadata={"description": "signed_projects.count, ranking.<county id>.<metric>, …"})
    snapshot = fields.Raw(allow_none=True)
    live = fields.Raw(allow_none=True)


class SnapshotArgs(Schema):
    year = fields.Integer()


# --- 认定 --------------------------------------------------------------------------------------------------

@bp.route("/verifications")
@bp.arguments(QueueArgs, location="query")
@bp.response(200, QueueItemSchema(many=True))
def verification_queue_list(args):
    """The verifier's queue: signings and funds arrivals in a state (default pending), oldest first."""
    require(actor(), "result.queue")
    return verification_queue.queue(**verification_queue.clean_filters(args))


def _subject_out(sub) -> dict:
    row = verification.state(sub)
    return {"kind": sub.kind, "id": sub.ident, "status": row.status if row else "pending",
            "reason": row.reason if row else None}


@bp.route("/projects/<int:project_id>/verification")
@bp.response(200, ProjectVerificationSchema)
def project_verification(project_id: int):
    user = actor()
    project = projects.get_project(user, project_id)
    signed = project.signed_on is not None and project.stage != "dropped"
    live, _withdrawn = project_funds(project)
    return {"project_id": project.id,
            "signing": _subject_out(verification.Subject("signing", project)) if signed else None,
            "funds": [_subject_out(verification.Subject("funds", project, f)) for f in live],
            "duplicates": [{"id": p.id, "name": p.name, "county_id": p.county_id, "signed_on": p.signed_on,
                            "reasons": r} for p, r in verification.suspected_duplicates(project)] if signed else [],
            "attachments": attachments.project_attachments(user, project)}


def _verification_out(row) -> dict:
    return {"kind": row.kind, "project_id": row.project_id, "funds_id": row.funds_id, "status": row.status,
            "reason": row.reason, "decided_by_id": row.decided_by_id, "decided_at": row.decided_at,
            "duplicate_of_id": row.duplicate_of_id}


@bp.route("/projects/<int:project_id>/verification/verify", methods=["POST"])
@bp.response(200, VerificationSchema)
def signing_verify(project_id: int):
    """已认定: by a verifier who did not enter it, with evidence attached and no unresolved 撞单."""
    return _verification_out(verification.verify(actor(), "signing", project_id, now=_now()))


@bp.route("/projects/<int:project_id>/verification/return", methods=["POST"])
@bp.arguments(ReturnIn)
@bp.response(200, VerificationSchema)
def signing_return(data, project_id: int):
    return _verification_out(verification.return_item(actor(), "signing", project_id, reason=data["reason"],
                                                      now=_now()))


@bp.route("/projects/<int:project_id>/verification/resubmit", methods=["POST"])
@bp.response(200, VerificationSchema)
def signing_resubmit(project_id: int):
    return _verification_out(verification.resubmit(actor(), "signing", project_id, now=_now()))


@bp.route("/projects/<int:project_id>/verification/duplicates", methods=["POST"])
@bp.arguments(DuplicateIn)
@bp.response(200, VerificationSchema)
def signing_duplicate(data, project_id: int):
    """The verifier's answer on a suspected 撞单: not_duplicate, or duplicate (returned, never counted)."""
    return _verification_out(verification.resolve_duplicate(actor(), project_id, data["other_id"], data["decision"],
                                                            reason=data["reason"], now=_now()))


@bp.route("/funds/<int:funds_id>/verification/verify", methods=["POST"])
@bp.response(200, VerificationSchema)
def funds_verify(funds_id: int):
    return _verification_out(verification.verify(actor(), "funds", funds_id, now=_now()))


@bp.route("/funds/<int:funds_id>/verification/return", methods=["POST"])
@bp.arguments(ReturnIn)
@bp.response(200, VerificationSchema)
def funds_return(data, funds_id: int):
    return _verification_out(verification.return_item(actor(), "funds", funds_id, reason=data["reason"], now=_now()))


@bp.route("/funds/<int:funds_id>/verification/resubmit", methods=["POST"])
@bp.response(200, VerificationSchema)
def funds_resubmit(funds_id: int):
    get_funds(actor(), funds_id)
    return _verification_out(verification.resubmit(actor(), "funds", funds_id, now=_now()))


# --- attachments -------------------------------------------------------------------------------------------

@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
@bp.response(201, AttachmentSchema)
@bp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "file": {"type": "string", "format": "binary", "description": "PDF, JPEG or PNG; checked by content"},
    "kind": {"type": "string", "enum": attachments.KINDS},
    "funds_id": {"type": "integer", "description": "evidence of this funds arrival; omitted = of the signing"}},
    "required": ["file", "kind"]}}}})
def attachment_upload(project_id: int):
    """Attach evidence; refused (422) when the content is not what the name or the type claims, or too large."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": [_l("This field is required.")]})
    return attachments.add_attachment(actor(), project_id, upload.filename or "", upload.read(),
                                      kind=request.form.get("kind"), funds_id=request.form.get("funds_id"),
                                      content_type=upload.mimetype, now=_now())


@bp.route("/attachments/<int:attachment_id>")
@bp.doc(responses={200: {"description": "the file, as an attachment (application/pdf, image/jpeg, image/png)"}})
def attachment_download(attachment_id: int):
    """Download evidence: the city and the project's own county only; audited."""
    attachment, data = attachments.read_attachment(actor(), attachment_id)
    return Response(data, mimetype=attachment.content_type, headers={
        "Content-Disposition": f"attachment; filename=evidence-{attachment.id}; "
                               f"filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@bp.route("/attachments/<int:attachment_id>", methods=["DELETE"])
@bp.response(204)
def attachment_delete(attachment_id: int):
    attachments.delete_attachment(actor(), attachment_id, now=_now())


# --- 月报 --------------------------------------------------------------------------------------------------

@bp.route("/snapshots")
@bp.arguments(SnapshotArgs, location="query")
@bp.response(200, SnapshotSchema(many=True))
def snapshot_list(args):
    return snapshots.list_snapshots(actor(), year=args.get("year"))


@bp.route("/snapshots", methods=["POST"])
@bp.arguments(SnapshotIn)
@bp.response(201, SnapshotDetailSchema)
def snapshot_freeze(data):
    """Freeze a month's report now (city users); the scheduler freezes the previous month by itself."""
    return snapshots.freeze(actor(), data["year"], data["month"], note=data["note"], now=_now())


@bp.route("/snapshots/<int:snapshot_id>")
@bp.response(200, SnapshotDetailSchema)
def snapshot_get(snapshot_id: int):
    return snapshots.get_snapshot(actor(), snapshot_id)


@bp.route("/snapshots/<int:snapshot_id>/diff")
@bp.response(200, DiffRow(many=True))
def snapshot_diff(snapshot_id: int):
    """Each figure whose live value now differs from the frozen one."""
    return [{"path": d["path"], "snapshot": _plain(d["snapshot"]), "live": _plain(d["live"])}
            for d in snapshots.diff(snapshots.get_snapshot(actor(), snapshot_id))]


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value
