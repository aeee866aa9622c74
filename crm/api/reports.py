"""API: the annual report (API.md "The annual report") and the county ranking; money as numbers in 万元."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.services import reports, targets
from crm.services.permissions import require

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1", description="Annual figures and ranking")

Num = fields.Float
Ratio = fields.Float(allow_none=True, metadata={"description": "actual ÷ target; null without a target"})


def _schema(name: str, spec: dict) -> type[Schema]:
    return Schema.from_dict(spec, name=name)


Signed = _schema("ReportSigned", {"count": fields.Integer(), "investment": Num(), "count_target": Num(allow_none=True),
                                  "count_ratio": Num(allow_none=True), "investment_target": Num(allow_none=True),
                                  "investment_ratio": Num(allow_none=True)})
Funds = _schema("ReportFunds", {"total": Num(), "total_target": Num(allow_none=True), "total_ratio": Num(allow_none=True),
                                "out_of_province": Num(), "out_of_province_target": Num(allow_none=True),
                                "out_of_province_ratio": Num(allow_none=True)})
ForeignEnt = _schema("ReportForeignEnterprises", {"count": fields.Integer(), "target": Num(allow_none=True),
                                                  "ratio": Num(allow_none=True)})
ForeignCap = _schema("ReportForeignCapital", {"amount": Num(), "target": Num(allow_none=True),
                                              "ratio": Num(allow_none=True)})
Visits = _schema("ReportVisits", {"total": fields.Integer(), "city_led": fields.Integer(),
                                  "county_led": fields.Integer()})
Receptions = _schema("ReportReceptions", {"batches": fields.Integer(), "visitors": fields.Integer()})
Shares = _schema("ReportSizeShares", {"over_100m": Num(), "over_500m": Num(), "over_1b": Num(),
                                      "investment_share_over_100m": Num()})
EventRow = _schema("ReportEvent", {"id": fields.Integer(), "name": fields.String(), "held_on": fields.Date(),
                                   "signed_count": fields.Integer(), "signed_investment": Num()})
PendingSigned = _schema("ReportPendingSigned", {"count": fields.Integer(), "investment": Num()})
PendingFunds = _schema("ReportPendingFunds", {"total": Num(), "out_of_province": Num()})
PendingForeign = _schema("ReportPendingForeignCapital", {"amount": Num()})
Pending = _schema("ReportPending", {
    "verified_only": fields.Boolean(metadata={"description": "true: the figures above count verified records only"}),
    "signed_projects": fields.Nested(PendingSigned), "funds_in_place": fields.Nested(PendingFunds),
    "foreign_capital": fields.Nested(PendingForeign)})


class AnnualReportSchema(Schema):
    year = fields.Integer()
    county_id = fields.Integer(allow_none=True)
    signed_projects = fields.Nested(Signed)
    funds_in_place = fields.Nested(Funds)
    foreign_enterprises = fields.Nested(ForeignEnt)
    foreign_capital = fields.Nested(ForeignCap)
    enterprises_visited = fields.Nested(Visits)
    receptions = fields.Nested(Receptions)
    size_shares = fields.Nested(Shares)
    hometown_projects = fields.Integer()
    events = fields.List(fields.Nested(EventRow))
    pending = fields.Nested(Pending, metadata={
        "description": "认定: signings and funds awaiting verification (待认定) or returned (退回), not counted above"})


class ReportArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=targets.MIN_YEAR, max=targets.MAX_YEAR))
    county_id = fields.Integer(load_default=None, allow_none=True)


Metric = _schema("RankingMetric", {"actual": Num(), "target": Num(allow_none=True), "ratio": Num(allow_none=True)})


class RankingRow(Schema):
    rank = fields.Integer()
    county_id = fields.Integer()
    county = fields.String()
    score = fields.Float()
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(Metric))


@bp.route("/reports/annual")
@bp.arguments(ReportArgs, location="query")
@bp.response(200, AnnualReportSchema)
def annual(args):
    require(actor(), "report.view")
    return reports.annual_report(args["year"], args["county_id"])


@bp.route("/reports/ranking")
@bp.arguments(ReportArgs, location="query")
@bp.response(200, RankingRow(many=True))
def ranking(args):
    require(actor(), "report.view")
    return reports.county_ranking(args["year"])
