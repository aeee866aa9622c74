"""API resource: problems (诉求/问题) and their steps — list, raise, read with the timeline, edit, route, 办理/办结,
the enterprise's confirmation, a leader's 批示 — and the departments, over crm.services.problems/departments."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.models import Problem
from crm.services import departments, problems

bp = Blueprint("api_problems", __name__, url_prefix="/api/v1",
               description="Problems (诉求/问题) raised on projects and leads, and the departments that solve them")

STATUSES = ["pending", "in_progress", "resolved", "confirmed"]


class EntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "raised, routed, progress (办理), resolved (办结), confirmed (企业确认), "
                                                  "returned, instruction (领导批示), escalated, meeting, edited"})
    actor_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    text = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    followup_id = fields.Integer(allow_none=True)


class ProblemSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer(allow_none=True)
    lead_id = fields.Integer(allow_none=True)
    target_name = fields.Function(problems.target_name, metadata={"description": "the project's or lead's name"})
    county_id = fields.Integer()
    department_id = fields.Integer(allow_none=True)
    source_interaction_id = fields.Integer(allow_none=True)
    source_followup_id = fields.Integer(allow_none=True)
    title = fields.String()
    detail = fields.String(allow_none=True)
    category = fields.String(metadata={"description": "land 用地, planning 规划审批, environment 环评, utilities 水电气, "
                                                      "financing 融资, labour 用工, policy 政策兑现, other 其他"})
    severity = fields.String(metadata={"description": "normal 一般, pressing 较急, urgent 紧急"})
    status = fields.String(metadata={"description": "pending 待受理 → in_progress 办理中 → resolved 已办结 → "
                                                    "confirmed 企业确认"})
    deadline_on = fields.Date()
    raised_by_id = fields.Integer(allow_none=True)
    raised_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    satisfaction = fields.Integer(allow_none=True, metadata={"description": "1–5, recorded with the confirmation"})
    escalation_level = fields.Integer(metadata={"description": "0 none, 1 county head told, 2 city told"})
    version = fields.Integer(metadata={"description": "bumped by every edit and step; also the ETag"})


class ProblemDetailSchema(ProblemSchema):
    entries = fields.Method("_entries", metadata={"description": "the timeline, oldest first"})

    def _entries(self, problem):
        return EntrySchema(many=True).dump(problems.timeline(problem))


class ProblemInput(Schema):
    """Shape only; the service checks meaning and answers 422 with field → messages (in Chinese by default)."""

    title = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    deadline_on = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD, not in the past; default: "
                                                                          "from the severity"})
    project_id = fields.Integer(allow_none=True)
    lead_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True, metadata={"description": "route at once"})
    source_interaction_id = fields.Integer(allow_none=True, metadata={"description": "the visit it came from"})
    source_followup_id = fields.Integer(allow_none=True, metadata={"description": "the follow-up it came from"})


class ProblemPatch(Schema):
    title = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    deadline_on = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True,
                             metadata={"description": "the version read; a problem changed since answers 409"})


class RouteInput(Schema):
    department_id = fields.Integer(required=True)
    note = fields.String(allow_none=True)


class AdvanceInput(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["in_progress", "resolved"]),
                           metadata={"description": "in_progress: 办理 (a note of what was done); resolved: 办结"})
    text = fields.String(required=True)


class ConfirmInput(Schema):
    satisfaction = fields.Raw(required=True, metadata={"description": "the enterprise's rating, a whole number 1–5"})
    text = fields.String(allow_none=True)


class TextInput(Schema):
    text = fields.String(required=True)


class ProblemQuery(PageArgs):
    status = fields.String(validate=validate.OneOf([*STATUSES, "open"]))
    county_id = fields.Integer()
    department_id = fields.Integer()
    category = fields.String()
    project_id = fields.Integer()
    lead_id = fields.Integer()
    overdue = fields.Boolean()


class DepartmentSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    county_id = fields.Integer(allow_none=True, metadata={"description": "null: a city department"})
    sort_order = fields.Integer()
    is_active = fields.Boolean()
    version = fields.Integer()


class DepartmentInput(Schema):
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    county_id = fields.Integer(allow_none=True)
    sort_order = fields.Integer(allow_none=True)
    is_active = fields.Boolean(allow_none=True)


class DepartmentPatch(DepartmentInput):
    version = fields.Integer(allow_none=True)


class DepartmentQuery(Schema):
    county_id = fields.Integer(metadata={"description": "a county's own departments"})
    city = fields.Boolean(metadata={"description": "only the city's departments"})
    active = fields.Boolean(load_default=True)


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/problems")
@bp.arguments(ProblemQuery, location="query")
@bp.response(200, page_schema(ProblemSchema, "ProblemPage"))
def problem_list(args):
    from crm.services.permissions import require

    require(actor(), "problem.list")
    stmt = problems.problems_query(actor(), status=args.get("status"), county_id=args.get("county_id"),
                                   department_id=args.get("department_id"), category=args.get("category"),
                                   overdue=args.get("overdue"), project_id=args.get("project_id"),
                                   lead_id=args.get("lead_id"), now=_now())
    return page_of(db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False))


@bp.route("/problems", methods=["POST"])
@bp.arguments(ProblemInput)
@bp.response(201, ProblemDetailSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def problem_create(data):
    return idempotency.create_once(Problem, lambda: problems.raise_problem(actor(), data, now=_now()))


@bp.route("/problems/<int:problem_id>")
@bp.response(200, ProblemDetailSchema)
def problem_get(problem_id: int):
    problem = problems.get_problem(actor(), problem_id)
    return problem, 200, versions.etag(problem.version)


@bp.route("/problems/<int:problem_id>", methods=["PATCH"])
@bp.arguments(ProblemPatch)
@bp.response(200, ProblemDetailSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def problem_update(data, problem_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        problem = problems.update_problem(actor(), problem_id, data, now=_now(), expected_version=expected)
    return problem, 200, versions.etag(problem.version)


@bp.route("/problems/<int:problem_id>/route", methods=["POST"])
@bp.arguments(RouteInput)
@bp.response(200, ProblemDetailSchema)
def problem_route(data, problem_id: int):
    """Route to the responsible department (the city: any city department or the county's own; a county: its own)."""
    return problems.route_problem(actor(), problem_id, data["department_id"], data.get("note"), now=_now())


@bp.route("/problems/<int:problem_id>/advance", methods=["POST"])
@bp.arguments(AdvanceInput)
@bp.response(200, ProblemDetailSchema)
def problem_advance(data, problem_id: int):
    """The department's 办理 (in_progress) or 办结 (resolved): its contacts only, or the city on its behalf."""
    return problems.advance_problem(actor(), problem_id, data["status"], data["text"], now=_now())


@bp.route("/problems/<int:problem_id>/confirm", methods=["POST"])
@bp.arguments(ConfirmInput)
@bp.response(200, ProblemDetailSchema)
def problem_confirm(data, problem_id: int):
    """企业确认 on the 回访, with the 1–5 satisfaction rating: closes a resolved problem."""
    return problems.confirm_problem(actor(), problem_id, data.get("satisfaction"), data.get("text"), now=_now())


@bp.route("/problems/<int:problem_id>/reopen", methods=["POST"])
@bp.arguments(TextInput)
@bp.response(200, ProblemDetailSchema)
def problem_reopen(data, problem_id: int):
    """The enterprise is not satisfied: a resolved problem goes back to the department."""
    return problems.reopen_problem(actor(), problem_id, data["text"], now=_now())


@bp.route("/problems/<int:problem_id>/instruct", methods=["POST"])
@bp.arguments(TextInput)
@bp.response(200, ProblemDetailSchema)
def problem_instruct(data, problem_id: int):
    """领导批示: a leader's instruction, its own entry in the timeline."""
    return problems.instruct_problem(actor(), problem_id, data["text"], now=_now())


@bp.route("/departments")
@bp.arguments(DepartmentQuery, location="query")
@bp.response(200, DepartmentSchema(many=True))
def department_list(args):
    return departments.all_departments(active_only=args.get("active", True), county_id=args.get("county_id"),
                                       city_only=bool(args.get("city")))


@bp.route("/departments", methods=["POST"])
@bp.arguments(DepartmentInput)
@bp.response(201, DepartmentSchema)
def department_create(data):
    return departments.create_department(actor(), data)


@bp.route("/departments/<int:department_id>", methods=["PATCH"])
@bp.arguments(DepartmentPatch)
@bp.response(200, DepartmentSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def department_update(data, department_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        return departments.update_department(actor(), department_id, data, expected_version=expected)
