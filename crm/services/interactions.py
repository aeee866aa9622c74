"""Contact history (接洽记录): log a visit with its next step in one unit of work, correct or withdraw (撤回) it,
list it, and a lead's timeline."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import (
    AuditEntry,
    Followup,
    FollowupStatus,
    Interaction,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadStatus,
    Role,
    Trip,
    User,
)
from crm.services import audit, leads, versions
from crm.services.counties import city_county
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
KINDS = [k.value for k in InteractionKind]
LEVELS = [v.value for v in LeaderLevel]
# 人次 of one contact: a delegation received or met, not a conference hall (a typo of 10000 skewed the report).
MAX_VISITORS, MAX_PARTICIPANTS = 500, 50
# Contact moves a lead forward, never back: new/dormant become engaged, a signing makes it signed.
REVIVED = {LeadStatus.NEW.value, LeadStatus.DORMANT.value}
AUDITED = ("kind", "occurred_at", "location", "summary", "outcome", "leader_level", "leader_name", "visitor_count",
           "trip_id", "lead_id")


@rule("interaction.log")
def _log(actor: User, _lead) -> bool:
    """Staff log contacts with any lead (the shared base); the county that logged it is recorded."""
    return actor.role in leads.STAFF


@rule("interaction.edit")
def _edit(actor: User, interaction) -> bool:
    """The county that logged it corrects it (the city and admins any); once withdrawn, the commands refuse."""
    if actor.role not in leads.STAFF:
        return False
    if interaction is None:
        return True
    return is_city_level(actor) or same_county(actor, interaction.county_id)


@rule("interaction.withdraw")
def _withdraw(actor: User, interaction) -> bool:
    return _edit(actor, interaction)


def parse_when(value, errors: Errors, field: str, *, now: datetime) -> datetime | None:
    """An aware datetime or ISO text (no offset = Asia/Shanghai); empty means now; at most a day ahead."""
    if value in (None, ""):
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors.add(field, _l("Not a valid date and time."))
            return None
    if not isinstance(value, datetime):
        errors.add(field, _l("Not a valid date and time."))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=TZ)
    value = value.astimezone(UTC)
    if value.year < 2000 or value > now + timedelta(days=1):
        errors.add(field, _l("A contact is logged once it happened (not in the future)."))
        return None
    return value


def clean_user_ids(raw, errors: Errors, field: str) -> list[User]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple)):
        raw = [raw]
    try:
        ids = list(dict.fromkeys(int(v) for v in raw if v not in (None, "")))
    except (TypeError, ValueError):
        errors.add(field, _l("Not a valid choice."))
        return []
    if len(ids) > MAX_PARTICIPANTS:
        errors.add(field, _l("At most %(n)d people.", n=MAX_PARTICIPANTS))
        return []
    users = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    if len(users) != len(ids) or any(not u.is_active_user or u.role == Role.VIEWER for u in users):
        errors.add(field, _l("Choose active staff members."))
        return []
    return users


def _count(value, errors: Errors, field: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(field, _l("Enter a whole number."))
        return 0
    if not 0 <= number <= MAX_VISITORS:
        errors.add(field, _l("Visitors (人次) counts the people received or met in this one contact: between 0 and "
                             "%(n)d.", n=MAX_VISITORS))
    return number


def check_leader(level: str | None, name: str | None, errors: Errors, field: str = "leader_name") -> None:
    """无领导带队 with a leader's name is a contradiction the leader-led counts would get wrong either way."""
    if level == LeaderLevel.NONE.value and name:
        errors.add(field, _l("“No leader” is chosen: leave the leader's name empty, or choose the level of who led."))


