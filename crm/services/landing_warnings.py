"""The 三未 list: signed projects not started (签约未开工), started not in production (开工未投产) and in production
below their committed output (投产未达产), each beyond a configurable number of days; and its XLSX export."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    Commitment,
    CommitmentKind,
    CommitmentSide,
    CommitmentStatus,
    County,
    Project,
    Stage,
    User,
)
from crm.services import audit, commitments
from crm.services.errors import InvalidInput
from crm.services.permissions import require
from crm.services.projects import start_deadline_days, today
from crm.spreadsheets import write_xlsx

NOT_STARTED, NOT_PRODUCING, BELOW_TARGET = "signed_not_started", "started_not_producing", "producing_below_target"
KINDS = (NOT_STARTED, NOT_PRODUCING, BELOW_TARGET)
KIND_LABELS = {NOT_STARTED: _l("Signed, not started"), NOT_PRODUCING: _l("Started, not in production"),
               BELOW_TARGET: _l("In production, below target")}
# Config key and default days of each warning; the first follows the projects' own 超时限未开工 deadline.
SETTINGS = {NOT_STARTED: "WARN_SIGNED_NOT_STARTED_DAYS", NOT_PRODUCING: "WARN_STARTED_NOT_PRODUCING_DAYS",
            BELOW_TARGET: "WARN_PRODUCING_BELOW_TARGET_DAYS"}
DEFAULTS = {NOT_PRODUCING: 365, BELOW_TARGET: 365}
# 达产 is judged on the investor's yearly figures.
OUTPUT_KINDS = (CommitmentKind.OUTPUT.value, CommitmentKind.TAX.value, CommitmentKind.JOBS.value)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Warning:
    project: Project
    kind: str
    since: date  # signed_on, started_on or producing_on
    days: int  # days since then
    limit: int
    shortfalls: list  # BELOW_TARGET: the commitments.Progress of each figure still short of its target


def limits() -> dict[str, int]:
    out = {}
    for kind, key in SETTINGS.items():
        default = start_deadline_days() if kind == NOT_STARTED else DEFAULTS[kind]
        try:
            value = int(current_app.config.get(key, default))
        except (TypeError, ValueError):
            value = default
        out[kind] = value if 0 < value <= 3650 else default
    return out


def clean_filters(county_id=None, kind=None) -> tuple[int | None, str | None]:
    errors = {}
    if county_id not in (None, "", 0):
        try:
            county_id = int(county_id)
        except (TypeError, ValueError):
            county_id = -1
        if db.session.get(County, county_id) is None:
            errors["county_id"] = [_l("Unknown county.")]
    else:
        county_id = None
    if kind in ("", None):
        kind = None
    elif kind not in KINDS:
        errors["kind"] = [_l("Not a valid choice.")]
    if errors:
        raise InvalidInput(errors)
    return county_id, kind


def landing_warnings(now: datetime, *, county_id: int | None = None, kind: str | None = None) -> list[Warning]:
    """Each project beyond its limit, longest first within each kind. "Beyond" is strict: a project exactly at
    the limit (signed 180 days ago, limit 180) is not yet listed."""
    day, limit = today(now), limits()
    base = select(Project).where(Project.deleted_at.is_(None)).options(selectinload(Project.county))
    if county_id:
        base = base.where(Project.county_id == county_id)
    out: list[Warning] = []
    checks = ((NOT_STARTED, Stage.SIGNED, "signed_on"), (NOT_PRODUCING, Stage.STARTED, "started_on"),
              (BELOW_TARGET, Stage.OPERATING, "producing_on"))
    for warning, stage, column in checks:
        if kind and kind != warning:
            continue
        rows = []
        for project in db.session.scalars(base.where(Project.stage == stage.value,
                                                     getattr(Project, column).is_not(None))):
            since = getattr(project, column)
            days = (day - since).days
            if days <= limit[warning]:
                continue
            short = _shortfalls(project, day) if warning == BELOW_TARGET else []
            if warning == BELOW_TARGET and not short:
                continue  # 达产, or no output promised to judge it by
            rows.append(Warning(project, warning, since, days, limit[warning], short))
        out += sorted(rows, key=lambda w: (-w.days, w.project.id))
    return out


def _shortfalls(project: Project, day: date) -> list:
    rows = db.session.scalars(select(Commitment).where(
        Commitment.project_id == project.id, Commitment.side == CommitmentSide.INVESTOR.value,
        Commitment.kind.in_(OUTPUT_KINDS), Commitment.status != CommitmentStatus.WAIVED.value)
        .options(selectinload(Commitment.actuals)))
    return [p for p in (commitments.progress(c, day) for c in rows) if not p.kept]


def counts(now: datetime, *, county_id: int | None = None) -> dict[str, int]:
    found = landing_warnings(now, county_id=county_id)
    return {kind: sum(w.kind == kind for w in found) for kind in KINDS}


def export_warnings(actor: User, *, county_id=None, kind=None, now: datetime) -> tuple[str, bytes, str]:
    require(actor, "export.run")
    require(actor, "project.view")
    county_id, kind = clean_filters(county_id, kind)
    found = landing_warnings(now, county_id=county_id, kind=kind)
    headers = [_("ID"), _("Project"), _("County"), _("Warning"), _("Since"), _("Days"), _("Limit (days)"),
               _("Investment (10,000 yuan)"), _("Shortfall")]
    rows = [[w.project.id, w.project.name, w.project.county.name, str(KIND_LABELS[w.kind]), w.since, w.days, w.limit,
             w.project.investment_total, "；".join(_shortfall_text(p) for p in w.shortfalls)] for w in found]
    content = write_xlsx(headers, rows, sheet_title=_("Three-not list"))
    audit.record_read(actor, "export", "project", None, summary=f"three_un.xlsx ({len(rows)})",
                      after={"county_id": county_id, "kind": kind, "rows": len(rows), "format": "xlsx"})
    return f"three-un-{now:%Y%m%d-%H%M}.xlsx", content, XLSX


def _shortfall_text(p) -> str:
    actual = p.actual if p.actual is not None else Decimal(0)
    return f"{commitments.label(p.commitment)} {actual:,.2f}/{p.commitment.target_quantity:,.2f}"
