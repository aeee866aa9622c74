"""The claim-conflict queue (撞单) city staff arbitrate, and merging two leads while keeping both histories."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from crm.extensions import db
from crm.models import (
    ClaimConflict,
    ConflictStatus,
    Contact,
    Followup,
    Interaction,
    Lead,
    LeadTag,
    OutreachItem,
    Project,
    Role,
    User,
    event_leads,
    project_leads,
)
from crm.services import audit, versions
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.lead_lifecycle import live_lead
from crm.services.leads import leads_changed, snapshot
from crm.services.permissions import require
from crm.services.validation import Errors, clean_choice, clean_text

DECISIONS = ["keep_first", "reassign", "merge"]
# Fields the kept lead takes from the dropped one when it has none of its own.
FILLABLE = ("uscc", "industry_id", "origin_region", "home_county_id", "owner_id", "source_channel", "referrer_id",
            "notes")


def open_conflicts():
    """Open conflicts between two live leads: one whose lead was deleted waits, out of sight, for its restore."""
    return (select(ClaimConflict).where(ClaimConflict.status == ConflictStatus.OPEN.value,
                                        live_lead(ClaimConflict.lead_id), live_lead(ClaimConflict.claimant_lead_id))
            .order_by(ClaimConflict.created_at, ClaimConflict.id))


def open_count() -> int:
    return len(db.session.scalars(open_conflicts().with_only_columns(ClaimConflict.id)).all())


def conflicts_for_lead(lead_id: int) -> list[ClaimConflict]:
    return list(db.session.scalars(open_conflicts().where(
        (ClaimConflict.lead_id == lead_id) | (ClaimConflict.claimant_lead_id == lead_id))))


def get_conflict(conflict_id: int) -> ClaimConflict:
    conflict = db.session.get(ClaimConflict, conflict_id)
    if conflict is None or any(lead is not None and lead.deleted_at is not None and lead.merged_into_id is None
                               for lead in (conflict.lead, conflict.claimant_lead)):
        raise NotFound("conflict")
    return conflict


def decide_conflict(actor: User, conflict_id: int, decision: str, *, now: datetime, note: str | None = None
                    ) -> ClaimConflict:
    """keep_first: the first registration keeps the investor (首报首谈); reassign: the first lead goes to the
    claimant's county; merge: the claimant's lead is merged into the first one."""
    require(actor, "conflict.decide")
    conflict = get_conflict(conflict_id)
    errors = Errors()
    decision = clean_choice(decision, DECISIONS, field="decision", errors=errors)
    note = clean_text(note, field="note", errors=errors, max_length=2000, multiline=True)
    if decision == "merge" and conflict.claimant_lead_id is None:
        errors.add("decision", _l("There is no second lead to merge."))
    if errors:
        raise InvalidInput(errors)
    if conflict.status != ConflictStatus.OPEN.value:
        raise Conflict(_("This conflict has already been decided."))
    lead = conflict.lead
    if decision == "reassign":
        versions.bump(lead, "lead")
        before = snapshot(lead)
        lead.owner_county_id = conflict.claimant_county_id
        claimant = db.session.get(User, conflict.claimant_user_id) if conflict.claimant_user_id else None
        lead.owner_id = claimant.id if claimant and claimant.county_id == conflict.claimant_county_id else None
        lead.updated_at = now
        old, new = audit.changes(before, snapshot(lead))
        audit.record(actor, "update", "lead", lead.id, summary=lead.name, before=old, after=new)
        status = ConflictStatus.REASSIGNED
    elif decision == "merge":
        _merge(actor, lead, conflict.claimant_lead, now=now)
        status = ConflictStatus.MERGED
    else:
        status = ConflictStatus.KEPT_FIRST
    conflict.status, conflict.decision_note = status.value, note
    conflict.decided_by_id, conflict.decided_at = actor.id, now
    audit.record(actor, "conflict.decide", "conflict", conflict.id, summary=lead.name,
                 after={"decision": decision, "note": note})
    db.session.commit()
    leads_changed([conflict.lead_id, conflict.claimant_lead_id])
    return conflict


def merge_leads(actor: User, keep_id: int, drop_id: int, *, now: datetime) -> Lead:
    require(actor, "lead.merge")
    keep, drop = db.session.get(Lead, keep_id), db.session.get(Lead, drop_id)
    if keep is None or drop is None or keep.deleted_at is not None or drop.deleted_at is not None:
        raise NotFound("lead")
    between = list(db.session.scalars(open_conflicts().where(  # before the merge deletes drop: see open_conflicts
            ((ClaimConflict.lead_id == keep.id) & (ClaimConflict.claimant_lead_id == drop.id))
            | ((ClaimConflict.lead_id == drop.id) & (ClaimConflict.claimant_lead_id == keep.id)))))
    _merge(actor, keep, drop, now=now)
    for conflict in between:
        conflict.status, conflict.decided_by_id, conflict.decided_at = ConflictStatus.MERGED.value, actor.id, now
    db.session.commit()
    leads_changed([keep.id, drop.id])
    return keep


def _merge(actor: User, keep: Lead, drop: Lead | None, *, now: datetime) -> None:
    """Move everything of `drop` onto `keep` (contacts, interactions, follow-ups, tags, project/event links,
    outreach items, referrals) and soft-delete `drop` as merged into `keep`."""
    if drop is None or drop.id == keep.id:
        raise InvalidInput({"drop_id": [_l("Choose two different leads.")]})
    if drop.deleted_at is not None or keep.deleted_at is not None:
        raise Conflict(_("A deleted lead cannot be merged."))
    versions.bump(keep, "lead")
    versions.bump(drop, "lead")
    before = snapshot(keep)
    moved = {"contacts": len(drop.contacts)}
    db.session.execute(update(Contact).where(Contact.lead_id == drop.id).values(lead_id=keep.id))
    for model in (Interaction, Followup):
        moved[model.__tablename__] = db.session.execute(
            update(model).where(model.lead_id == drop.id).values(lead_id=keep.id)).rowcount
    db.session.execute(update(Lead).where(Lead.referrer_id == drop.id, Lead.id != keep.id)
                       .values(referrer_id=keep.id))
    db.session.execute(update(Project).where(Project.referrer_id == drop.id).values(referrer_id=keep.id))
    for table, owner in ((project_leads, project_leads.c.project_id), (event_leads, event_leads.c.event_id)):
        mine = select(owner).where(table.c.lead_id == keep.id)
        db.session.execute(update(table).where(table.c.lead_id == drop.id, owner.not_in(mine))
                           .values(lead_id=keep.id))
        db.session.execute(table.delete().where(table.c.lead_id == drop.id))
    taken = select(OutreachItem.campaign_id).where(OutreachItem.lead_id == keep.id)
    db.session.execute(update(OutreachItem).where(OutreachItem.lead_id == drop.id,
                                                  OutreachItem.campaign_id.not_in(taken)).values(lead_id=keep.id))
    tags = set(keep.tags)
    for tag in drop.tags:
        if tag not in tags:
            db.session.add(LeadTag(lead_id=keep.id, tag=tag))
    for key in FILLABLE:
        if getattr(keep, key) in (None, "") and getattr(drop, key) not in (None, ""):
            setattr(keep, key, getattr(drop, key))
    if keep.owner_id is not None:
        owner = db.session.get(User, keep.owner_id)
        if owner is not None and owner.role == Role.COUNTY_STAFF and owner.county_id != keep.owner_county_id:
            keep.owner_id = before["owner_id"]
    if drop.last_contacted_at and (keep.last_contacted_at is None or drop.last_contacted_at > keep.last_contacted_at):
        keep.last_contacted_at = drop.last_contacted_at
    keep.is_key = keep.is_key or drop.is_key
    keep.updated_at = now
    if drop.uscc and keep.uscc == drop.uscc:
        drop.uscc = None  # the code now belongs to the kept lead alone
    drop.merged_into_id, drop.deleted_at, drop.deleted_by_id, drop.updated_at = keep.id, now, actor.id, now
    db.session.flush()
    db.session.expire(keep)
    db.session.expire(drop)
    old, new = audit.changes(before, snapshot(keep))
    audit.record(actor, "merge", "lead", keep.id, summary=_("Merged %(name)s (#%(id)d) into this lead",
                                                            name=drop.name, id=drop.id),
                 before=old, after=dict(new, merged_lead_id=drop.id, moved=moved))
    audit.record(actor, "merged", "lead", drop.id, summary=_("Merged into %(name)s (#%(id)d)",
                                                             name=keep.name, id=keep.id),
                 after={"merged_into_id": keep.id})