def clean_interaction(data: dict, *, now: datetime) -> dict:
    errors = Errors()
    out = {
        "kind": clean_choice(data.get("kind"), KINDS, field="kind", errors=errors),
        "occurred_at": parse_when(data.get("occurred_at"), errors, "occurred_at", now=now),
        "location": clean_text(data.get("location"), field="location", errors=errors, max_length=200),
        "summary": clean_text(data.get("summary"), field="summary", errors=errors, max_length=5000, required=True,
                              multiline=True),
        "outcome": clean_text(data.get("outcome"), field="outcome", errors=errors, max_length=5000, multiline=True),
        "leader_level": clean_choice(data.get("leader_level") or LeaderLevel.NONE.value, LEVELS,
                                     field="leader_level", errors=errors),
        "leader_name": clean_text(data.get("leader_name"), field="leader_name", errors=errors, max_length=60),
        "visitor_count": _count(data.get("visitor_count"), errors, "visitor_count"),
    }
    check_leader(out["leader_level"], out["leader_name"], errors)
    out["participants"] = clean_user_ids(data.get("participant_ids"), errors, "participant_ids")
    trip_id = data.get("trip_id")
    out["trip_id"] = None
    if trip_id not in (None, "", 0, "0"):
        try:
            out["trip_id"] = int(trip_id)
        except (TypeError, ValueError):
            errors.add("trip_id", _l("Not a valid choice."))
        else:
            if db.session.get(Trip, out["trip_id"]) is None:
                errors.add("trip_id", _l("Unknown trip."))
    if errors:
        raise InvalidInput(errors)
    return out


def _wants_followup(followup: dict | None) -> bool:
    return bool(followup) and any(followup.get(k) not in (None, "") for k in ("title", "due_at", "detail"))


def _advance(actor: User, lead: Lead, kind: str, occurred_at: datetime) -> dict:
    """A contact's effect on the lead. The last contact is a fact whoever made it; the status is the owner's
    judgement, so only someone who may edit the lead moves it (another county's signing visit is logged, not
    taken as the lead's signing)."""
    before = {"status": lead.status, "last_contacted_at": lead.last_contacted_at}
    if lead.last_contacted_at is None or occurred_at > lead.last_contacted_at:
        lead.last_contacted_at = occurred_at
    if not can(actor, "lead.edit", lead):
        return before
    if kind == InteractionKind.SIGNING:
        lead.status = LeadStatus.SIGNED.value
    elif lead.status in REVIVED:
        lead.status = LeadStatus.ENGAGED.value
    return before


def visit_errors(actor: User, data: dict, *, now: datetime, lead_id: int | None = None,
                 new_lead: dict | None = None, followup: dict | None = None) -> Errors:
    """Every problem of a visit at once — the contact, its lead (chosen or new) and the next step — without
    writing anything, so a form shows them all on one submit. Follow-up fields come back as `followup_*`,
    a new lead's as its own names (the caller maps them onto its form)."""
    errors = Errors()

    def collect(check, prefix: str = "") -> None:
        try:
            check()
        except InvalidInput as error:
            for key, messages in error.errors.items():
                errors.setdefault(prefix + key, []).extend(messages)

    collect(lambda: clean_interaction(data, now=now))
    if new_lead is not None:
        collect(lambda: leads.clean_lead(actor, new_lead, current=None))
    elif lead_id in (None, "", 0):  # an unknown lead is NotFound when logging, as before
        errors.add("lead_id", _l("Choose a lead, or tick “new lead”."))
    if _wants_followup(followup):
        from crm.services import followups

        step = {"title": followup.get("title"), "due_at": followup.get("due_at"), "detail": followup.get("detail"),
                "assignee_id": followup.get("assignee_id") or actor.id}
        found = followups.followup_errors(actor, step)
        for key, messages in found.items():
            errors.setdefault(f"followup_{key}", []).extend(messages)
        due = followups.parse_due(step["due_at"], Errors()) if "due_at" not in found else None
        if due is not None and due < now:
            errors.add("followup_due_at", _l("A next step is due from now on, not in the past."))
    return errors


