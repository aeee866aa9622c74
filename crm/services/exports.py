"""Exporting filtered lists (leads, follow-ups, projects, holiday outreach) as XLSX or CSV: the same filters as
the list pages, contact details masked as the reader would see them, a row cap, and an audit entry per export."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import County, Followup, Industry, Lead, User
from crm.services import audit, followups, leads, projects
from crm.services.errors import InvalidInput
from crm.services.permissions import require, rule
from crm.spreadsheets import write_csv, write_xlsx

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
LEAD_FILTERS = ("kind", "industry_id", "county_id", "status", "owner_id", "is_key", "silent_days", "q", "sort")
_INT_FILTERS = ("industry_id", "county_id", "owner_id", "silent_days")
CHUNK = 1000

KIND_LABELS = {"enterprise": _l("Enterprise"), "chamber": _l("Chamber of commerce"), "adviser": _l("Adviser"),
               "hometown_entrepreneur": _l("Hometown entrepreneur"), "intermediary": _l("Intermediary"),
               "foreign_investor": _l("Foreign investor")}
STATUS_LABELS = {"new": _l("New"), "engaged": _l("Engaged"), "interested": _l("Interested"), "signed": _l("Signed"),
                 "dormant": _l("Dormant"), "dropped": _l("Dropped")}
CHANNEL_LABELS = {"chamber": _l("Chamber of commerce"), "adviser": _l("Adviser"), "hometown": _l("Hometown network"),
                  "intermediary": _l("Intermediary"), "event": _l("Promotion event"), "self": _l("Self-referred"),
                  "superior": _l("Pushed by superiors"), "visit": _l("Door-knocking visit")}
STAGE_LABELS = {"planned": _l("Planned"), "negotiating": _l("Negotiating"), "signed": _l("Signed"),
                "started": _l("Started"), "operating": _l("Operating"), "dropped": _l("Dropped")}


@rule("export.run")
def _export(_actor: User, _obj) -> bool:
    return True  # lists are shared for reading; what each row shows is masked per reader, and every export audited


def max_rows() -> int:
    try:
        return int(current_app.config.get("EXPORT_MAX_ROWS") or 100_000)
    except (TypeError, ValueError):
        return 100_000


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput({"format": [_l("Choose XLSX or CSV.")]})
    return fmt


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _capped(stmt) -> int:
    total = _count(stmt)
    if total > max_rows():
        raise InvalidInput({"filters": [_l("%(n)s rows match; an export holds at most %(max)s. Narrow the filters.",
                                           n=total, max=max_rows())]})
    return total


def clean_lead_filters(raw: dict) -> dict:
    """The list page's filters from query-string values: unknown keys dropped, numbers checked."""
    out: dict = {}
    for key in LEAD_FILTERS:
        value = raw.get(key)
        if value in (None, ""):
            continue
        if key in _INT_FILTERS:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput({key: [_l("Not a valid choice.")]}) from None
        elif key == "is_key":
            value = str(value).lower() in ("1", "true", "yes", "on")
        else:
            value = str(value)[:100]
        out[key] = value
    return out


def _file(fmt: str, headers: list, rows, title: str) -> bytes:
    return write_xlsx(headers, rows, sheet_title=title) if fmt == "xlsx" else write_csv(headers, rows)


def _names(model) -> dict[int, str]:
    return dict(db.session.execute(select(model.id, model.name)).all())


