"""GET /api/v1/search: full-text search over leads and projects with facets (API.md)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.services import bulk, indexing, saved_searches

bp = Blueprint("api_search", __name__, url_prefix="/api/v1", description="Search")


class SearchArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=2000))
    industry_id = fields.Integer(load_default=None)
    county_id = fields.Integer(load_default=None)
    kind = fields.String(load_default=None, validate=validate.Length(max=40))
    status = fields.String(load_default=None, validate=validate.Length(max=40))
    is_key = fields.Boolean(load_default=None)
    type = fields.String(load_default=None, validate=validate.OneOf(["lead", "project"]))
    sort = fields.String(load_default="relevance", validate=validate.OneOf(["relevance", "last_contact", "name"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class HitSchema(Schema):
    type = fields.String()
    id = fields.Integer()
    name = fields.String()
    score = fields.Float(allow_none=True)
    highlights = fields.Dict(keys=fields.String(), values=fields.String(),
                             metadata={"description": "HTML: the text escaped, matches wrapped in <mark>"})
    kind = fields.String()
    status = fields.String()
    county_id = fields.Integer(allow_none=True)
    is_key = fields.Boolean()
    last_contacted_at = fields.DateTime(allow_none=True)


class FacetSchema(Schema):
    id = fields.Raw()
    name = fields.String()
    count = fields.Integer()


class IndustryFacetSchema(FacetSchema):
    parent_id = fields.Integer(allow_none=True)


class FacetsSchema(Schema):
    industry = fields.List(fields.Nested(IndustryFacetSchema))
    county = fields.List(fields.Nested(FacetSchema))
    kind = fields.List(fields.Nested(FacetSchema))
    status = fields.List(fields.Nested(FacetSchema))
    is_key = fields.List(fields.Nested(FacetSchema))


class SearchResultSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    sort = fields.String()
    items = fields.List(fields.Nested(HitSchema))
    facets = fields.Nested(FacetsSchema)


@bp.route("/search")
@bp.arguments(SearchArgs, location="query")
@bp.response(200, SearchResultSchema)
def search(args):
    filters = {k: args[k] for k in ("industry_id", "county_id", "kind", "status", "is_key", "type")}
    return indexing.search_leads(actor(), args["q"], filters, args["sort"], args["page"], args["per_page"])


# --- saved searches and bulk actions (the search page's lists) ---------------------------------------------

class SavedQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=256))
    industry_id = fields.Integer()
    county_id = fields.Integer()
    kind = fields.String(validate=validate.Length(max=40))
    status = fields.String(validate=validate.Length(max=40))
    is_key = fields.Boolean()
    type = fields.String(validate=validate.OneOf(["lead", "project"]))


class SavedSearchIn(Schema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    query = fields.Nested(SavedQuerySchema, required=True)
    scope = fields.String(load_default="private", validate=validate.OneOf(["private", "county", "city"]),
                          metadata={"description": "private; county (the maker's county); city (everyone)"})


class SavedSearchOut(Schema):
    id = fields.Integer()
    name = fields.String()
    query = fields.Dict()
    scope = fields.String()
    county_id = fields.Integer(allow_none=True)
    user_id = fields.Integer()
    created_at = fields.DateTime()


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@bp.route("/saved-searches")
@bp.response(200, SavedSearchOut(many=True))
def saved_search_list():
    """The caller's saved searches, then those shared with the caller's county, then city-wide ones."""
    return saved_searches.visible_searches(actor())


@bp.route("/saved-searches", methods=["POST"])
@bp.arguments(SavedSearchIn)
@bp.response(201, SavedSearchOut)
def saved_search_create(data):
    return saved_searches.save_search(actor(), data["name"], data["query"], data["scope"], now=_now())


@bp.route("/saved-searches/<int:saved_search_id>", methods=["DELETE"])
@bp.response(204)
def saved_search_delete(saved_search_id: int):
    saved_searches.delete_search(actor(), saved_search_id, now=_now())


class BulkIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["owner", "tag", "outreach", "event"]))
    lead_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(max=2_000))
    owner_id = fields.Integer(metadata={"description": "action owner"})
    tag = fields.String(validate=validate.Length(max=200), metadata={"description": "action tag"})
    campaign_id = fields.Integer(metadata={"description": "action outreach: the outreach list (campaign)"})
    event_id = fields.Integer(metadata={"description": "action event: added to its invited leads"})


class BulkLeadSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    reason = fields.String()


class BulkOut(Schema):
    action = fields.String()
    done = fields.List(fields.Nested(BulkLeadSchema))
    unchanged = fields.List(fields.Nested(BulkLeadSchema))
    refused = fields.List(fields.Nested(BulkLeadSchema), metadata={"description": "each with the reason"})
    target_id = fields.Integer()


@bp.route("/leads/bulk", methods=["POST"])
@bp.arguments(BulkIn)
@bp.response(200, BulkOut)
def bulk_action(data):
    """One action on many leads, each judged as if changed alone; the refused are listed with the reason. The
    list as a file: GET /leads/export."""
    ids, now = data["lead_ids"], _now()
    if data["action"] == "owner":
        return bulk.assign_owner(actor(), ids, data.get("owner_id"), now=now)
    if data["action"] == "tag":
        return bulk.add_tag(actor(), ids, data.get("tag"), now=now)
    if data["action"] == "outreach":
        return bulk.add_to_campaign(actor(), ids, data.get("campaign_id"), now=now)
    return bulk.add_to_event(actor(), ids, data.get("event_id"), now=now)
