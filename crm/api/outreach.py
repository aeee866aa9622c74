"""API resource: the holiday calendar and holiday-outreach campaigns, items and marking (crm.services.outreach)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm import holidays
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.models import ItemStatus
from crm.services import outreach

bp = Blueprint("api_outreach", __name__, url_prefix="/api/v1", description="Holidays and outreach (节日走访慰问)")


class HolidaySchema(Schema):
    key = fields.String()
    name = fields.String()
    name_en = fields.String()
    date = fields.Date()


class HolidayQuery(Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=holidays.MIN_YEAR, max=holidays.MAX_YEAR))


class CampaignSchema(Schema):
    id = fields.Integer()
    holiday_key = fields.String()
    year = fields.Integer()
    holiday_date = fields.Date()
    target_kinds = fields.List(fields.String())
    filters = fields.Dict()
    remind_days_before = fields.Integer()
    created_at = fields.DateTime()


class FiltersInput(Schema):
    kinds = fields.List(fields.String())
    include_key = fields.Boolean()
    county_id = fields.Integer(allow_none=True)
    industry_id = fields.Integer(allow_none=True)
    tag = fields.String(allow_none=True)
    statuses = fields.List(fields.String())


class CampaignInput(Schema):
    """Shape only; the service checks meaning. `target_kinds` (or filters.kinds) default to 乡贤, 顾问, 商会."""

    holiday_key = fields.String(required=True)
    year = fields.Integer(required=True)
    target_kinds = fields.List(fields.String(), load_default=None)
    filters = fields.Nested(FiltersInput, load_default=dict)


class ItemSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    lead_id = fields.Integer()
    assignee_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    status = fields.String()
    note = fields.String(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    interaction_id = fields.Integer(allow_none=True)


class ItemQuery(PageArgs):
    mine = fields.Boolean(load_default=False)
    assignee_id = fields.Integer()
    county_id = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in ItemStatus]))


class DoneInput(Schema):
    status = fields.String(required=True, metadata={"description": "greeted, visited, unreachable or declined"})
    note = fields.String(load_default=None, allow_none=True)


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/holidays")
@bp.arguments(HolidayQuery, location="query")
@bp.response(200, HolidaySchema(many=True))
def holiday_list(args):
    year = args.get("year") or outreach.today_in_ankang(_now()).year
    return outreach.holidays_of(year)


@bp.route("/outreach/campaigns")
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_schema(CampaignSchema, "CampaignPage"))
def campaign_list(args):
    actor()
    return page_of(db.paginate(outreach.campaigns_query(), page=args["page"], per_page=args["per_page"],
                               error_out=False))


@bp.route("/outreach/campaigns", methods=["POST"])
@bp.arguments(CampaignInput)
@bp.response(201, CampaignSchema)
@bp.alt_response(200, schema=CampaignSchema, description="The campaign for this holiday and year already existed")
def campaign_create(data):
    filters = dict(data.get("filters") or {})
    if data.get("target_kinds") is not None:
        filters["kinds"] = data["target_kinds"]
    existed = outreach.existing_campaign(data["holiday_key"], data["year"]) is not None
    campaign = outreach.create_campaign(actor(), data["holiday_key"], data["year"], filters, now=_now())
    return campaign, 200 if existed else 201


@bp.route("/outreach/campaigns/<int:campaign_id>")
@bp.response(200, CampaignSchema)
def campaign_get(campaign_id: int):
    return outreach.get_campaign(actor(), campaign_id)


@bp.route("/outreach/campaigns/<int:campaign_id>/items")
@bp.arguments(ItemQuery, location="query")
@bp.response(200, page_schema(ItemSchema, "OutreachItemPage"))
def item_list(args, campaign_id: int):
    who = actor()
    campaign = outreach.get_campaign(who, campaign_id)
    stmt = outreach.items_query(who, campaign.id, mine=args["mine"], county_id=args.get("county_id"),
                                assignee_id=args.get("assignee_id"), status=args.get("status"))
    return page_of(db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False))


@bp.route("/outreach/items/<int:item_id>/done", methods=["POST"])
@bp.arguments(DoneInput)
@bp.response(200, ItemSchema)
def item_done(data, item_id: int):
    return outreach.mark_item(actor(), item_id, data["status"], data.get("note"), now=_now())


@bp.route("/outreach/items/<int:item_id>/change", methods=["POST"])
@bp.arguments(DoneInput)
@bp.response(200, ItemSchema)
@bp.alt_response(409, description="Not marked yet, or the campaign's results can no longer be changed")
def item_change(data, item_id: int):
    """Change a recorded result (a mistaken 婉拒); the interaction it logged and the lead's last contact follow."""
    return outreach.change_item(actor(), item_id, data["status"], data.get("note"), now=_now())


class RefreshSchema(Schema):
    added = fields.Integer()
    removed = fields.Integer()
    kept = fields.Integer()


@bp.route("/outreach/campaigns/<int:campaign_id>/refresh", methods=["POST"])
@bp.response(200, RefreshSchema)
@bp.alt_response(409, description="The holiday has passed")
def campaign_refresh(campaign_id: int):
    """Bring the targets up to date (new eligible leads join, deleted/merged pending ones leave; results stay)."""
    return outreach.refresh_campaign(actor(), campaign_id, now=_now())