def lead_rows(actor: User, stmt) -> Iterator[list]:
    """Each lead with its primary contact, contact details masked as this actor would see them."""
    industries, counties = _names(Industry), _names(County)
    ids = list(db.session.scalars(stmt.with_only_columns(Lead.id)))
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        loaded = {lead.id: lead for lead in db.session.scalars(
            select(Lead).where(Lead.id.in_(part)).options(selectinload(Lead.contacts), selectinload(Lead.tag_rows)))}
        for lead_id in part:
            lead = loaded[lead_id]
            contact = (leads.contact_values(lead.contacts[0], masked=leads.contacts_masked(actor, lead))
                       if lead.contacts else {})
            yield [lead.id, lead.name, str(KIND_LABELS.get(lead.kind, lead.kind)), lead.uscc or "",
                   industries.get(lead.industry_id, ""), counties.get(lead.owner_county_id, ""),
                   str(STATUS_LABELS.get(lead.status, lead.status)), _("Yes") if lead.is_key else "",
                   str(CHANNEL_LABELS.get(lead.source_channel, lead.source_channel or "")), lead.origin_region or "",
                   counties.get(lead.home_county_id, ""), "、".join(lead.tags), contact.get("name") or "",
                   contact.get("title") or "", contact.get("mobile") or "", contact.get("phone") or "",
                   contact.get("email") or "", contact.get("wechat") or "", lead.last_contacted_at, lead.created_at,
                   lead.notes or ""]
        db.session.expire_all()


def lead_headers() -> list[str]:
    # Chinese headers the import's mapping recognises, so an export can be edited and imported again.
    return [_("ID"), _("Name"), _("Type"), _("Unified social credit code"), _("Industry"), _("Owning county"),
            _("Status"), _("Key lead"), _("Source"), _("Region"), _("Hometown county"), _("Tags"), _("Contact"),
            _("Job title"), _("Mobile"), _("Phone"), _("E-mail"), _("WeChat"), _("Last contact"), _("Created"),
            _("Notes")]


def leads_file(actor: User, stmt, fmt: str) -> bytes:
    """The leads of `stmt` as the lead list's file (headers the import recognises), masked for this reader."""
    return _file(fmt, lead_headers(), lead_rows(actor, stmt), _("Leads"))


def export_leads(actor: User, filters: dict, fmt: str, *, now: datetime) -> tuple[str, bytes, str]:
    """(file name, content, mimetype) of the lead list with these filters; audited."""
    require(actor, "export.run")
    check_format(fmt)
    filters = clean_lead_filters(filters)
    stmt = leads.leads_query(**filters, now=now)
    total = _capped(stmt)
    content = leads_file(actor, stmt, fmt)
    audit.record_read(actor, "export", "lead", None, summary=f"leads.{fmt} ({total})",
                      after={"filters": filters, "rows": total, "format": fmt})
    return f"leads-{now:%Y%m%d-%H%M}.{fmt}", content, FORMATS[fmt]


FOLLOWUP_FILTERS = ("status", "county_id", "assignee_id")
FOLLOWUP_STATUS_LABELS = {"open": _l("In progress"), "done": _l("Done"), "cancelled": _l("Cancelled")}


def export_followups(actor: User, filters: dict, fmt: str, *, now: datetime) -> tuple[str, bytes, str]:
    """The follow-ups this actor may see (status / county / assignee filters, or view=mine: exactly the open
    ones of "My follow-ups"), as a file; audited."""
    require(actor, "export.run")
    check_format(fmt)
    clean = {}
    stmt = followups.visible_followups(actor)
    if filters.get("view") == "mine":
        clean["view"] = "mine"
        ids = [f.id for bucket in followups.my_followups(actor, now).values() for f in bucket]
        stmt = stmt.where(Followup.id.in_(ids))
    for key in FOLLOWUP_FILTERS:
        value = filters.get(key)
        if value in (None, ""):
            continue
        if key != "status":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput({key: [_l("Not a valid choice.")]}) from None
        elif value not in FOLLOWUP_STATUS_LABELS:
            raise InvalidInput({key: [_l("Not a valid choice.")]})
        clean[key] = value
        stmt = stmt.where(getattr(Followup, key) == value)
    stmt = stmt.order_by(Followup.due_at, Followup.id)
    total = _capped(stmt)
    counties, users = _names(County), dict(db.session.execute(select(User.id, User.display_name)).all())
    lead_names = dict(db.session.execute(select(Lead.id, Lead.name)).all())
    rows = ([f.id, f.title, lead_names.get(f.lead_id, ""), f.due_at,
             str(FOLLOWUP_STATUS_LABELS.get(f.status, f.status)), users.get(f.assignee_id, ""),
             counties.get(f.county_id, ""), users.get(f.assigned_by_id, ""), f.completed_at, f.outcome or "",
             f.detail or ""] for f in db.session.scalars(stmt))
    headers = [_("ID"), _("Title"), _("Lead"), _("Due"), _("Status"), _("Assignee"), _("County"), _("Assigned by"),
               _("Completed"), _("Outcome"), _("Detail")]
    content = _file(fmt, headers, rows, _("Follow-ups"))
    audit.record_read(actor, "export", "followup", None, summary=f"followups.{fmt} ({total})",
                      after={"filters": clean, "rows": total, "format": fmt})
    return f"followups-{now:%Y%m%d-%H%M}.{fmt}", content, FORMATS[fmt]