def log_interaction(actor: User, data: dict, *, now: datetime, lead_id: int | None = None,
                    new_lead: dict | None = None, followup: dict | None = None, force: bool = False) -> Interaction:
    """One contact with a lead (an existing one, or `new_lead` created here), its effect on the lead's status and
    last contact, and the next step as a follow-up: all in one commit, or nothing. Input errors are reported
    all together (visit_errors) before anything is written."""
    require(actor, "interaction.log")
    errors = visit_errors(actor, data, now=now, lead_id=lead_id, new_lead=new_lead, followup=followup)
    if errors:
        raise InvalidInput(errors)
    try:
        fields = clean_interaction(data, now=now)
        if new_lead is not None:
            lead = leads.add_lead(actor, new_lead, now=now, force=force)
        else:
            lead = leads.get_lead(actor, int(lead_id))
        require(actor, "interaction.log", lead)
        participants = fields.pop("participants") or [actor]
        county = actor.county_id or (city_county().id if city_county() else None)
        interaction = Interaction(lead_id=lead.id, county_id=county, created_by_id=actor.id,
                                  participants=participants, created_at=now, updated_at=now, **fields)
        db.session.add(interaction)
        before = _advance(actor, lead, interaction.kind, interaction.occurred_at)
        db.session.flush()
        audit.record(actor, "create", "interaction", interaction.id, summary=lead.name,
                     after=dict(snapshot(interaction), participant_ids=[u.id for u in participants]))
        if before["status"] != lead.status:
            if new_lead is None:
                versions.bump(lead, "lead")  # the status on an open edit form is stale now
            audit.record(actor, "update", "lead", lead.id, summary=lead.name, before={"status": before["status"]},
                         after={"status": lead.status})
        if _wants_followup(followup):
            _add_next_step(actor, lead, interaction, followup, now=now)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    leads.leads_changed([lead.id])
    return interaction


def _add_next_step(actor: User, lead: Lead, interaction: Interaction, followup: dict, *, now: datetime) -> None:
    from crm.services import followups

    data = {"lead_id": lead.id, "title": followup.get("title"), "due_at": followup.get("due_at"),
            "assignee_id": followup.get("assignee_id") or actor.id, "detail": followup.get("detail")}
    try:
        fu = followups.add_followup(actor, data, now=now, source_interaction_id=interaction.id)
    except InvalidInput as exc:
        raise InvalidInput({f"followup_{k}": v for k, v in exc.errors.items()}) from None
    if fu.due_at < now:
        raise InvalidInput({"followup_due_at": [_l("A next step is due from now on, not in the past.")]})
    audit.record(actor, "followup.create", "followup", fu.id, summary=fu.title,
                 after={"title": fu.title, "due_at": fu.due_at, "assignee_id": fu.assignee_id, "lead_id": lead.id})


def snapshot(interaction: Interaction) -> dict:
    return {k: getattr(interaction, k) for k in AUDITED}


# --- corrections: edit and withdraw (撤回) ---------------------------------------------------------------

def _correctable(actor: User, interaction_id: int, action: str) -> Interaction:
    interaction = get_interaction(interaction_id)
    require(actor, action, interaction)
    if interaction.withdrawn_at is not None:
        raise Conflict(str(_l("This contact was withdrawn: it can no longer be changed.")))
    return interaction


def _current(interaction: Interaction) -> dict:
    return dict(snapshot(interaction), participant_ids=sorted(u.id for u in interaction.participants))


def _latest_contact(lead_id: int, *, leaving_out: int | None = None) -> datetime | None:
    stmt = select(Interaction.occurred_at).where(Interaction.lead_id == lead_id, Interaction.withdrawn_at.is_(None))
    if leaving_out is not None:
        stmt = stmt.where(Interaction.id != leaving_out)
    return db.session.scalar(stmt.order_by(Interaction.occurred_at.desc()).limit(1))


def _follow_last_contact(lead: Lead | None, interaction: Interaction, old_at: datetime) -> None:
    """The lead's last contact follows a corrected or withdrawn contact when that one was the latest."""
    if lead is None or lead.last_contacted_at is None or lead.last_contacted_at > old_at:
        return
    latest = _latest_contact(lead.id, leaving_out=interaction.id)
    if interaction.withdrawn_at is None and (latest is None or interaction.occurred_at > latest):
        latest = interaction.occurred_at
    lead.last_contacted_at = latest


