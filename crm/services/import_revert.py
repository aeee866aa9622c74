"""Reverting an import batch: only what is still the batch's is undone. A lead it created is deleted, and a lead
it updated gets its old values back, unless someone has since made it theirs — handed it to another county,
edited, merged or deleted it, or (for a created lead) added visits, follow-ups, projects or other records to it.
Those are kept, each with its reason. Here: deciding what is kept and why, and the stored result; the revert itself
(deleting, rolling back) is crm.services.imports.revert_import."""
from __future__ import annotations

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, ImportBatch, Lead

LISTED = 500  # reverted leads named in the stored result (the counts cover the rest)
# Audit actions that change a lead: one after the import means someone has made the lead theirs.
EDITS = ("update", "merge", "merged", "delete", "restore")
REASONS = {
    "transferred": _l("Handed to another county since the import."),
    "edited": _l("Edited since the import."),
    "merged": _l("Merged with another lead since the import."),
    "deleted": _l("Deleted since the import; it stays in Recently deleted."),
    "interactions": _l("Visits or contacts were logged on it since the import."),
    "followups": _l("Follow-ups were added to it since the import."),
    "projects": _l("A project is linked to it."),
    "outreach": _l("It is on a holiday outreach list."),
    "events": _l("It is linked to an event."),
    "conflicts": _l("It is in a claim conflict with another county's lead."),
    "referenced": _l("Another lead refers to it."),
    "other": _l("Other records refer to it."),
}
# The table (and column) that refers to a created lead → the reason it is kept.
TABLE_REASONS = {"interactions": "interactions", "followups": "followups", "projects": "projects",
                 "project_leads": "projects", "outreach_items": "outreach", "event_leads": "events",
                 "claim_conflicts": "conflicts", "leads": "referenced"}


def reason_text(code: str) -> str:
    return str(REASONS.get(code, REASONS["other"]))


def summary(deleted: list[int], restored: list[int], kept_created: dict[int, str],
            kept_updated: dict[int, str]) -> dict:
    """The revert's result as stored on the batch and in the audit log: counts, the reverted leads (the first
    LISTED of each kind) and every kept lead with its reason code."""
    names = _names(deleted[:LISTED] + restored[:LISTED] + sorted(kept_created) + sorted(kept_updated))
    return {
        "deleted": len(deleted), "restored": len(restored), "kept": len(kept_created) + len(kept_updated),
        "reverted_leads": ([{"lead_id": i, "name": names.get(i, ""), "action": "deleted"} for i in deleted[:LISTED]]
                           + [{"lead_id": i, "name": names.get(i, ""), "action": "restored"}
                              for i in restored[:LISTED]]),
        "kept_leads": ([_kept(i, names, "created", code) for i, code in sorted(kept_created.items())]
                       + [_kept(i, names, "updated", code) for i, code in sorted(kept_updated.items())]),
    }


def result(batch: ImportBatch) -> dict | None:
    """The stored result with each kept lead's reason in words."""
    stored = batch.revert_summary
    if not stored:
        return None
    return {**stored, "kept_leads": [{**item, "message": reason_text(item["reason"])}
                                     for item in stored.get("kept_leads", [])]}


def _kept(lead_id: int, names: dict, was: str, code: str) -> dict:
    return {"lead_id": lead_id, "name": names.get(lead_id, ""), "was": was, "reason": code}


def _names(ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        out.update(db.session.execute(select(Lead.id, Lead.name).where(Lead.id.in_(ids[start:start + 900]))).all())
    return out


def edits_since(lead_ids, batch: ImportBatch) -> dict[int, str]:
    """lead id → why it is no longer the batch's, from the audit log: entries changing it after the batch's own
    (transferred when one moved it to another county; merged, deleted, else edited)."""
    rows = db.session.execute(select(AuditEntry.id, AuditEntry.object_id, AuditEntry.action, AuditEntry.after)
                              .where(AuditEntry.object_type == "lead", AuditEntry.object_id.in_(lead_ids),
                                     AuditEntry.action.in_(EDITS)).order_by(AuditEntry.id)).all()
    own: dict[int, int] = {}
    for entry_id, lead_id, _action, after in rows:
        if (after or {}).get("import_batch_id") == batch.id:
            own[lead_id] = entry_id
    found: dict[int, set[str]] = defaultdict(set)
    for entry_id, lead_id, action, after in rows:
        if entry_id <= own.get(lead_id, 0) or (after or {}).get("import_batch_id") == batch.id:
            continue
        if "owner_county_id" in (after or {}):
            found[lead_id].add("transferred")
        found[lead_id].add({"merge": "merged", "merged": "merged", "delete": "deleted"}.get(action, "edited"))
    order = ("transferred", "merged", "deleted", "edited")
    return {lead_id: next(code for code in order if code in codes) for lead_id, codes in found.items()}


def kept_created(batch: ImportBatch, created: list[int]) -> dict[int, str]:
    """The batch's new leads that are no longer only the batch's, each with the first reason that holds."""
    of_batch = select(Lead.id).where(Lead.import_batch_id == batch.id).scalar_subquery()
    kept = edits_since(of_batch, batch)
    if "owner_county" not in (batch.mapping or {}) and batch.owner_county_id is not None:
        for lead_id in db.session.scalars(select(Lead.id).where(Lead.import_batch_id == batch.id,
                                                                Lead.owner_county_id != batch.owner_county_id)):
            kept[lead_id] = "transferred"  # moved without passing through the services (no audit entry)
    for lead_id, code in _references([i for i in created if i not in kept]).items():
        kept.setdefault(lead_id, code)
    for lead_id in db.session.scalars(select(Lead.id).where(Lead.import_batch_id == batch.id,
                                                            Lead.updated_at > Lead.created_at)):
        kept.setdefault(lead_id, "edited")  # changed outside the audited services
    # A kept lead may point at another of the batch's leads (referrer, merged into): that one stays too.
    while True:
        pointed = set()
        for ids in _chunks(sorted(kept)):
            for referrer_id, merged_id in db.session.execute(select(Lead.referrer_id, Lead.merged_into_id)
                                                             .where(Lead.id.in_(ids))):
                pointed |= {referrer_id, merged_id}
        more = {i for i in pointed if i is not None and i not in kept} & set(created)
        if not more:
            return kept
        kept.update({i: "referenced" for i in more})


def _chunks(ids: list[int], size: int = 900):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _references(ids: list[int]) -> dict[int, str]:
    """Leads among ids that another row points at (visits, follow-ups, projects, other leads …), with the reason
    of the first such table. Contacts, tags and the batch's own (just deleted) open conflicts do not count."""
    found: dict[int, str] = {}
    own = {("contacts", "lead_id"), ("lead_tags", "lead_id")}
    order = list(TABLE_REASONS)
    tables = sorted(db.metadata.sorted_tables, key=lambda t: order.index(t.name) if t.name in order else len(order))
    for table in tables:
        for fk in table.foreign_keys:
            if fk.column.table.name != "leads" or (table.name, fk.parent.name) in own:
                continue
            column = fk.parent
            for part in _chunks([i for i in ids if i not in found]):
                stmt = select(column).where(column.in_(part)).distinct()
                if table.name == "leads":
                    stmt = stmt.where(table.c.id.not_in(part))
                for lead_id in db.session.scalars(stmt):
                    found.setdefault(lead_id, TABLE_REASONS.get(table.name, "other"))
    return found
