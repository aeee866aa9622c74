"""The verifier's queue (待认定 list) and the counts behind the dashboard tile; queries only, no changes."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from crm.extensions import db
from crm.models import (
    County,
    FundsArrival,
    Project,
    Stage,
    Verification,
    VerificationKind,
    VerificationStatus,
)
from crm.services import verification
from crm.services.errors import InvalidInput
from crm.services.validation import Errors, clean_choice

QUEUE_LIMIT = 200


def _status_condition(status: str):
    if status == VerificationStatus.PENDING:
        return or_(Verification.id.is_(None), Verification.status == VerificationStatus.PENDING.value)
    return Verification.status == status


def _signings(status: str, county_id):
    stmt = select(Project, Verification).outerjoin(Verification, and_(
        Verification.kind == VerificationKind.SIGNING.value, Verification.project_id == Project.id,
        Verification.funds_id.is_(None))).where(
        Project.deleted_at.is_(None), Project.signed_on.is_not(None), Project.stage != Stage.DROPPED.value,
        _status_condition(status))
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    return stmt.order_by(Project.signed_on, Project.id)


def _funds(status: str, county_id):
    stmt = select(FundsArrival, Verification).join(Project, Project.id == FundsArrival.project_id).outerjoin(
        Verification, Verification.funds_id == FundsArrival.id).where(
        Project.deleted_at.is_(None), FundsArrival.withdrawn_at.is_(None), _status_condition(status))
    if county_id:
        stmt = stmt.where(Project.county_id == county_id)
    return stmt.order_by(FundsArrival.arrived_on, FundsArrival.id)


def clean_filters(raw: dict) -> dict:
    errors = Errors()
    kind = clean_choice(raw.get("kind") or None, verification.KINDS, field="kind", errors=errors, required=False)
    status = clean_choice(raw.get("status") or VerificationStatus.PENDING.value, verification.STATUSES,
                          field="status", errors=errors)
    county_id = raw.get("county_id") or None
    if county_id is not None:
        try:
            county_id = int(county_id)
        except (TypeError, ValueError):
            errors.add("county_id", "Unknown county.")
    if errors:
        raise InvalidInput(errors)
    return {"kind": kind, "status": status, "county_id": county_id}


def queue(*, kind=None, status: str = VerificationStatus.PENDING.value, county_id=None,
          limit: int = QUEUE_LIMIT) -> list[dict]:
    """Signings and funds arrivals in the given state, oldest first (at most `limit` of each kind), with their
    evidence count and, for a signing, its suspected duplicates."""
    counties = {c.id: c.name for c in db.session.scalars(select(County))}
    items: list[dict] = []
    if kind in (None, VerificationKind.SIGNING):
        pool = verification._signed_rows()
        for project, row in db.session.execute(_signings(status, county_id).limit(limit)):
            sub = verification.Subject(VerificationKind.SIGNING.value, project)
            items.append(_item(sub, row, counties, duplicates=verification.suspected_duplicates(project, pool=pool)))
    if kind in (None, VerificationKind.FUNDS):
        for funds, row in db.session.execute(_funds(status, county_id).limit(limit)):
            sub = verification.Subject(VerificationKind.FUNDS.value, funds.project, funds)
            items.append(_item(sub, row, counties, duplicates=[]))
    return items


def _item(sub, row, counties: dict, *, duplicates) -> dict:
    project, funds = sub.project, sub.funds
    return {"kind": sub.kind, "id": sub.ident, "project_id": project.id, "project": project.name,
            "county_id": project.county_id, "county": counties.get(project.county_id, ""),
            "status": row.status if row is not None else VerificationStatus.PENDING.value,
            "reason": row.reason if row is not None else None,
            "on": funds.arrived_on if funds is not None else project.signed_on,
            "amount": funds.amount if funds is not None else project.investment_total,
            "out_of_province": funds.out_of_province if funds is not None else None,
            "evidence": len(verification.evidence(sub)), "entered_by_ids": sorted(verification.entered_by(sub)),
            "duplicates": [{"id": p.id, "name": p.name, "county_id": p.county_id, "signed_on": p.signed_on,
                            "reasons": reasons} for p, reasons in duplicates]}


def pending_counts(county_id=None) -> dict[str, int]:
    """How many signings and funds arrivals wait for 认定 (待认定, not returned)."""
    status = VerificationStatus.PENDING.value

    def count(stmt) -> int:
        return int(db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)

    return {"signing": count(_signings(status, county_id)), "funds": count(_funds(status, county_id))}
