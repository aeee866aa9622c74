"""Lead and project search answered from the database, while the search index is filled from nothing (missing,
corrupt or of another schema version: `SearchIndex` starts empty and reconcile rebuilds it in the background).

Slower and plainer than the index — substring and pinyin-prefix matching, no relevance ranking, no n-grams of
jieba's cuts — but it finds what staff type most: parts of names and companies, contact names, industry words
(with sub-industries and synonyms, from the taxonomy), tags, regions, notes, pinyin and initials. Same query
language (crm.search.query.parse), filters, facets and result shape as SearchIndex.search."""
from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import and_, exists, func, or_, select, true

from crm.extensions import db
from crm.models import Contact, Lead, LeadTag, Project
from crm.search.highlight import highlights, needles
from crm.search.query import parse
from crm.services.industries import subtree

MAX_PER_PAGE = 100
_LATIN = re.compile(r"[^a-z0-9]")


def _subtree(industries: dict, roots: set[int]) -> set[int]:
    return subtree({i: row.parent_id for i, row in industries.items()}, roots)


def _industries_named(industries: dict, text: str) -> set[int]:
    """Industries whose name or a synonym contains the word, with their sub-industries."""
    hits = {i for i, row in industries.items()
            if text in row.name or any(text in s for s in (row.synonyms or []))}
    return _subtree(industries, hits) if hits else set()


def _lead_clause(clause, industries: dict):
    words = clause.text.split() or [clause.text]
    conditions = []
    for word in words:
        latin = _LATIN.sub("", word)
        alts = [Lead.name.contains(word, autoescape=True), Lead.notes.contains(word, autoescape=True),
                Lead.origin_region.contains(word, autoescape=True),
                exists().where(Contact.lead_id == Lead.id, or_(Contact.name.contains(word, autoescape=True),
                                                                Contact.title.contains(word, autoescape=True))),
                exists().where(LeadTag.lead_id == Lead.id, LeadTag.tag.contains(word, autoescape=True))]
        if latin and latin == word:
            alts += [Lead.pinyin_full.startswith(latin, autoescape=True),
                     Lead.pinyin_initials.startswith(latin, autoescape=True)]
        named = _industries_named(industries, word)
        if named:
            alts.append(Lead.industry_id.in_(named))
        conditions.append(or_(*alts))
    return and_(*conditions)


def _project_clause(clause, industries: dict):
    conditions = []
    for word in clause.text.split() or [clause.text]:
        alts = [Project.name.contains(word, autoescape=True), Project.notes.contains(word, autoescape=True)]
        named = _industries_named(industries, word)
        if named:
            alts.append(Project.industry_id.in_(named))
        conditions.append(or_(*alts))
    return and_(*conditions)


def _where(parsed, make, industries: dict) -> list:
    out = [or_(*[make(c, industries) for c in group]) for group in parsed.groups]
    # IS NOT TRUE, not NOT: a word compared with a NULL column (no notes) is NULL, and NOT NULL excludes the row.
    out += [make(c, industries).is_not(true()) for c in parsed.excluded]
    return out


