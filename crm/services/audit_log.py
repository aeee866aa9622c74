"""Reading the audit log as the bureau's administrator does: actions and objects in words, each change as a
field-by-field before → after diff with times in Asia/Shanghai, a date-range filter and an export (XLSX/CSV).
Writing entries is crm.services.audit."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import AuditEntry, User
from crm.services import audit
from crm.services.errors import InvalidInput
from crm.services.permissions import require
from crm.spreadsheets import write_csv, write_xlsx

TZ = ZoneInfo("Asia/Shanghai")
MAX_EXPORT = 50_000
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}

ACTION_LABELS = {
    "create": _l("Added"), "update": _l("Changed"), "update_amount": _l("Changed the amount"),
    "delete": _l("Deleted"), "restore": _l("Restored"), "merge": _l("Merged"), "merged": _l("Merged into another"),
    "reveal": _l("Showed contact details"), "reveal.probe": _l("Matched masked contact details"),
    "export": _l("Exported"), "import": _l("Imported"), "upload": _l("Uploaded"), "revert": _l("Reverted import"),
    "login": _l("Signed in"), "logout": _l("Signed out"), "lock": _l("Locked after failed sign-ins"),
    "change_password": _l("Changed password"), "reset_password": _l("Reset password"), "revoke": _l("Revoked"),
    "stage_change": _l("Changed stage"), "add_funds": _l("Recorded funds in place"),
    "update_funds": _l("Corrected funds in place"), "withdraw_funds": _l("Withdrew funds in place"),
    "withdraw": _l("Withdrew"), "set_targets": _l("Set targets"),
    "conflict.open": _l("Claim conflict opened"), "conflict.decide": _l("Claim conflict decided"),
    "followup.create": _l("Follow-up assigned"), "followup.update": _l("Follow-up changed"),
    "followup.complete": _l("Follow-up completed"), "followup.cancel": _l("Follow-up cancelled"),
    "followup.reopen": _l("Follow-up reopened"), "followup.handoff": _l("Follow-up handed to a county"),
    "followup.accept": _l("Follow-up accepted"), "followup.return": _l("Follow-up returned to the city"),
    "outreach.campaign_create": _l("Outreach list made"), "outreach.campaign_refresh": _l("Outreach list refreshed"),
    "outreach.mark": _l("Greeting recorded"), "outreach.change": _l("Greeting result changed"),
    "outreach.setting": _l("Holiday setting changed"), "user.notify_channels": _l("Notification channels changed"),
    "bulk.owner": _l("Bulk: owner assigned"), "bulk.tag": _l("Bulk: tag added"),
    "bulk.outreach": _l("Bulk: added to an outreach list"), "bulk.event": _l("Bulk: invited to an event"),
}
OBJECT_LABELS = {
    "lead": _l("Lead"), "project": _l("Project"), "followup": _l("Follow-up"), "interaction": _l("Contact record"),
    "trip": _l("Trip"), "event": _l("Event"), "campaign": _l("Outreach list"), "outreach_item": _l("Greeting"),
    "holiday_setting": _l("Holiday setting"), "user": _l("User"), "api_token": _l("API token"),
    "county": _l("County"), "industry": _l("Industry"), "target": _l("Target"), "report": _l("Report"),
    "import_batch": _l("Import"), "conflict": _l("Claim conflict"), "saved_search": _l("Saved search"),
    "audit_log": _l("Audit log"),
}
FIELD_LABELS = {
    "name": _l("Name"), "kind": _l("Type"), "status": _l("Status"), "owner_id": _l("Owner"),
    "owner_county_id": _l("Owning county"), "county_id": _l("County"), "industry_id": _l("Industry"),
    "tags": _l("Tags"), "notes": _l("Notes"), "is_key": _l("Key lead"), "uscc": _l("Unified social credit code"),
    "contacts": _l("Contacts"), "title": _l("Title"), "due_at": _l("Due"), "assignee_id": _l("Assignee"),
    "stage": _l("Stage"), "investment_total": _l("Total investment"), "amount": _l("Amount"),
    "held_on": _l("Held on"), "lead_ids": _l("Leads"), "attended_ids": _l("Attended"), "role": _l("Role"),
    "display_name": _l("Display name"), "email": _l("E-mail"), "is_active_user": _l("Active"),
    "summary": _l("Summary"), "outcome": _l("Outcome"), "occurred_at": _l("Time"), "rows": _l("Rows"),
    "format": _l("Format"), "filters": _l("Filters"), "items": _l("Items"), "added": _l("Added"),
    "removed": _l("Removed"), "done": _l("Done"), "refused": _l("Refused"), "unchanged": _l("Already so"),
    "note": _l("Note"), "query": _l("Search"), "scope": _l("Shared with"), "source_channel": _l("Source"),
    "referrer_id": _l("Referrer"), "origin_region": _l("Region"), "home_county_id": _l("Hometown county"),
}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def object_label(code: str) -> str:
    return str(OBJECT_LABELS.get(code, code))


def field_label(code: str) -> str:
    return str(FIELD_LABELS.get(code, code))


def local(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _readable(value) -> str:
    """A stored value as a person reads it: ISO times in Asia/Shanghai, lists joined, yes/no, — for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return local(parsed) if parsed.tzinfo else value.replace("T", " ")
    if isinstance(value, list):
        return "、".join(_readable(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{field_label(k)}：{_readable(v)}" for k, v in value.items())
    return str(value)


ROLE_LABELS = {"admin": _l("Administrator"), "city_staff": _l("City staff"), "county_staff": _l("County staff"),
               "viewer": _l("Leader (read-only)")}
USER_FIELDS = ("owner_id", "assignee_id", "assigned_by_id", "created_by_id")
COUNTY_FIELDS = ("owner_county_id", "county_id", "home_county_id")
LEAD_LIST_FIELDS = ("done", "unchanged", "refused", "added_leads", "removed_leads", "lead_ids", "attended_ids")
NAMED_AT_MOST = 20  # a long list of leads is shown by its first names and a count


def _named(field: str, value):
    """Codes and ids as the names a person knows: 在谈 for negotiating, 汉滨区 for a county id, a user's name."""
    from crm.models import County, Industry
    from crm.services.exports import KIND_LABELS, STAGE_LABELS, STATUS_LABELS

    if field in LEAD_LIST_FIELDS and isinstance(value, list) and all(isinstance(v, int) for v in value):
        from crm.models import Lead

        shown = value[:NAMED_AT_MOST]
        names = dict(db.session.execute(select(Lead.id, Lead.name).where(Lead.id.in_(shown))).all()) if shown else {}
        named = [names.get(v, f"#{v}") for v in shown]
        return named + ([_("and %(n)d more", n=len(value) - len(shown))] if len(value) > len(shown) else [])
    if isinstance(value, list):
        return [_named(field, v) for v in value]
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    labels = {"kind": KIND_LABELS, "status": STATUS_LABELS, "stage": STAGE_LABELS, "role": ROLE_LABELS}.get(field)
    if labels is not None:
        return str(labels.get(value, value))
    model = User if field in USER_FIELDS else County if field in COUNTY_FIELDS else (
        Industry if field == "industry_id" else None)
    if model is not None and isinstance(value, int):
        row = db.session.get(model, value)
        if row is not None:
            return row.display_name if model is User else row.name
    return value


def diff(entry: AuditEntry) -> list[dict]:
    """[{field, label, before, after}] for every field the entry names, in the order it stored them; codes and ids
    shown by name."""
    before, after = entry.before or {}, entry.after or {}
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [{"field": k, "label": field_label(k),
             "before": _readable(_named(k, before.get(k))) if k in before else None,
             "after": _readable(_named(k, after.get(k))) if k in after else None} for k in keys]


def _day(value, field: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        errors[field] = [_l("Not a valid date (YYYY-MM-DD).")]
        return None


def clean_filters(raw: dict) -> dict:
    """The page's filters: object type, action, actor, object id and a date range in Ankang days (both ends
    included); a bad value is refused with its field."""
    errors: dict = {}
    out: dict = {}
    for key in ("object_type", "action"):
        value = (raw.get(key) or "").strip()
        if value:
            out[key] = value[:40]
    for key in ("actor_id", "object_id"):
        value = raw.get(key)
        if value in (None, ""):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if not 0 < number < 2**31:
            errors[key] = [_l("Not a valid choice.")]
        else:
            out[key] = number
    since, until = _day(raw.get("since"), "since", errors), _day(raw.get("until"), "until", errors)
    if since and until and since > until:
        errors["until"] = [_l("The end of the range is before its start.")]
    if errors:
        raise InvalidInput(errors)
    if since:
        out["since"] = since
    if until:
        out["until"] = until
    return out


def entries_query(filters: dict):
    stmt = audit.audit_query(**{k: v for k, v in filters.items() if k not in ("since", "until")})
    if filters.get("since"):
        stmt = stmt.where(AuditEntry.at >= datetime.combine(filters["since"], time.min, TZ))
    if filters.get("until"):
        stmt = stmt.where(AuditEntry.at < datetime.combine(filters["until"] + timedelta(days=1), time.min, TZ))
    return stmt


def known_actions() -> list[tuple[str, str]]:
    """(code, label) of every action the log holds or may hold, for the filter's choices."""
    stored = set(db.session.scalars(select(AuditEntry.action).distinct()))
    return sorted(((code, action_label(code)) for code in stored | set(ACTION_LABELS)), key=lambda p: p[1])


def export_entries(actor: User, raw_filters: dict, fmt: str, *, now: datetime) -> tuple[str, bytes, str]:
    """(file name, content, mimetype) of the filtered log, readable as the page shows it; the export is audited."""
    require(actor, "audit.view")
    if fmt not in FORMATS:
        raise InvalidInput({"format": [_l("Choose XLSX or CSV.")]})
    filters = clean_filters(raw_filters)
    stmt = entries_query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if total > MAX_EXPORT:
        raise InvalidInput({"filters": [_l("%(n)s rows match; an export holds at most %(max)s. Narrow the filters.",
                                           n=total, max=MAX_EXPORT)]})
    headers = [_("Time (Beijing)"), _("Who"), _("Action"), _("Object"), _("Object id"), _("Summary"),
               _("Before → after"), "IP"]

    def rows():
        for entry in db.session.scalars(stmt):
            changes = "\n".join(f"{d['label']}：{d['before'] or ''} → {d['after'] or ''}" for d in diff(entry))
            yield [local(entry.at), entry.actor.display_name if entry.actor else _("system"),
                   action_label(entry.action), object_label(entry.object_type), entry.object_id or "",
                   entry.summary, changes, entry.ip or ""]

    content = write_xlsx(headers, rows(), sheet_title=_("Audit log")) if fmt == "xlsx" else write_csv(headers, rows())
    audit.record_read(actor, "export", "audit_log", None, summary=f"audit.{fmt} ({total})",
                      after={"filters": {k: str(v) for k, v in filters.items()}, "rows": total, "format": fmt})
    return f"audit-{now.astimezone(TZ):%Y%m%d-%H%M}.{fmt}", content, FORMATS[fmt]
