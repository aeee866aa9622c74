"""The import engine: walks a batch's rows, checks duplicates against keys loaded once, and writes leads,
contacts, tags, conflicts and row results in chunks (one commit per chunk, so progress shows and a crash
keeps what was done). Row rules live in crm.services.imports; nothing here is called from outside it."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import (
    ClaimConflict,
    ConflictStatus,
    Contact,
    County,
    ImportBatch,
    ImportRowResult,
    Lead,
    LeadTag,
    Role,
    User,
)
from crm.services import audit, duplicates, identity, versions
from crm.services.import_index import IndexFeed
from crm.services.imports import (
    CHUNK,
    Cleaned,
    Reference,
    RowRejected,
    _open_table,
    clean_row,
    leads_changed,
    reason_code,
)
from crm.services.leads import PERSON_KINDS
from crm.services.permissions import is_city_level
from crm.transactions import reading

log = logging.getLogger(__name__)

UPDATABLE = ("kind", "name", "uscc", "industry_id", "origin_region", "home_county_id", "source_channel", "status",
             "is_key", "notes")


@dataclass(eq=False)
class Target:
    """A lead a later row may match: one in the database, or one this file creates (row set, id once inserted)."""

    id: int | None
    county_id: int
    row: int | None = None
    values: dict | None = None          # the insert values while the lead waits in the current chunk
    contacts: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    claims: list[tuple[Target, str]] = field(default_factory=list)  # (first registration, reason): 撞单


@dataclass
class Chunk:
    creates: list[Target] = field(default_factory=list)
    updates: list[tuple[int, Target, Cleaned]] = field(default_factory=list)
    results: list[tuple[dict, Target | None]] = field(default_factory=list)
    rows: int = 0
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "skipped": 0, "error": 0})


def _system_actor() -> User:
    return User(id=None, username="system", display_name="system", role=Role.ADMIN.value, is_active_user=True,
                password_hash="!")


class Importer:
    def __init__(self, batch: ImportBatch, progress: Callable[[int, int], None] | None = None):
        self.batch_id = batch.id
        self.progress = progress
        self.mode = batch.duplicate_mode
        self.county_id = batch.owner_county_id
        self.mapping = {k: int(v) for k, v in (batch.mapping or {}).items()}
        created_by_id = batch.created_by_id
        self.keys: dict[str, dict[str, Target]] = {"uscc": {}, "mobile": {}, "name": {}}
        self.changed: list[int] = []
        self.masked_hits: list[int] = []
        with reading():  # every lead's keys: a second of reading at city scale, with no write lock held
            self.actor = (db.session.get(User, created_by_id) if created_by_id else None) or _system_actor()
            self.city_level = is_city_level(self.actor)
            self.ref = Reference()
            self.probe_budget = (current_app.config["DUPLICATE_PROBE_LIMIT"]
                                 - duplicates.recent_probes(self.actor, now=datetime.now(UTC))) if self.actor.id else 0
            self.county_names = dict(db.session.execute(select(County.id, County.name)).all())
            self._load_keys()

    def _load_keys(self) -> None:
        """Every live lead's keys, once: USCC, mobile and normalised name (crm.services.duplicates' keys)."""
        targets: dict[int, Target] = {}
        for lead_id, uscc, name_key, county_id in db.session.execute(
                select(Lead.id, Lead.uscc, Lead.name_key, Lead.owner_county_id)
                .where(Lead.deleted_at.is_(None)).order_by(Lead.id)):
            target = targets[lead_id] = Target(lead_id, county_id)
            if uscc:
                self.keys["uscc"].setdefault(uscc, target)
            if name_key:
                self.keys["name"].setdefault(name_key, target)
        for mobile_key, lead_id in db.session.execute(
                select(Contact.mobile_key, Contact.lead_id).join(Lead, Lead.id == Contact.lead_id)
                .where(Contact.mobile_key.is_not(None), Lead.deleted_at.is_(None)).order_by(Contact.lead_id)):
            if lead_id in targets:
                self.keys["mobile"].setdefault(mobile_key, targets[lead_id])

    # --- the walk ------------------------------------------------------------------------------------------

    def run(self) -> None:
        batch = db.session.get(ImportBatch, self.batch_id)
        table = _open_table(batch)
        headers = _unique(table.headers)
        self.feed = IndexFeed(self.batch_id)
        db.session.rollback()  # no transaction (on SQLite: no write lock) held while the file is parsed
        try:
            chunk = Chunk()
            for number, row in enumerate(table.rows(), start=2):  # sheet row numbers, the header being row 1
                self._row(chunk, number, row, headers)
                if chunk.rows >= CHUNK:
                    self._flush(chunk)
                    chunk = Chunk()
            self._flush(chunk)
            self.feed.close()  # "done" means searchable too: the last index batches finish first
            if self.masked_hits and self.actor.id:
                duplicates.record_probes(self.actor, sorted(set(self.masked_hits)), where=f"import #{self.batch_id}",
                                         count=len(self.masked_hits))
            self._flush(Chunk(), last=True)
        finally:
            self.feed.close()  # what was committed gets indexed, even when a later chunk failed

    def _row(self, chunk: Chunk, number: int, row: list[str], headers: list[str]) -> None:
        chunk.rows += 1
        data = dict(zip(headers, row, strict=False))
        try:
            cleaned = clean_row(row, self.mapping, self.ref, county_id=self.county_id, city_level=self.city_level)
            match = self._match(cleaned.keys, prefer_visible=self.mode != "create")  # create: the city sees it
            if match is None:
                self._create(chunk, number, cleaned)
            elif self.mode == "skip":
                reason, target = match
                if self._masked(reason, target):
                    self._result(chunk, number, "skipped", self._masked_code(target), data, None)
                    return
                code = (reason_code("duplicate_in_file", row=target.row, key=reason) if target.row
                        else reason_code("duplicate", lead=target.id, key=reason))
                self._result(chunk, number, "skipped", code, data, target)
            elif self.mode == "update":
                self._update(chunk, number, cleaned, match, data)
            else:
                self._create_anyway(chunk, number, cleaned, match, data)
        except RowRejected as rejected:
            self._result(chunk, number, "rejected", rejected.reason, data, None)

    def _match(self, keys: list[tuple[str, str]], *, prefer_visible: bool) -> tuple[str, Target] | None:
        """The strongest match; when it rests on another county's masked contact data, the same lead's match by
        a visible key instead (so a candidate mobile added to a known name changes nothing the importer sees)."""
        found = [(reason, self.keys[reason][key]) for reason, key in keys if key in self.keys[reason]]
        if not found:
            return None
        reason, target = found[0]
        if prefer_visible and self._masked(reason, target):
            visible = next(((r, t) for r, t in found[1:] if t is target and not self._masked(r, t)), None)
            if visible:
                return visible
        return found[0]

    def _masked(self, reason: str, target: Target) -> bool:
        return (reason in duplicates.CONTACT_REASONS and target.row is None and not self.city_level
                and target.county_id != self.actor.county_id)

    def _masked_code(self, target: Target) -> str:
        """A match on another county's masked contact data: neither the lead nor the value is confirmed, and
        the answer is audited as a probe (crm.services.duplicates)."""
        self.masked_hits.append(target.id)
        if len(self.masked_hits) > self.probe_budget:  # past the hourly limit not even the county is named
            return reason_code("duplicate_masked_limited")
        return reason_code("duplicate_masked", county=self.county_names.get(target.county_id, ""))

    def _result(self, chunk: Chunk, number: int, outcome: str, reason: str | None, data: dict | None,
                target: Target | None, before: dict | None = None) -> None:
        chunk.counts[{"rejected": "error", "skipped": "skipped", "updated": "updated"}[outcome]] += 1
        chunk.results.append(({"batch_id": self.batch_id, "row_number": number, "outcome": outcome,
                               "reason": reason, "data": data, "before": before}, target))

    def _create(self, chunk: Chunk, number: int, cleaned: Cleaned) -> Target:
        values = cleaned.lead
        target = Target(None, values["owner_county_id"], row=number, values=values,
                        contacts=[cleaned.contact] if cleaned.contact else [], tags=list(cleaned.tags))
        for reason, key in cleaned.keys:
            self.keys[reason].setdefault(key, target)
        chunk.creates.append(target)
        chunk.counts["created"] += 1
        return target

    def _create_anyway(self, chunk, number, cleaned, match, data) -> None:
        reason, target = match
        if reason == "uscc":  # an exact USCC match refuses even a forced create (DESIGN.md §5)
            code = (reason_code("duplicate_in_file", row=target.row, key=reason) if target.row
                    else reason_code("uscc_taken", lead=target.id))
            raise _Rejected(code)
        created = self._create(chunk, number, cleaned)
        if target.county_id != created.county_id:
            created.claims.append((target, reason))

    def _update(self, chunk, number, cleaned, match, data) -> None:
        reason, target = match
        if self._masked(reason, target):
            self._result(chunk, number, "skipped", self._masked_code(target), data, None)
            return
        if not self.city_level and target.county_id != self.actor.county_id:
            self._result(chunk, number, "skipped", reason_code("other_county", lead=target.id, key=reason), data,
                         target)
            return
        if target.values is not None:  # created by an earlier row of this chunk: fold this row into it
            for key in UPDATABLE:
                if cleaned.lead.get(key) not in (None, "", False):
                    target.values[key] = cleaned.lead[key]
            target.values["name_key"] = identity.normalise_company_name(target.values["name"])[:200]
            _add_contact(target.contacts, cleaned.contact)
            target.tags += [t for t in cleaned.tags if t not in target.tags]
            self._result(chunk, number, "updated", reason_code("duplicate_in_file", row=target.row, key=reason),
                         None, target)
            return
        chunk.updates.append((number, target, cleaned))

    # --- writing a chunk -----------------------------------------------------------------------------------

    def _flush(self, chunk: Chunk, *, last: bool = False) -> None:
        now = datetime.now(UTC)
        inserted = self._insert_leads(chunk, now)
        self._apply_updates(chunk, now)
        if chunk.results:
            rows = []
            for values, target in chunk.results:
                rows.append({**values, "lead_id": target.id if target is not None else None})
            db.session.execute(insert(ImportRowResult), rows)
        counts = chunk.counts
        values = {"processed_rows": ImportBatch.processed_rows + chunk.rows,
                  "created_count": ImportBatch.created_count + counts["created"],
                  "updated_count": ImportBatch.updated_count + counts["updated"],
                  "skipped_count": ImportBatch.skipped_count + counts["skipped"],
                  "error_count": ImportBatch.error_count + counts["error"]}
        if last:
            values.update(status="done", error=None, finished_at=now)
        db.session.execute(update(ImportBatch).where(ImportBatch.id == self.batch_id).values(**values))
        if last:
            batch = db.session.get(ImportBatch, self.batch_id)
            db.session.refresh(batch)
            if batch.total_rows < batch.processed_rows:
                batch.total_rows = batch.processed_rows
            audit.record(self.actor if self.actor.id else None, "import", "import_batch", self.batch_id,
                         summary=batch.filename,
                         after={"created": batch.created_count, "updated": batch.updated_count,
                                "skipped": batch.skipped_count, "rejected": batch.error_count})
        db.session.commit()
        self._index(inserted, [target.id for _n, target, _c in chunk.updates])
        if self.progress and chunk.rows:
            processed, total = db.session.execute(select(ImportBatch.processed_rows, ImportBatch.total_rows)
                                                  .where(ImportBatch.id == self.batch_id)).one()
            db.session.rollback()  # the read opened no lasting transaction (on SQLite: no lock held)
            self.progress(processed, max(total, processed))

    def _index(self, inserted: tuple[list[dict], list[dict], list[dict]], updated_ids: list[int]) -> None:
        """Updated leads through the usual hook (few, and they are in the index already); new ones are
        collected and added in large batches (see IndexFeed). Runs after the commit, with no read open."""
        if updated_ids:
            leads_changed(updated_ids)
            db.session.rollback()
        self.feed.add(*inserted)

    def _insert_leads(self, chunk: Chunk, now: datetime) -> tuple[list[dict], list[dict], list[dict]]:
        """Insert the chunk's new leads with their contacts and tags; returns the rows inserted of each."""
        if not chunk.creates:
            return [], [], []
        ids = self._allocate_ids(len(chunk.creates))
        rows = []
        for target, lead_id in zip(chunk.creates, ids, strict=True):
            values = target.values
            full, initials = pinyin_keys(values["name"], person=values["kind"] in PERSON_KINDS)
            rows.append({**values, "id": lead_id, "pinyin_full": full[:400], "pinyin_initials": initials[:200],
                         "owner_id": self.actor.id, "created_by_id": self.actor.id,
                         "import_batch_id": self.batch_id, "created_at": now, "updated_at": now})
        db.session.execute(insert(Lead), rows)
        contacts, tags = [], []
        for target, lead_id in zip(chunk.creates, ids, strict=True):
            target.id, target.values = lead_id, None
            contacts += [{**c, "lead_id": lead_id, "created_at": now, "updated_at": now} for c in target.contacts]
            tags += [{"lead_id": lead_id, "tag": tag} for tag in target.tags]
        if contacts:
            db.session.execute(insert(Contact), contacts)
        if tags:
            db.session.execute(insert(LeadTag), tags)
        for target in chunk.creates:
            for first, reason in target.claims:
                self._open_conflict(first, target, reason, now)
        return rows, contacts, tags

    def _allocate_ids(self, n: int) -> list[int]:
        """Ids for n new leads, so one executemany inserts them (RETURNING with row order falls back to one
        statement per row on SQLite). PostgreSQL hands them out from the sequence; on SQLite this transaction
        began IMMEDIATE and holds the write lock, so nobody else can take max(id) + 1 meanwhile."""
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            return list(db.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, :n)"), {"n": n}))
        start = (db.session.scalar(select(func.max(Lead.id))) or 0) + 1
        return list(range(start, start + n))

    def _open_conflict(self, first: Target, claimant: Target, reason: str, now: datetime) -> None:
        """As crm.services.duplicates.open_conflicts: the first registration keeps the lead until the city decides."""
        conflict = ClaimConflict(lead_id=first.id, claimant_lead_id=claimant.id, claimant_county_id=claimant.county_id,
                                 claimant_user_id=self.actor.id, reason=reason, status=ConflictStatus.OPEN.value,
                                 created_at=now)
        db.session.add(conflict)
        db.session.flush()
        audit.record(self.actor if self.actor.id else None, "conflict.open", "conflict", conflict.id,
                     summary=f"#{first.id} / #{claimant.id}",
                     after={"lead_id": first.id, "claimant_lead_id": claimant.id, "reason": reason,
                            "import_batch_id": self.batch_id})

    def _apply_updates(self, chunk: Chunk, now: datetime) -> None:
        if not chunk.updates:
            return
        ids = {target.id for _n, target, _c in chunk.updates}
        leads = {lead.id: lead for lead in db.session.scalars(
            select(Lead).where(Lead.id.in_(ids)).options(selectinload(Lead.contacts), selectinload(Lead.tag_rows)))}
        for number, target, cleaned in chunk.updates:
            lead = leads.get(target.id)
            if lead is None:
                continue
            before, after = {}, {}
            for key in UPDATABLE:
                value = cleaned.lead.get(key)
                if value in (None, "", False) or getattr(lead, key) == value:
                    continue
                before[key], after[key] = getattr(lead, key), value
                setattr(lead, key, value)
            if "name" in after or "kind" in after:
                before.update(name_key=lead.name_key, pinyin_full=lead.pinyin_full,
                              pinyin_initials=lead.pinyin_initials)
                lead.name_key = identity.normalise_company_name(lead.name)[:200]
                lead.pinyin_full, lead.pinyin_initials = (
                    k[:n] for k, n in zip(identity.pinyin_keys(lead.name, person=lead.kind in PERSON_KINDS),
                                          (400, 200), strict=True))
            new_contacts = []
            if cleaned.contact and not _has_contact(lead.contacts, cleaned.contact):
                contact = Contact(**{**cleaned.contact, "is_primary": not lead.contacts}, created_at=now,
                                  updated_at=now)
                lead.contacts.append(contact)
                new_contacts.append(contact)
            new_tags = [LeadTag(tag=t) for t in cleaned.tags if t not in lead.tags]
            lead.tag_rows.extend(new_tags)
            if not (after or new_contacts or new_tags):
                self._result(chunk, number, "skipped", reason_code("duplicate", lead=lead.id, key="unchanged"),
                             None, target)
                continue
            lead.updated_at = now
            versions.bump(lead, "lead")
            db.session.flush()
            record = {"fields": before, "contact_ids": [c.id for c in new_contacts],
                      "tag_ids": [t.id for t in new_tags]}
            audit.record(self.actor if self.actor.id else None, "update", "lead", lead.id, summary=lead.name,
                         before={k: v for k, v in before.items() if k in UPDATABLE},
                         after={**after, "contacts_added": len(new_contacts), "tags_added": len(new_tags),
                                "import_batch_id": self.batch_id})
            self._result(chunk, number, "updated", None, None, target, before=record)


def pinyin_keys(name: str, *, person: bool) -> tuple[str, str]:
    """identity.pinyin_keys (which remembers each word's conversion, so it is cheap for a file's names)."""
    return identity.pinyin_keys(name, person=person)


class _Rejected(RowRejected):
    def __init__(self, reason: str):
        Exception.__init__(self, reason)
        self.reason = reason


def _add_contact(contacts: list[dict], contact: dict | None) -> None:
    if contact and not _has_contact(contacts, contact):
        contacts.append({**contact, "is_primary": not contacts})


def _has_contact(contacts, contact: dict) -> bool:
    def get(c, key):
        return c.get(key) if isinstance(c, dict) else getattr(c, key)

    for existing in contacts:
        if contact["mobile_key"] and get(existing, "mobile_key") == contact["mobile_key"]:
            return True
        if (get(existing, "name"), get(existing, "mobile"), get(existing, "phone"), get(existing, "email")) == (
                contact["name"], contact["mobile"], contact["phone"], contact["email"]):
            return True
    return False


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for index, header in enumerate(headers):
        name = header or f"#{index + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out
