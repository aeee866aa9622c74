"""Contact history (接洽记录): log a visit with its next step in one unit of work, list it, and a lead's timeline."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import (
    AuditEntry,
    Followup,
    Interaction,
    InteractionKind,
    Lead,
    LeaderLevel,
    LeadStatus,
    Role,
    Trip,
    User,
)
from crm.services import audit, leads
from crm.services.counties import city_county
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import can, require, rule
from crm.services.validation import Errors, clean_choice, clean_text

TZ = ZoneInfo("Asia/Shanghai")
KINDS = [k.value for k in InteractionKind]
LEVELS = [v.value for v in LeaderLevel]
MAX_VISITORS, MAX_PARTICIPANTS = 10_000, 50
# Contact moves a lead forward, never back: new/dormant become engaged, a signing makes it signed.
REVIVED = {LeadStatus.NEW.value, LeadStatus.DORMANT.value}
AUDITED = ("kind", "occurred_at", "location", "summary", "outcome", "leader_level", "leader_name", "visitor_count",
           "trip_id", "lead_id")


@rule("interaction.log")
def _log(actor: User, _lead) -> bool:
    """Staff log contacts with any lead (the shared base); the county that logged it is recorded."""
    return actor.role in leads.STAFF


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
        errors.add(field, _l("Between 0 and %(n)d.", n=MAX_VISITORS))
    return number


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


def log_interaction(actor: User, data: dict, *, now: datetime, lead_id: int | None = None,
                    new_lead: dict | None = None, followup: dict | None = None, force: bool = False) -> Interaction:
    """One contact with a lead (an existing one, or `new_lead` created here), its effect on the lead's status and
    last contact, and the next step as a follow-up: all in one commit, or nothing."""
    require(actor, "interaction.log")
    try:
        fields = clean_interaction(data, now=now)
        if new_lead is not None:
            lead = leads.add_lead(actor, new_lead, now=now, force=force)
        else:
            if lead_id in (None, "", 0):
                raise InvalidInput({"lead_id": [_l("Choose a lead, or tick “new lead”.")]})
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
    audit.record(actor, "followup.create", "followup", fu.id, summary=fu.title,
                 after={"title": fu.title, "due_at": fu.due_at, "assignee_id": fu.assignee_id, "lead_id": lead.id})


def snapshot(interaction: Interaction) -> dict:
    return {k: getattr(interaction, k) for k in AUDITED}


def get_interaction(interaction_id: int) -> Interaction:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound("interaction")
    return interaction


def interactions_query(*, lead_id: int | None = None, trip_id: int | None = None, kind: str | None = None):
    stmt = select(Interaction)
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
               for i in db.session.scalars(interactions_query(lead_id=lead_id))]
    entries += [{"type": "followup", "at": f.created_at, "item": f}
                for f in db.session.scalars(select(Followup).where(Followup.lead_id == lead_id))
                if actor is None or can(actor, "followup.view", f)]
    entries += [{"type": "change", "at": a.at, "item": a}
                for a in db.session.scalars(select(AuditEntry).where(
                    AuditEntry.object_type == "lead", AuditEntry.object_id == lead_id,
                    AuditEntry.action != "reveal"))]
    return sorted(entries, key=lambda e: (e["at"], e["type"] != "change"), reverse=True)
