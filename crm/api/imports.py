"""API: imports (POST /imports multipart, GET /imports/{id}, DELETE /imports/{id} reverts) and the lead export
GET /leads/export (a literal path, so it never meets the leads API's /leads/<int:lead_id>)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from crm.api.auth import actor
from crm.services import exports, imports
from crm.services.errors import InvalidInput

bp = Blueprint("api_imports", __name__, url_prefix="/api/v1", description="Spreadsheet imports and exports")
RESULT_LIMIT = 1000


class RowResultSchema(Schema):
    row_number = fields.Integer()
    outcome = fields.String(metadata={"description": "rejected | updated | skipped"})
    reason = fields.String(allow_none=True, metadata={"description": "stable code with parameters"})
    message = fields.String(metadata={"description": "the reason, translated"})
    lead_id = fields.Integer(allow_none=True)


class RevertedLeadSchema(Schema):
    lead_id = fields.Integer()
    name = fields.String()
    action = fields.String(metadata={"description": "deleted (created by the batch) | restored (old values back)"})


class KeptLeadSchema(Schema):
    lead_id = fields.Integer()
    name = fields.String()
    was = fields.String(metadata={"description": "created | updated (by the batch)"})
    reason = fields.String(metadata={"description": "transferred | edited | merged | deleted | interactions | "
                                                    "followups | projects | outreach | events | conflicts | "
                                                    "referenced | other"})
    message = fields.String(metadata={"description": "the reason, translated"})


class RevertSchema(Schema):
    deleted = fields.Integer()
    restored = fields.Integer()
    kept = fields.Integer()
    reverted_leads = fields.List(fields.Nested(RevertedLeadSchema), metadata={"description": "the first 500 "
                                                                                            "of each action"})
    kept_leads = fields.List(fields.Nested(KeptLeadSchema))


class BatchSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    file_format = fields.String()
    status = fields.String(metadata={"description": "pending | running | done | failed | reverted"})
    duplicate_mode = fields.String()
    mapping = fields.Dict(keys=fields.String(), values=fields.Integer())
    owner_county_id = fields.Integer(allow_none=True)
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    created_count = fields.Integer()
    updated_count = fields.Integer()
    skipped_count = fields.Integer()
    error_count = fields.Integer()
    error = fields.String(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    reverted_at = fields.DateTime(allow_none=True)
    results = fields.List(fields.Nested(RowResultSchema))
    revert = fields.Nested(RevertSchema, allow_none=True, metadata={
        "description": "after a revert: what it reverted and what it kept, with the reason per lead"})


class ExportArgs(Schema):
    format = fields.String(load_default="xlsx", metadata={"description": "xlsx | csv"})
    kind = fields.String()
    industry_id = fields.Integer()
    county_id = fields.Integer()
    status = fields.String()
    owner_id = fields.Integer()
    is_key = fields.Boolean()
    silent_days = fields.Integer()
    q = fields.String()
    sort = fields.String()


def _now() -> datetime:
    return datetime.now(UTC)


def _batch(batch_id: int) -> dict:
    user = actor()
    batch = imports.get_batch(user, batch_id)
    results = [{"row_number": r.row_number, "outcome": r.outcome, "reason": r.reason,
                "message": imports.reason_text(r.reason), "lead_id": r.lead_id}
               for r in imports.row_results(user, batch_id, limit=RESULT_LIMIT, audited=True)]
    values = {key: getattr(batch, key) for key in BatchSchema().fields if key not in ("results", "revert")}
    values["revert"] = imports.revert_result(batch)
    if batch.status == "running":
        values["error"] = None  # while running it names the worker process, nothing for clients
    return {**values, "results": results}


@bp.route("/imports", methods=["POST"])
@bp.response(201, BatchSchema)
@bp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "file": {"type": "string", "format": "binary"}, "duplicate_mode": {"type": "string", "enum": list(imports.MODES)},
    "owner_county_id": {"type": "integer"}, "mapping": {"type": "string", "description": "JSON {field: column}"}},
    "required": ["file"]}}}})
def import_create():
    """Upload and run an import: small files finish in the call; large ones return status running."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput({"file": [_l("This field is required.")]})
    user = actor()
    batch = imports.start_import(user, upload.filename or "", upload.read(), mapping=request.form.get("mapping"),
                                 duplicate_mode=request.form.get("duplicate_mode") or "skip",
                                 owner_county_id=request.form.get("owner_county_id"), now=_now())
    batch = imports.launch_import(user, batch.id, now=_now())
    return _batch(batch.id)


@bp.route("/imports/<int:batch_id>")
@bp.response(200, BatchSchema)
def import_detail(batch_id: int):
    return _batch(batch_id)


@bp.route("/imports/<int:batch_id>", methods=["DELETE"])
@bp.response(200, BatchSchema)
def import_revert(batch_id: int):
    """Revert the batch: leads it created are deleted, leads it updated restored, except those someone has changed
    or used since (handed to another county, edited, with visits, follow-ups or projects): `revert` lists both."""
    imports.revert_import(actor(), batch_id, now=_now())
    return _batch(batch_id)


@bp.route("/leads/export")
@bp.arguments(ExportArgs, location="query")
@bp.response(200, description="The filtered lead list as XLSX or CSV (UTF-8 with BOM).")
def lead_export(args):
    fmt = args.pop("format")
    name, content, mimetype = exports.export_leads(actor(), args, fmt, now=_now())
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response
