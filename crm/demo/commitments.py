"""The demo city's commitments (履约): both sides' promises on every signed project, with actuals, some kept, some
late, some slipped, so the commitments pages, the 三未 list and the health colours have something true to show.
Also fills producing_on (投产) of the operating projects from their stage history."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from crm.demo.context import Demo
from crm.extensions import db
from crm.models import Commitment, CommitmentActual, CommitmentStatus, Stage

SIGNED = (Stage.SIGNED, Stage.STARTED, Stage.OPERATING)
WHOLE = Decimal(1)
SERVICES = ("代办环评、能评审批手续", "代办施工许可", "协调水电气接入", "代办企业设立登记")
INCENTIVES = ("固定资产投资补助", "厂房租金减免", "税收地方留成奖励")


def _due(signed: date, low: int, high: int, demo: Demo) -> date:
    return signed + timedelta(days=demo.rng.randint(low, high))


def _cut(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def build_commitments(demo: Demo) -> dict:
    rng, today = demo.rng, demo.today
    made = {"commitments": 0, "commitment_actuals": 0}

    def add(project, kind: str, side: str, due: date, target=None, title=None, actuals=(), status=None,
            reason=None) -> None:
        c = Commitment(project_id=project.id, kind=kind, side=side, due_on=due, target_quantity=target, title=title,
                       status=status or CommitmentStatus.OPEN.value, status_reason=reason,
                       created_by_id=project.manager_id, created_at=demo.at((project.signed_on - today).days, 16),
                       updated_at=demo.at((project.signed_on - today).days, 16))
        if status:
            c.status_at, c.status_by_id = demo.at(-1, 11), project.manager_id
        for on, quantity, note in actuals:
            if project.signed_on <= on < today:
                c.actuals.append(CommitmentActual(recorded_on=on, quantity=quantity, note=note,
                                                  created_by_id=project.manager_id, created_at=demo.at((on - today).days, 17)))
                made["commitment_actuals"] += 1
        db.session.add(c)
        made["commitments"] += 1

    for project in demo.projects:
        if project.stage not in SIGNED or project.signed_on is None:
            continue
        if project.stage == Stage.OPERATING:
            project.producing_on = max(c.changed_on for c in project.stage_changes if c.to_stage == Stage.OPERATING)
        signed, money = project.signed_on, project.investment_total
        add(project, "investment", "investor", _due(signed, 540, 1095, demo), target=money)
        add(project, "start", "investor", _due(signed, 90, 200, demo))
        production_due = (project.started_on or signed + timedelta(days=150)) + timedelta(days=rng.randint(300, 540))
        add(project, "production", "investor", production_due)
        if project.stage != Stage.SIGNED or rng.random() < 0.5:
            output = _cut(money * Decimal(str(round(rng.uniform(0.8, 1.6), 2))))
            tax, jobs = _cut(output * Decimal("0.04")), max((money / 80).quantize(WHOLE, rounding=ROUND_DOWN), 10)
            yearly_due = production_due + timedelta(days=365)
            for kind, target, share in (("output", output, (0.55, 1.25)), ("tax", tax, (0.5, 1.2)),
                                        ("jobs", Decimal(jobs), (0.6, 1.3))):
                entries = []
                if project.producing_on:
                    on = project.producing_on + timedelta(days=rng.randint(150, 400))
                    figure = target * Decimal(str(round(rng.uniform(*share), 2)))
                    figure = figure.quantize(WHOLE, rounding=ROUND_DOWN) if kind == "jobs" else _cut(figure)
                    entries.append((on, figure, f"{on.year}年度统计"))
                add(project, kind, "investor", yearly_due, target=target, actuals=entries)
        land_due = _due(signed, 45, 150, demo)
        roll = rng.random()
        delivered = land_due - timedelta(days=rng.randint(0, 30)) if roll < 0.7 else (
            land_due + timedelta(days=rng.randint(5, 60)) if roll < 0.88 else None)
        add(project, "land", "government", land_due,
            actuals=[(delivered, None, "净地交付，已签交地确认书")] if delivered else ())
        if rng.random() < 0.45:
            due = _due(signed, 60, 180, demo)
            done = due < today and rng.random() < 0.8
            add(project, "service", "government", due, title=rng.choice(SERVICES),
                actuals=[(due - timedelta(days=rng.randint(3, 40)), None, "手续已办结")] if done else (),
                status=CommitmentStatus.MET.value if done else None, reason="审批文件已送达企业" if done else None)
        if rng.random() < 0.35:
            target = _cut(money * Decimal("0.02"))
            due = _due(signed, 300, 540, demo)
            paid = _cut(target * Decimal(str(round(rng.uniform(0.3, 1.0), 2))))
            add(project, "incentive", "government", due, target=target, title=rng.choice(INCENTIVES),
                actuals=[(signed + timedelta(days=rng.randint(120, 400)), paid, "财政拨付")])
    return made
