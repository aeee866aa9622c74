"""API: commitments (履约) of signed projects with their actuals, variance and 履约率; the 三未 list; project health."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api import idempotency, versions
from crm.api.auth import actor
from crm.extensions import db
from crm.models import Commitment, CommitmentActual, Project
from crm.services import commitments, landing_warnings, project_health, projects
from crm.services.permissions import require

bp = Blueprint("api_commitments", __name__, url_prefix="/api/v1",
               description="Commitments (履约), the 三未 list and project health")
Raw = fields.Raw  # numbers and dates arrive as given and are checked by the service (422 naming the field)


class ActualSchema(Schema):
    id = fields.Integer()
    recorded_on = fields.Date()
    quantity = fields.Float(allow_none=True)
    note = fields.String(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class CommitmentSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    side = fields.String(metadata={"description": "investor | government (follows the kind)"})
    kind = fields.String(metadata={"description": "|".join(commitments.KINDS)})
    title = fields.String(allow_none=True)
    due_on = fields.Date()
    target_quantity = fields.Float(allow_none=True, metadata={"description": "in `unit`; none for dates and services"})
    unit = fields.String(allow_none=True, metadata={"description": "10k yuan (万元) | people"})
    status = fields.String(metadata={"description": "|".join(commitments.STATUSES)})
    status_reason = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    actual = fields.Float(allow_none=True, metadata={"description": "investment: live funds in place; incentive: "
                                                                    "sum of entries; output/tax/jobs: latest entry"})
    actual_on = fields.Date(allow_none=True, metadata={"description": "start/production: the project's date; land: "
                                                                      "first entry"})
    variance = fields.Float(allow_none=True, metadata={"description": "actual − target, or days late (dates)"})
    rate = fields.Float(allow_none=True, metadata={"description": "履约率 of this commitment (1 = kept)"})
    kept = fields.Boolean()
    slipped = fields.Boolean(metadata={"description": "open, past its due date and not kept"})
    days_left = fields.Integer()
    actuals = fields.List(fields.Nested(ActualSchema))
    version = fields.Integer()


class ProjectCommitmentsSchema(Schema):
    project_id = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "履约率: mean over due or kept commitments, waived "
                                                                  "left out"})
    investor_rate = fields.Float(allow_none=True)
    government_rate = fields.Float(allow_none=True)
    slipped = fields.Integer()
    items = fields.List(fields.Nested(CommitmentSchema))


class CommitmentIn(Schema):
    kind = fields.String(required=True, metadata={"description": "|".join(commitments.KINDS)})
    side = fields.String(load_default=None, allow_none=True, metadata={"description": "optional; must match the kind"})
    title = fields.String(load_default=None, allow_none=True)
    due_on = Raw(required=True, metadata={"description": "YYYY-MM-DD, not before the signing"})
    target_quantity = Raw(load_default=None, allow_none=True, metadata={
        "description": "required for investment/output/tax/incentive (万元, ≤ 10,000,000) and jobs (people, "
                       "≤ 1,000,000)"})
    notes = fields.String(load_default=None, allow_none=True)


class CommitmentPatch(Schema):
    title = fields.String(allow_none=True)
    due_on = Raw()
    target_quantity = Raw(allow_none=True)
    notes = fields.String(allow_none=True)
    version = fields.Integer(metadata={"description": "the version read; changed since answers 409"})


class ActualIn(Schema):
    recorded_on = Raw(required=True, metadata={"description": "YYYY-MM-DD, not in the future"})
    quantity = Raw(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)


class StatusIn(Schema):
    status = fields.String(required=True, metadata={"description": "|".join(commitments.STATUSES)})
    reason = fields.String(required=True)
    version = fields.Integer()


class WarningQuery(Schema):
    county_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(landing_warnings.KINDS))


class WarningSchema(Schema):
    project_id = fields.Integer()
    project_name = fields.String()
    county_id = fields.Integer()
    kind = fields.String(metadata={"description": "|".join(landing_warnings.KINDS)})
    since = fields.Date()
    days = fields.Integer()
    limit = fields.Integer()
    shortfall_commitment_ids = fields.List(fields.Integer())


class HealthQuery(Schema):
    county_id = fields.Integer()
    colour = fields.List(fields.String(validate=validate.OneOf(project_health.COLOURS)),
                         metadata={"description": "default red and amber (the needs-attention list)"})


class HealthSchema(Schema):
    project_id = fields.Integer()
    project_name = fields.String()
    county_id = fields.Integer()
    colour = fields.String(metadata={"description": "green | amber | red"})
    reasons = fields.List(fields.String())
    days_since_contact = fields.Integer()
    cadence_days = fields.Integer()
    slipped_commitments = fields.Integer()
    overdue_problems = fields.Integer()


def _now() -> datetime:
    return datetime.now(UTC)


def _item(p: commitments.Progress) -> dict:
    c = p.commitment
    return {**{k: getattr(c, k) for k in ("id", "project_id", "side", "kind", "title", "due_on", "target_quantity",
                                          "status", "status_reason", "notes", "actuals", "version")},
            "unit": p.unit, "actual": p.actual, "actual_on": p.actual_on, "variance": p.variance, "rate": p.rate,
            "kept": p.kept, "slipped": p.slipped, "days_left": p.days_left}


def _one(commitment: Commitment):
    return _item(commitments.progress(commitment, projects.today(_now()))), 200, versions.etag(commitment.version)


def _health(project: Project, h: project_health.Health) -> dict:
    return {"project_id": project.id, "project_name": project.name, "county_id": project.county_id,
            "colour": h.colour, "reasons": h.reasons, "days_since_contact": h.days_since, "cadence_days": h.cadence,
            "slipped_commitments": h.slipped, "overdue_problems": h.problems}


@bp.route("/projects/<int:project_id>/commitments")
@bp.response(200, ProjectCommitmentsSchema)
def commitment_list(project_id: int):
    project = projects.get_project(actor(), project_id)
    require(actor(), "commitment.view", None)
    summary = commitments.project_progress(project, projects.today(_now()))
    return {"project_id": project.id, **{k: summary[k] for k in ("rate", "investor_rate", "government_rate",
                                                                  "slipped")},
            "items": [_item(p) for p in summary["items"]]}


@bp.route("/projects/<int:project_id>/commitments", methods=["POST"])
@bp.arguments(CommitmentIn)
@bp.response(201, CommitmentSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def commitment_create(data, project_id: int):
    commitment, headers = idempotency.create_once(Commitment, lambda: commitments.create_commitment(
        actor(), project_id, data, now=_now()))
    return _item(commitments.progress(commitment, projects.today(_now()))), headers


@bp.route("/commitments/<int:commitment_id>")
@bp.response(200, CommitmentSchema)
def commitment_get(commitment_id: int):
    return _one(commitments.get_commitment(actor(), commitment_id))


@bp.route("/commitments/<int:commitment_id>", methods=["PATCH"])
@bp.arguments(CommitmentPatch)
@bp.response(200, CommitmentSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def commitment_update(data, commitment_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        commitment = commitments.update_commitment(actor(), commitment_id, data, now=_now(),
                                                   expected_version=expected)
    return _one(commitment)


@bp.route("/commitments/<int:commitment_id>/actuals", methods=["POST"])
@bp.arguments(ActualIn)
@bp.response(201, ActualSchema)
@bp.doc(parameters=[idempotency.PARAMETER])
def commitment_actual(data, commitment_id: int):
    return idempotency.create_once(CommitmentActual, lambda: commitments.add_actual(
        actor(), commitment_id, data, now=_now()))


@bp.route("/commitments/<int:commitment_id>/status", methods=["POST"])
@bp.arguments(StatusIn)
@bp.response(200, CommitmentSchema)
@bp.doc(**versions.IF_MATCH_DOC)
def commitment_mark(data, commitment_id: int):
    expected, from_header = versions.expected_version(data)
    with versions.precondition(from_header):
        commitment = commitments.mark_commitment(actor(), commitment_id, data["status"], reason=data["reason"],
                                                 now=_now(), expected_version=expected)
    return _one(commitment)


@bp.route("/commitments/warnings")
@bp.arguments(WarningQuery, location="query")
@bp.response(200, WarningSchema(many=True))
def warning_list(args):
    """三未: signed not started, started not producing, producing below target, each beyond its limit."""
    require(actor(), "project.view")
    county_id, kind = landing_warnings.clean_filters(args.get("county_id"), args.get("kind"))
    return [{"project_id": w.project.id, "project_name": w.project.name, "county_id": w.project.county_id,
             "kind": w.kind, "since": w.since, "days": w.days, "limit": w.limit,
             "shortfall_commitment_ids": [p.commitment.id for p in w.shortfalls]}
            for w in landing_warnings.landing_warnings(_now(), county_id=county_id, kind=kind)]


@bp.route("/projects/health")
@bp.arguments(HealthQuery, location="query")
@bp.response(200, HealthSchema(many=True))
def health_list(args):
    """The needs-attention list (red and amber by default), worst first."""
    require(actor(), "project.view")
    colours = tuple(args.get("colour") or (project_health.RED, project_health.AMBER))
    return [_health(p, h) for p, h in project_health.attention(_now(), county_id=args.get("county_id"),
                                                               colours=colours)]


@bp.route("/projects/<int:project_id>/health")
@bp.response(200, HealthSchema)
def health_get(project_id: int):
    project = projects.get_project(actor(), project_id)
    health = project_health.health_for([project], _now()).get(project.id)
    if health is None:  # dropped: no colour
        db.session.rollback()
        from crm.services.errors import NotFound

        raise NotFound("health")
    return _health(project, health)
