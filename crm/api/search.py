"""GET /api/v1/search: full-text search over leads and projects with facets (API.md)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.services import indexing

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
