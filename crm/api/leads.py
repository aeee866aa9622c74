"""API resources for leads (with contacts), their reveal, and the industry taxonomy."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_schema
from crm.extensions import db
from crm.models import Lead
from crm.services import lead_lifecycle, leads
from crm.services.industries import all_industries
from crm.services.permissions import require

bp = Blueprint("api_leads", __name__, url_prefix="/api/v1", description="Leads, contacts and industries")


class ContactSchema(Schema):
    id = fields.Integer(allow_none=True)
    name = fields.String(required=True)
    title = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    wechat = fields.String(allow_none=True)
    is_primary = fields.Boolean(load_default=False)


class LeadSchema(Schema):
    """Lengths and meaning are checked by the service (the same rules as the web form)."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(validate=validate.OneOf(leads.KINDS))
    name = fields.String(required=True)
    uscc = fields.String(allow_none=True)
    industry_id = fields.Integer(allow_none=True)
    tags = fields.List(fields.String(), validate=validate.Length(max=leads.MAX_TAGS))
    origin_region = fields.String(allow_none=True)
    home_county_id = fields.Integer(allow_none=True)
    owner_county_id = fields.Integer(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    source_channel = fields.String(allow_none=True, validate=validate.OneOf(leads.CHANNELS))
    referrer_id = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(leads.STATUSES))
    is_key = fields.Boolean()
    notes = fields.String(allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), validate=validate.Length(max=leads.MAX_CONTACTS))
    contacts_masked = fields.Boolean(dump_only=True)
    last_contacted_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "bumped by every edit; also the ETag"})
    force = fields.Boolean(load_only=True, load_default=False)


class LeadPatchSchema(LeadSchema):
    """PATCH: every field optional (used with partial=True); `version` (or If-Match) guards against lost updates."""

    version = fields.Integer(metadata={"description": "the version read; a lead changed since answers 409"})


class LeadQuery(PageArgs):
    kind = fields.String(validate=validate.OneOf(leads.KINDS))
    industry_id = fields.Integer()
    county_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(leads.STATUSES))
    owner_id = fields.Integer()
    is_key = fields.Boolean()
    silent_days = fields.Integer(validate=validate.Range(min=1, max=3650))
    q = fields.String(validate=validate.Length(max=100))
    sort = fields.String(load_default="updated", validate=validate.OneOf(list(leads.SORTS)))


class DeletedLeadSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    owner_county_id = fields.Integer()
    deleted_at = fields.DateTime()
    deleted_by_id = fields.Integer(allow_none=True)
    restorable_until = fields.DateTime(metadata={"description": "the county's restore period ends (administrators "
                                                                "may restore later)"})
    merged_into_id = fields.Integer(allow_none=True, metadata={"description": "merged away: not restorable"})


class IndustrySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    synonyms = fields.List(fields.String())


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/leads")
@bp.arguments(LeadQuery, location="query")
@bp.response(200, page_schema(LeadSchema, "LeadPage"))
def lead_list(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    result = db.paginate(leads.leads_query(now=_now(), **args), page=page, per_page=per_page, error_out=False)
    me = actor()
    return {"items": [leads.lead_values(me, lead) for lead in result.items], "total": result.total,
            "page": result.page, "per_page": result.per_page}


@bp.route("/leads", methods=["POST"])
@bp.arguments(LeadSchema)
@bp.response(201, LeadSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def lead_create(data):
    force = data.pop("force", False)
    lead, headers = idempotency.create_once(Lead, lambda: leads.create_lead(actor(), data, now=_now(), force=force))
    return leads.lead_values(actor(), lead), headers


@bp.route("/leads/<int:lead_id>")
@bp.response(200, LeadSchema)
def lead_get(lead_id: int):
    lead = leads.get_lead(actor(), lead_id)
    return leads.lead_values(actor(), lead), 200, versions.etag(lead.version)


@bp.route("/leads/<int:lead_id>", methods=["PATCH"])
@bp.arguments(LeadPatchSchema(partial=True))
@bp.response(200, LeadSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def lead_update(data, lead_id: int):
    force = data.pop("force", False)
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        lead = leads.update_lead(actor(), lead_id, data, now=_now(), force=force, expected_version=expected)
    return leads.lead_values(actor(), lead), 200, versions.etag(lead.version)


@bp.route("/leads/<int:lead_id>", methods=["DELETE"])
@bp.response(204)
def lead_delete(lead_id: int):
    leads.delete_lead(actor(), lead_id, now=_now())


@bp.route("/leads/deleted")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(DeletedLeadSchema, "DeletedLeadPage"))
def lead_deleted_list(args):
    """Recently deleted leads the caller may restore (a county: its own, within the restore period)."""
    me = actor()
    require(me, "lead.view_deleted")
    result = db.paginate(lead_lifecycle.recently_deleted_query(me, now=_now()), page=args["page"],
                         per_page=args["per_page"], error_out=False)
    items = [{"id": x.id, "name": x.name, "owner_county_id": x.owner_county_id, "deleted_at": x.deleted_at,
              "deleted_by_id": x.deleted_by_id, "restorable_until": lead_lifecycle.restorable_until(x),
              "merged_into_id": x.merged_into_id} for x in result.items]
    return {"items": items, "total": result.total, "page": result.page, "per_page": result.per_page}


@bp.route("/leads/<int:lead_id>/restore", methods=["POST"])
@bp.response(200, LeadSchema)
def lead_restore(lead_id: int):
    """Undo a delete: the owning county or the city within the restore period, administrators any time; the
    follow-ups the delete cancelled are reopened. 409 past the period or when another lead now has its USCC."""
    lead = leads.restore_lead(actor(), lead_id, now=_now())
    return leads.lead_values(actor(), lead)


@bp.route("/leads/<int:lead_id>/reveal", methods=["POST"])
@bp.response(200, ContactSchema(many=True))
def lead_reveal(lead_id: int):
    """The unmasked contacts of another county's lead; the reveal is audited."""
    return leads.reveal_contacts(actor(), lead_id, now=_now())


@bp.route("/industries")
@bp.response(200, IndustrySchema(many=True))
def industry_list():
    return all_industries()
