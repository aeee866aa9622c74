"""The industry taxonomy: reference data from crm/reference/industries.tsv, edited by admins; tree queries."""
from __future__ import annotations

import csv
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import Industry, User
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound
from crm.services.permissions import require
from crm.services.validation import Errors, clean_text

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "industries.tsv"


def load_reference_industries() -> int:
    """Insert industries missing by code (parents first); never overwrite an admin's edits."""
    existing = {i.code: i for i in db.session.scalars(select(Industry))}
    added = 0
    with REFERENCE.open(encoding="utf-8") as fh:
        for order, row in enumerate(csv.DictReader(fh, delimiter="\t")):
            if row["code"] in existing:
                continue
            parent = existing.get(row["parent"]) if row["parent"] else None
            industry = Industry(code=row["code"], name=row["name"], parent=parent, sort_order=order,
                                synonyms=[s for s in row["synonyms"].split(";") if s])
            db.session.add(industry)
            existing[row["code"]] = industry
            added += 1
    db.session.commit()
    return added


def all_industries() -> list[Industry]:
    return list(db.session.scalars(select(Industry).order_by(Industry.sort_order, Industry.id)))


def industry_tree() -> list[tuple[Industry, list[Industry]]]:
    """Top-level industries with their children, in display order."""
    rows = all_industries()
    return [(top, [c for c in rows if c.parent_id == top.id]) for top in rows if top.parent_id is None]


def get_industry(industry_id: int) -> Industry:
    industry = db.session.get(Industry, industry_id)
    if industry is None:
        raise NotFound("industry")
    return industry


def descendant_ids(industry_id: int) -> list[int]:
    """The industry and everything under it (filters 'industry incl. sub-industries')."""
    rows = all_industries()
    found, frontier = [industry_id], [industry_id]
    while frontier:
        frontier = [i.id for i in rows if i.parent_id in frontier]
        found += frontier
    return found


def subtree(parents: dict[int, int | None], roots: set[int]) -> set[int]:
    """roots and every industry under them, given each industry's parent id (for callers that hold the table)."""
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {i for i, parent in parents.items() if parent in frontier and i not in found}
        found |= frontier
    return found


def ancestors(industry: Industry | None) -> list[Industry]:
    """The industry followed by its parents up to the top."""
    chain = []
    while industry is not None and len(chain) < 10:
        chain.append(industry)
        industry = industry.parent
    return chain


def update_industry(actor: User, industry_id: int, data: dict) -> Industry:
    require(actor, "industry.manage")
    industry = get_industry(industry_id)
    errors = Errors()
    name = clean_text(data.get("name"), field="name", errors=errors, max_length=60, required=True)
    raw = data.get("synonyms") or []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").replace("；", ",").replace(";", ",").split(",")
    synonyms = []
    for word in raw:
        word = clean_text(word, field="synonyms", errors=errors, max_length=30)
        if word and word not in synonyms:
            synonyms.append(word)
    if len(synonyms) > 50:
        errors.add("synonyms", _l("At most %(n)d synonyms.", n=50))
    if errors:
        raise InvalidInput(errors)
    before = {"name": industry.name, "synonyms": list(industry.synonyms)}
    industry.name, industry.synonyms = name, synonyms
    old, new = audit.changes(before, {"name": name, "synonyms": synonyms})
    if new:
        audit.record(actor, "update", "industry", industry.id, summary=name, before=old, after=new)
    db.session.commit()
    return industry
