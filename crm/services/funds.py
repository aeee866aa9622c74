"""Funds in place (到位资金) of a project: record, correct and withdraw (撤回) arrivals under the plausibility
rules, and the live rows every figure counts. The figures themselves live in crm.services.reports."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import FundsArrival, Project, Stage, User
from crm.services import audit, verification
from crm.services.errors import ConfirmationNeeded, InvalidInput, NotFound
from crm.services.permissions import can, require, rule
from crm.services.projects import get_project, parse_date, parse_money, today
from crm.services.validation import Errors, clean_text

# 1,000 亿元: no single arrival in a prefecture's books comes near it; beyond is a typo, not money.
MAX_FUNDS_ARRIVAL = Decimal("10000000")
MAX_FUNDS_ARRIVAL_TEXT = f"{MAX_FUNDS_ARRIVAL:,}"
# 万美元 → 万元, to check the foreign part of an arrival fits inside it; USD_CNY_RATE in the config overrides.
DEFAULT_USD_CNY_RATE = Decimal("7.1")
# From 签约 on a project may receive money; before that only a 续建 (continuing) project.
FUNDED_STAGES = {Stage.SIGNED.value, Stage.STARTED.value, Stage.OPERATING.value}
OVER_REMAINING = "funds_exceed_remaining_investment"
EDITABLE = ("amount", "arrived_on", "out_of_province", "foreign_amount", "note")


# --- permissions: the landing county or the city, as for the project itself ------------------------------

@rule("funds.edit")
def _edit(actor: User, funds) -> bool:
    return can(actor, "project.edit", funds.project if funds is not None else None)


@rule("funds.withdraw")
def _withdraw(actor: User, funds) -> bool:
    return _edit(actor, funds)


# --- queries ---------------------------------------------------------------------------------------------

def is_live():
    """The SQL condition of a row that counts: every query over funds_arrivals for a figure must add it."""
    return FundsArrival.withdrawn_at.is_(None)


def funds_in_place(project_id: int, *, excluding: int | None = None) -> Decimal:
    """The project's live funds so far (万元), leaving out the row `excluding` (the one being corrected)."""
    stmt = select(func.coalesce(func.sum(FundsArrival.amount), 0)).where(FundsArrival.project_id == project_id,
                                                                         is_live())
    if excluding is not None:
        stmt = stmt.where(FundsArrival.id != excluding)
    return Decimal(db.session.scalar(stmt)).quantize(Decimal("0.01"))


def project_funds(project: Project) -> tuple[list[FundsArrival], list[FundsArrival]]:
    """(live rows, withdrawn rows) of a project, by arrival date."""
    rows = sorted(project.funds, key=lambda f: (f.arrived_on, f.id))
    return [f for f in rows if f.withdrawn_at is None], [f for f in rows if f.withdrawn_at is not None]


def live_total(project: Project) -> Decimal:
    return sum((f.amount for f in project.funds if f.withdrawn_at is None), Decimal("0.00"))


def usd_cny_rate() -> Decimal:
    """USD_CNY_RATE (CRM_USD_CNY_RATE): yuan per US dollar, so 万美元 × rate = 万元; unusable → 7.1 (logged)."""
    raw = current_app.config.get("USD_CNY_RATE", DEFAULT_USD_CNY_RATE)
    try:
        rate = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        rate = Decimal(-1)
    if not rate.is_finite() or not Decimal("0.1") <= rate <= Decimal("100"):
        current_app.logger.warning("USD_CNY_RATE %r unusable; using %s", raw, DEFAULT_USD_CNY_RATE)
        return DEFAULT_USD_CNY_RATE
    return rate


def get_funds(actor: User, funds_id: int) -> FundsArrival:
    funds = db.session.get(FundsArrival, funds_id)
    if funds is None:
        raise NotFound("funds")
    get_project(actor, funds.project_id)  # a deleted project's rows are gone with it
    return funds


# --- the rules -------------------------------------------------------------------------------------------

def _clean(data: dict, errors: Errors, now: datetime) -> dict:
    out = {"amount": parse_money(data.get("amount"), field="amount", errors=errors, required=True, positive=True),
           "foreign_amount": parse_money(data.get("foreign_amount"), field="foreign_amount", errors=errors),
           "arrived_on": parse_date(data.get("arrived_on"), field="arrived_on", errors=errors, required=True),
           "out_of_province": bool(data.get("out_of_province")),
           "note": clean_text(data.get("note"), field="note", errors=errors, max_length=300)}
    amount, foreign, day = out["amount"], out["foreign_amount"], out["arrived_on"]
    out["foreign_amount"] = foreign or None
    if day and day > today(now):
        errors.add("arrived_on", _l("Must not be in the future."))
    if amount is not None and amount > MAX_FUNDS_ARRIVAL:
        errors.add("amount", _l("One arrival is at most %(max)s (10k yuan), i.e. 1,000 hundred-million yuan: "
                                "check the unit, amounts are in 10k yuan.", max=MAX_FUNDS_ARRIVAL_TEXT))
    elif amount is not None and foreign:
        rate = usd_cny_rate()
        if foreign * rate > amount:
            errors.add("foreign_amount", _l(
                "The foreign part, %(usd)s (10k USD) at %(rate)s yuan per dollar, is %(cny)s (10k yuan): more than "
                "the arrival of %(amount)s (10k yuan).", usd=_shown(foreign), rate=rate,
                cny=_shown(foreign * rate), amount=_shown(amount)))
    return out


def _shown(amount: Decimal) -> str:
    """An amount in a message as the pages write it: 1,647.00."""
    return f"{amount.quantize(Decimal('0.01')):,}"