PROJECT_FILTERS = ("stage", "county_id", "industry_id", "year", "q", "foreign")


def export_projects(actor: User, filters: dict, fmt: str, *, now: datetime) -> tuple[str, bytes, str]:
    require(actor, "export.run")
    require(actor, "project.view")
    check_format(fmt)
    clean = {}
    for key in PROJECT_FILTERS:
        value = filters.get(key)
        if value in (None, ""):
            continue
        if key in ("county_id", "industry_id", "year"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput({key: [_l("Not a valid choice.")]}) from None
        elif key == "foreign":  # the list page's 1 / 0
            if value not in ("1", "0"):
                raise InvalidInput({key: [_l("Not a valid choice.")]})
            key, value = "is_foreign", value == "1"
        elif key == "stage" and value not in STAGE_LABELS:
            raise InvalidInput({key: [_l("Not a valid choice.")]})
        else:
            value = str(value)[:100]
        clean[key] = value
    stmt = projects.projects_query(**clean)
    total = _capped(stmt)
    industries, counties = _names(Industry), _names(County)
    rows = ([p.id, p.name, str(STAGE_LABELS.get(p.stage, p.stage)), counties.get(p.county_id, ""),
             industries.get(p.industry_id, ""), p.investment_total, _("Yes") if p.is_foreign else "",
             str(CHANNEL_LABELS.get(p.source_channel, p.source_channel or "")), p.signed_on, p.started_on,
             p.notes or ""] for p in db.session.scalars(stmt))
    headers = [_("ID"), _("Project"), _("Stage"), _("County"), _("Industry"), _("Investment (10,000 yuan)"),
               _("Foreign"), _("Source"), _("Signed on"), _("Started on"), _("Notes")]
    content = _file(fmt, headers, rows, _("Projects"))
    audit.record_read(actor, "export", "project", None, summary=f"projects.{fmt} ({total})",
                      after={"filters": clean, "rows": total, "format": fmt})
    return f"projects-{now:%Y%m%d-%H%M}.{fmt}", content, FORMATS[fmt]


def export_outreach(actor: User, campaign_id: int, fmt: str, *, county_id: int | None = None, mine: bool = False,
                    now: datetime) -> tuple[str, bytes, str]:
    """A holiday-outreach list through the outreach service's own rows (masked and audited there)."""
    from crm.services import outreach

    require(actor, "export.run")
    check_format(fmt)
    headers, rows = outreach.export_rows(actor, campaign_id, county_id=county_id, mine=mine, now=now)
    if len(rows) > max_rows():
        raise InvalidInput({"filters": [_l("%(n)s rows match; an export holds at most %(max)s. Narrow the filters.",
                                           n=len(rows), max=max_rows())]})
    return f"outreach-{campaign_id}-{now:%Y%m%d}.{fmt}", _file(fmt, headers, rows, _("Outreach")), FORMATS[fmt]