def search(q: object, *, filters: dict, sort: str, page: int, per_page: int, industries: dict) -> SimpleNamespace:
    """industries: id -> row with name, parent_id, synonyms (indexing.Reference().industries)."""
    parsed = parse(q)
    page, per_page = max(1, page), min(MAX_PER_PAGE, max(1, per_page))
    result = SimpleNamespace(total=0, items=[], page=page, per_page=per_page,
                             sort=sort if sort in ("relevance", "last_contact", "name") else "relevance",
                             terms=[c.text for c in parsed.positive],
                             facets={"industry": [], "county": [], "kind": [], "status": [], "is_key": []})
    if not parsed.groups and not filters:
        return result  # nothing typed and nothing chosen: never list everything
    try:
        industry_id = int(filters["industry_id"]) if filters.get("industry_id") else None
        county_id = int(filters["county_id"]) if filters.get("county_id") else None
    except (TypeError, ValueError, OverflowError):
        return result  # as the index: a filter that cannot match anything
    is_key = filters.get("is_key")
    leads = [Lead.deleted_at.is_(None), Lead.merged_into_id.is_(None), *_where(parsed, _lead_clause, industries)]
    projects = [Project.deleted_at.is_(None), *_where(parsed, _project_clause, industries)]
    if industry_id is not None:
        subtree = _subtree(industries, {industry_id})
        leads.append(Lead.industry_id.in_(subtree))
        projects.append(Project.industry_id.in_(subtree))
    if county_id is not None:
        leads.append(Lead.owner_county_id == county_id)
        projects.append(Project.county_id == county_id)
    if filters.get("kind"):
        leads.append(Lead.kind == filters["kind"])
    if filters.get("status"):
        leads.append(Lead.status == filters["status"])
        projects.append(Project.stage == filters["status"])
    if is_key is not None:
        leads.append(Lead.is_key.is_(bool(is_key)))
    want_projects = (filters.get("type") in (None, "", "project") and filters.get("kind") in (None, "", "project")
                     and not is_key)
    want_leads = filters.get("type") in (None, "", "lead") and filters.get("kind") != "project"

    counts = {"industry": {}, "county": {}, "kind": {}, "status": {}, "is_key": {}}

    def tally(facet: str, rows) -> None:
        for value, n in rows:
            if value is not None:
                counts[facet][value] = counts[facet].get(value, 0) + n

    if want_leads:
        for facet, column in (("county", Lead.owner_county_id), ("kind", Lead.kind), ("status", Lead.status),
                              ("is_key", Lead.is_key), ("industry", Lead.industry_id)):
            tally(facet, db.session.execute(select(column, func.count()).where(*leads).group_by(column)))
    if want_projects:
        for facet, column in (("county", Project.county_id), ("status", Project.stage),
                              ("industry", Project.industry_id)):
            tally(facet, db.session.execute(select(column, func.count()).where(*projects).group_by(column)))
        tally("kind", [("project", db.session.scalar(select(func.count()).where(*projects)))])
    result.total = sum(counts["kind"].values())
    industry_counts: dict[int, int] = {}
    for industry_id, n in counts["industry"].items():  # a lead counts in its industry and every ancestor
        seen = 0
        while industry_id in industries and seen < 10:
            industry_counts[industry_id] = industry_counts.get(industry_id, 0) + n
            industry_id, seen = industries[industry_id].parent_id, seen + 1
    result.facets = {
        "industry": [{"id": i, "count": n} for i, n in sorted(industry_counts.items(), key=lambda x: -x[1])],
        "county": [{"id": i, "count": n} for i, n in sorted(counts["county"].items(), key=lambda x: -x[1])],
        "kind": [{"value": v, "count": n} for v, n in sorted(counts["kind"].items(), key=lambda x: -x[1]) if n],
        "status": [{"value": v, "count": n} for v, n in sorted(counts["status"].items(), key=lambda x: -x[1])],
        "is_key": [{"value": bool(v), "count": n} for v, n in counts["is_key"].items()],
    }
    window = page * per_page
    order = {"name": (Lead.pinyin_full.asc(), Lead.id),
             "last_contact": (Lead.last_contacted_at.is_(None), Lead.last_contacted_at.desc(), Lead.id.desc())
             }.get(result.sort, (Lead.is_key.desc(), Lead.last_contacted_at.is_(None),
                                 Lead.last_contacted_at.desc(), Lead.id.desc()))
    rows = []
    if want_leads:
        rows += [("lead", i, name, notes) for i, name, notes in db.session.execute(
            select(Lead.id, Lead.name, Lead.notes).where(*leads).order_by(*order).limit(window))]
    if want_projects and len(rows) < window:
        rows += [("project", i, name, notes) for i, name, notes in db.session.execute(
            select(Project.id, Project.name, Project.notes).where(*projects).order_by(Project.name, Project.id)
            .limit(window - len(rows)))]
    found = needles(parsed.positive)
    for doc_type, doc_id, name, notes in rows[(page - 1) * per_page:window]:
        stored = {"name": name, "company": name, "notes": notes or "", "interactions": []}
        result.items.append({"type": doc_type, "id": doc_id, "name": name, "score": None,
                             "highlights": highlights(stored, parsed.positive, found)})
    return result
