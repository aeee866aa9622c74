"""API: projects (招商项目) with their stage changes and funds in place; money as numbers in 万元."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.models import FundsArrival, Project
from crm.services import funds, projects
from crm.services.permissions import require

bp = Blueprint("api_projects", __name__, url_prefix="/api/v1", description="Projects, stages and funds in place")

# Money and dates arrive as given and are checked by the service, so a bad amount names its field (422).
Money = fields.Raw


class FundsSchema(Schema):
    id = fields.Integer(dump_only=True)
    project_id = fields.Integer(dump_only=True)
    amount = fields.Float(dump_only=True)
    arrived_on = fields.Date(dump_only=True)
    out_of_province = fields.Boolean(dump_only=True)
    foreign_amount = fields.Float(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    withdrawn_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "撤回: no figure counts it"})
    withdrawn_by_id = fields.Integer(dump_only=True, allow_none=True)
    withdrawn_reason = fields.String(dump_only=True, allow_none=True)


class FundsIn(Schema):
    amount = Money(required=True, metadata={"description": "万元; at most 10,000,000 (1,000亿元)"})
    arrived_on = fields.Raw(required=True, metadata={"description": "YYYY-MM-DD; not before signed_on"})
    out_of_province = fields.Boolean(load_default=False)
    foreign_amount = Money(load_default=None, allow_none=True, metadata={
        "description": "万美元, within amount: foreign_amount × USD_CNY_RATE (config, default 7.1) ≤ amount"})
    note = fields.String(load_default=None, allow_none=True)
    confirm = fields.Boolean(load_default=False, metadata={
        "description": "record it although the project's funds would exceed its total investment (otherwise 422 "
                       f"with code {funds.OVER_REMAINING})"})


class StageChangeSchema(Schema):
    id = fields.Integer()
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    changed_on = fields.Date()
    actor_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class StageIn(Schema):
    stage = fields.String(required=True, metadata={"description": "|".join(projects.STAGES)})
    on = fields.Raw(load_default=None, allow_none=True, metadata={"description": "date of the change; default today"})
    allow_back = fields.Boolean(load_default=False, metadata={"description": "confirm moving a project back"})


class ProjectSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    industry_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    lead_ids = fields.List(fields.Integer())
    stage = fields.String()
    investment_total = fields.Float(metadata={"description": "万元"})
    is_foreign = fields.Boolean()
    is_continuing = fields.Boolean(metadata={"description": "续建: may receive funds before (or without) signing"})
    source_channel = fields.String(allow_none=True)
    referrer_id = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    signed_on = fields.Date(allow_none=True)
    started_on = fields.Date(allow_none=True)
    producing_on = fields.Date(dump_only=True, allow_none=True, metadata={"description": "投产: set by the stage change "
                                                                                      "to operating"})
    planned_start_on = fields.Date(allow_none=True)
    manager_id = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)
    funds_total = fields.Float(dump_only=True, metadata={"description": "live funds in place, 万元"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={"description": "bumped by every edit and stage change; "
                                                                      "also the ETag"})


class ProjectDetailSchema(ProjectSchema):
    funds = fields.List(fields.Nested(FundsSchema), dump_only=True, metadata={"description": "live rows"})
    withdrawn_funds = fields.List(fields.Nested(FundsSchema), dump_only=True, metadata={"description": "撤回"})
    stage_changes = fields.List(fields.Nested(StageChangeSchema), dump_only=True)


class ProjectIn(Schema):
    name = fields.String(required=True)
    industry_id = fields.Integer(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    lead_ids = fields.List(fields.Integer(), allow_none=True)
    stage = fields.String(metadata={"description": "the stage reached already (with signed_on/started_on)"})
    investment_total = Money(allow_none=True, metadata={"description": "万元"})
    is_foreign = fields.Boolean()
    is_continuing = fields.Boolean()
    source_channel = fields.String(allow_none=True)
    referrer_id = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    signed_on = fields.Raw(allow_none=True)
    started_on = fields.Raw(allow_none=True)
    planned_start_on = fields.Raw(allow_none=True)
    manager_id = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)


class ProjectPatch(ProjectIn):
    name = fields.String()
    version = fields.Integer(metadata={"description": "the version read; a project changed since answers 409"})


class ProjectQuery(PageArgs):
    stage = fields.String(validate=validate.OneOf(projects.STAGES))
    county_id = fields.Integer()
    industry_id = fields.Integer()
    year = fields.Integer(validate=validate.Range(min=1900, max=2100), metadata={"description": "year signed"})
    is_foreign = fields.Boolean()
    event_id = fields.Integer()
    q = fields.String(validate=validate.Length(max=100))


def _now() -> datetime:
    return datetime.now(UTC)


def _out(project) -> dict:
    values = {key: getattr(project, key) for key in ProjectSchema._declared_fields if hasattr(project, key)}
    values["lead_ids"] = sorted(lead.id for lead in project.leads)
    values["funds_total"] = funds.live_total(project)
    return values


def _detail(project) -> dict:
    live, withdrawn = funds.project_funds(project)
    return {**_out(project), "funds": live, "withdrawn_funds": withdrawn, "stage_changes": project.stage_changes}


@bp.route("/projects")
@bp.arguments(ProjectQuery, location="query")
@bp.response(200, page_schema(ProjectSchema, "ProjectPage"))
def project_list(args):
    require(actor(), "project.view")
    page, per_page = args.pop("page"), args.pop("per_page")
    result = db.paginate(projects.projects_query(**args), page=page, per_page=per_page, error_out=False)
    return {**page_of(result), "items": [_out(p) for p in result.items]}


@bp.route("/projects", methods=["POST"])
@bp.arguments(ProjectIn)
@bp.response(201, ProjectDetailSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def project_create(data):
    project, headers = idempotency.create_once(Project, lambda: projects.create_project(actor(), data, now=_now()))
    return _detail(project), headers


@bp.route("/projects/<int:project_id>")
@bp.response(200, ProjectDetailSchema)
def project_get(project_id: int):
    project = projects.get_project(actor(), project_id)
    return _detail(project), 200, versions.etag(project.version)


@bp.route("/projects/<int:project_id>", methods=["PATCH"])
@bp.arguments(ProjectPatch)
@bp.response(200, ProjectDetailSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def project_update(data, project_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        project = projects.update_project(actor(), project_id, data, now=_now(), expected_version=expected)
    return _detail(project), 200, versions.etag(project.version)


@bp.route("/projects/<int:project_id>", methods=["DELETE"])
@bp.response(204)
def project_delete(project_id: int):
    projects.delete_project(actor(), project_id, now=_now())


@bp.route("/projects/<int:project_id>/stage", methods=["POST"])
@bp.arguments(StageIn)
@bp.response(200, ProjectDetailSchema)
def project_stage(data, project_id: int):
    projects.change_stage(actor(), project_id, data["stage"], on=data["on"], now=_now(),
                          allow_back=data["allow_back"])
    project = projects.get_project(actor(), project_id)
    return _detail(project), 200, versions.etag(project.version)


@bp.route("/projects/<int:project_id>/funds", methods=["POST"])
@bp.arguments(FundsIn)
@bp.response(201, FundsSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def project_funds(data, project_id: int):
    return idempotency.create_once(FundsArrival, lambda: funds.add_funds(
        actor(), project_id, data["amount"], data["arrived_on"], data["out_of_province"], data["foreign_amount"],
        note=data["note"], confirm_over=data["confirm"], now=_now()))
