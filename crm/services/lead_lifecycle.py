"""What deleting a lead does to what hangs on it, and how a delete is undone: open follow-ups are cancelled with a
note and reopened on restore; the restore window (LEAD_RESTORE_DAYS); the recently-deleted list. Outreach items,
claim conflicts and projects of a deleted lead are not changed: the lists and counts that show them leave deleted
leads out, so a restore brings them back as they were. Commits belong to crm.services.leads, not here."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.models import Followup, FollowupStatus, Lead, OutreachItem, Project, User
from crm.models.project import project_leads
from crm.services import audit
from crm.services.errors import Conflict
from crm.services.permissions import is_admin, is_city_level

DEFAULT_RESTORE_DAYS = 30


def restore_days() -> int:
    try:
        return max(int(current_app.config.get("LEAD_RESTORE_DAYS") or DEFAULT_RESTORE_DAYS), 0)
    except (TypeError, ValueError):
        return DEFAULT_RESTORE_DAYS


def restorable_until(lead: Lead) -> datetime | None:
    """The last moment the lead's county may restore it (administrators may later too)."""
    return lead.deleted_at + timedelta(days=restore_days()) if lead.deleted_at else None


def live_lead(lead_id_column):
    """A clause: the row's lead (lead_id_column) is not deleted. For rows whose lead is required."""
    gone = aliased(Lead)  # its own alias: a statement that already joins leads must not correlate to that join
    return ~exists().where(gone.id == lead_id_column, gone.deleted_at.is_not(None))


def check_restorable(actor: User, lead: Lead, *, now: datetime) -> None:
    """Refuse a restore past the window (except for administrators) or one that would make a USCC twice."""
    if lead.merged_into_id is not None:
        raise Conflict(_("A merged lead cannot be restored; its history is on the lead it was merged into."))
    until = restorable_until(lead)
    if not is_admin(actor) and until is not None and now > until:
        raise Conflict(_("This lead was deleted more than %(n)d days ago; only an administrator can restore it now.",
                         n=restore_days()))
    if lead.uscc:
        twin = db.session.scalar(select(Lead).where(Lead.uscc == lead.uscc, Lead.deleted_at.is_(None),
                                                    Lead.id != lead.id))
        if twin is not None:
            raise Conflict(_("%(name)s (#%(id)d) now has the same credit code; restoring would make it twice.",
                             name=twin.name, id=twin.id))


def close_dependants(actor: User, lead: Lead, *, now: datetime) -> dict:
    """Cancel the lead's open follow-ups (with a note, each audited); name what is kept. No commit."""
    note = _("Cancelled automatically: the lead %(name)s was deleted. Restoring the lead reopens it.", name=lead.name)
    cancelled = []
    for fu in db.session.scalars(select(Followup).where(Followup.lead_id == lead.id,
                                                        Followup.status == FollowupStatus.OPEN.value)
                                 .order_by(Followup.id)):
        fu.status, fu.outcome, fu.completed_at, fu.completed_by_id = FollowupStatus.CANCELLED.value, note, now, actor.id
        fu.is_closed_with_lead, fu.updated_at = True, now
        audit.record(actor, "followup.cancel", "followup", fu.id, summary=fu.title,
                     after={"reason": note, "lead_deleted": lead.id})
        cancelled.append(fu.id)
    projects = list(db.session.scalars(select(Project.id).join(project_leads, project_leads.c.project_id == Project.id)
                                       .where(project_leads.c.lead_id == lead.id, Project.deleted_at.is_(None))
                                       .order_by(Project.id)))
    outreach = list(db.session.scalars(select(OutreachItem.id).where(OutreachItem.lead_id == lead.id)
                                       .order_by(OutreachItem.id)))
    return {"followups_cancelled": cancelled, "projects_kept": projects, "outreach_hidden": outreach}


def reopen_dependants(actor: User, lead: Lead, *, now: datetime) -> list[int]:
    """Reopen the follow-ups the delete cancelled; one whose assignee has left goes to the county inbox. No commit."""
    reopened = []
    for fu in db.session.scalars(select(Followup).where(Followup.lead_id == lead.id,
                                                        Followup.is_closed_with_lead.is_(True))
                                 .order_by(Followup.id)):
        fu.is_closed_with_lead, fu.updated_at = False, now
        if fu.status != FollowupStatus.CANCELLED.value:
            continue
        fu.status, fu.outcome, fu.completed_at, fu.completed_by_id = FollowupStatus.OPEN.value, None, None, None
        assignee = db.session.get(User, fu.assignee_id) if fu.assignee_id else None
        if assignee is not None and not assignee.is_active_user:
            fu.assignee_id = None
        audit.record(actor, "followup.reopen", "followup", fu.id, summary=fu.title,
                     after={"lead_restored": lead.id, "assignee_id": fu.assignee_id})
        reopened.append(fu.id)
    return reopened


def recently_deleted_query(actor: User, *, now: datetime):
    """Deleted leads the actor may restore, newest first: a county's own within the window, the city's every
    county's within the window, an administrator's all (merged ones too, shown but not restorable)."""
    stmt = select(Lead).where(Lead.deleted_at.is_not(None))
    if not is_admin(actor):
        stmt = stmt.where(Lead.merged_into_id.is_(None), Lead.deleted_at >= now - timedelta(days=restore_days()))
        if not is_city_level(actor):
            stmt = stmt.where(Lead.owner_county_id == actor.county_id)
    return stmt.order_by(Lead.deleted_at.desc(), Lead.id.desc())