def _check_project(project: Project, day: date | None, errors: Errors, *, new: bool) -> None:
    """Money arrives from 签约 on, unless the project is 续建; a correction may stay on a project moved back."""
    if project.is_continuing:
        return
    if new and project.stage not in FUNDED_STAGES:
        errors.add("stage", _l("Funds in place are recorded from signing on, and this project is not signed. If it "
                               "is a continuing project (续建), mark it so in the project first."))
    elif day and project.signed_on and day < project.signed_on:
        errors.add("arrived_on", _l("Before the project was signed (%(day)s). If it is a continuing project (续建), "
                                    "mark it so in the project first.", day=project.signed_on.isoformat()))


def _check_remaining(project: Project, amount: Decimal, *, excluding: int | None, confirm_over: bool) -> bool:
    """True when the amount is over the remaining investment and confirmed; over and unconfirmed raises."""
    so_far = funds_in_place(project.id, excluding=excluding)
    remaining = project.investment_total - so_far
    if amount <= remaining:
        return False
    if confirm_over:
        return True
    raise ConfirmationNeeded({"amount": [_l(
        "This arrival of %(amount)s (10k yuan) is more than the project's remaining investment of %(remaining)s "
        "(total investment %(total)s, %(so_far)s in place so far). Check the amount; if it is right, confirm it.",
        amount=_shown(amount), remaining=_shown(max(remaining, Decimal("0.00"))),
        total=_shown(project.investment_total), so_far=_shown(so_far))]},
        code=OVER_REMAINING, remaining=max(remaining, Decimal("0.00")), investment_total=project.investment_total,
        funds_in_place=so_far)


def _snapshot(funds: FundsArrival) -> dict:
    return {key: getattr(funds, key) for key in EDITABLE}


# --- commands --------------------------------------------------------------------------------------------

def add_funds(actor: User, project_id: int, amount, arrived_on, out_of_province: bool = False,
              foreign_amount=None, *, note: str | None = None, confirm_over: bool = False,
              now: datetime) -> FundsArrival:
    """A dated arrival of money (万元); foreign_amount (万美元) is the foreign capital within it. More than the
    project's remaining investment only with confirm_over."""
    project = get_project(actor, project_id)
    require(actor, "project.edit", project)
    errors = Errors()
    fields = _clean({"amount": amount, "arrived_on": arrived_on, "out_of_province": out_of_province,
                     "foreign_amount": foreign_amount, "note": note}, errors, now)
    _check_project(project, fields["arrived_on"], errors, new=True)
    if errors:
        raise InvalidInput(errors)
    over = _check_remaining(project, fields["amount"], excluding=None, confirm_over=confirm_over)
    funds = FundsArrival(project_id=project.id, created_by_id=actor.id, created_at=now, **fields)
    db.session.add(funds)
    db.session.flush()
    audit.record(actor, "add_funds", "project", project.id,
                 summary=f"{project.name}: {fields['amount']} ({fields['arrived_on'].isoformat()})",
                 after={"funds_id": funds.id, **_snapshot(funds), **({"confirmed_over": True} if over else {})})
    db.session.commit()
    return funds


def update_funds(actor: User, funds_id: int, data: dict, *, reason, confirm_over: bool = False,
                 now: datetime) -> FundsArrival:
    """Correct an arrival: the fields given in `data` (the others stay), under the rules of recording one, with
    a required reason; audited with before and after."""
    funds = get_funds(actor, funds_id)
    require(actor, "funds.edit", funds)
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=300, required=True)
    if funds.withdrawn_at is not None:
        errors.add("funds", _l("This arrival was withdrawn; it can no longer be changed."))
        raise InvalidInput(errors)
    fields = _clean({**_snapshot(funds), **{k: v for k, v in data.items() if k in EDITABLE}}, errors, now)
    project = funds.project
    _check_project(project, fields["arrived_on"], errors, new=False)
    if errors:
        raise InvalidInput(errors)
    over = fields["amount"] > funds.amount and _check_remaining(  # lowering an amount needs no confirmation
        project, fields["amount"], excluding=funds.id, confirm_over=confirm_over)
    before = _snapshot(funds)
    for key, value in fields.items():
        setattr(funds, key, value)
    old, new = audit.changes(before, _snapshot(funds))
    if not new:
        raise InvalidInput({"funds": [_l("Nothing was changed.")]})
    audit.record(actor, "update_funds", "project", project.id,
                 summary=f"{project.name}: {before['amount']} → {funds.amount} ({reason})"[:255],
                 before={"funds_id": funds.id, **old}, after={"funds_id": funds.id, **new, "reason": reason,
                                                   **({"confirmed_over": True} if over else {})})
    verification.funds_changed(actor, funds, new, now=now)
    db.session.commit()
    return funds


def withdraw_funds(actor: User, funds_id: int, *, reason, now: datetime) -> FundsArrival:
    """撤回: the row stays, with who withdrew it, when and why, and no figure counts it any more."""
    funds = get_funds(actor, funds_id)
    require(actor, "funds.withdraw", funds)
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=300, required=True)
    if funds.withdrawn_at is not None:
        errors.add("funds", _l("This arrival was withdrawn already."))
    if errors:
        raise InvalidInput(errors)
    funds.withdrawn_at, funds.withdrawn_by_id, funds.withdrawn_reason = now, actor.id, reason
    project = funds.project
    audit.record(actor, "withdraw_funds", "project", project.id,
                 summary=f"{project.name}: −{funds.amount} ({funds.arrived_on.isoformat()}; {reason})"[:255],
                 before={"funds_id": funds.id, **_snapshot(funds)},
                 after={"funds_id": funds.id, "withdrawn_at": now, "reason": reason})
    db.session.commit()
    return funds