def update_interaction(actor: User, interaction_id: int, data: dict, *, now: datetime) -> Interaction:
    """Correct a contact: the fields given replace the recorded ones (the lead stays); audited, one commit."""
    interaction = _correctable(actor, interaction_id, "interaction.edit")
    before = _current(interaction)
    # An emptied time keeps the recorded one (when logging, empty means now: not what a correction means).
    changes = {k: v for k, v in data.items() if k in before and not (k == "occurred_at" and v in (None, ""))}
    fields = clean_interaction({**before, **changes}, now=now)
    participants = fields.pop("participants") or interaction.participants
    for key, value in fields.items():
        setattr(interaction, key, value)
    interaction.participants = participants
    after = _current(interaction)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        interaction.updated_at = now
        lead = db.session.get(Lead, interaction.lead_id) if interaction.lead_id else None
        if lead is not None:
            _follow_last_contact(lead, interaction, before["occurred_at"])
            status = lead.status
            _advance(actor, lead, interaction.kind, interaction.occurred_at)
            if status != lead.status:  # a correction to a signing visit moves the status: audited like a log
                audit.record(actor, "update", "lead", lead.id, summary=lead.name, before={"status": status},
                             after={"status": lead.status})
                versions.bump(lead, "lead")
        audit.record(actor, "update", "interaction", interaction.id, summary=lead.name if lead else "",
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    db.session.commit()
    leads.leads_changed([interaction.lead_id])
    return interaction


def withdraw_interaction(actor: User, interaction_id: int, reason, *, now: datetime) -> Interaction:
    """Withdraw (撤回) a contact logged by mistake: it stays in the history, marked, and leaves every count; its
    next steps still open are cancelled with it. Audited, one commit."""
    interaction = _correctable(actor, interaction_id, "interaction.withdraw")
    errors = Errors()
    reason = clean_text(reason, field="reason", errors=errors, max_length=500, required=True, multiline=True)
    if errors:
        raise InvalidInput(errors)
    interaction.withdrawn_at, interaction.withdrawn_by_id, interaction.withdraw_reason = now, actor.id, reason
    lead = db.session.get(Lead, interaction.lead_id) if interaction.lead_id else None
    _follow_last_contact(lead, interaction, interaction.occurred_at)
    audit.record(actor, "withdraw", "interaction", interaction.id, summary=lead.name if lead else "",
                 before=_current(interaction), after={"withdrawn_at": now, "reason": reason})
    for fu in db.session.scalars(select(Followup).where(Followup.source_interaction_id == interaction.id,
                                                        Followup.status == FollowupStatus.OPEN.value)):
        fu.status, fu.outcome, fu.completed_at, fu.completed_by_id = (FollowupStatus.CANCELLED.value, reason, now,
                                                                      actor.id)
        audit.record(actor, "followup.cancel", "followup", fu.id, summary=fu.title, after={"reason": reason})
    db.session.commit()
    leads.leads_changed([interaction.lead_id])
    return interaction


def get_interaction(interaction_id: int) -> Interaction:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound("interaction")
    return interaction


def interactions_query(*, lead_id: int | None = None, trip_id: int | None = None, kind: str | None = None,
                       include_withdrawn: bool = False):
    stmt = select(Interaction)
    if not include_withdrawn:
        stmt = stmt.where(Interaction.withdrawn_at.is_(None))
    if lead_id:
        stmt = stmt.where(Interaction.lead_id == lead_id)
    if trip_id:
        stmt = stmt.where(Interaction.trip_id == trip_id)
    if kind:
        stmt = stmt.where(Interaction.kind == kind)
    return stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())


def timeline(lead_id: int, *, actor: User | None = None) -> list[dict]:
    """Interactions, follow-ups and recorded changes of a lead in one list, newest first:
    [{"type": "interaction"|"followup"|"change", "at": datetime, "item": object}].
    Given an actor, follow-ups they may not open (followup.view) are left out."""
    entries = [{"type": "interaction", "at": i.occurred_at, "item": i}
               for i in db.session.scalars(interactions_query(lead_id=lead_id, include_withdrawn=True))]
    entries += [{"type": "followup", "at": f.created_at, "item": f}
                for f in db.session.scalars(select(Followup).where(Followup.lead_id == lead_id))
                if actor is None or can(actor, "followup.view", f)]
    entries += [{"type": "change", "at": a.at, "item": a}
                for a in db.session.scalars(select(AuditEntry).where(
                    AuditEntry.object_type == "lead", AuditEntry.object_id == lead_id,
                    AuditEntry.action != "reveal"))]
    return sorted(entries, key=lambda e: (e["at"], e["type"] != "change"), reverse=True)
