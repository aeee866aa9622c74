"""Lead pages: list with filters, detail with timeline, create/edit, delete/restore, reveal, typeahead lookup."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.models import Lead
from crm.services import conflicts, interactions, lead_lifecycle, leads, versions
from crm.services.counties import all_counties
from crm.services.duplicates import DuplicateLead, ProbeLimited
from crm.services.errors import Conflict, EditConflict, InvalidInput
from crm.services.industries import industry_tree
from crm.services.permissions import can
from crm.web.forms import choices, create_once, edit_conflict, populate_errors
from crm.web.leads import labels
from crm.web.leads.forms import CONTACT_ROWS, LeadForm, MergeForm
from crm.web.pagination import paginate
from crm.web.search.forms import bulk_form

bp = Blueprint("leads", __name__, url_prefix="/leads")
FILTERS = ("kind", "industry_id", "county_id", "status", "owner_id", "is_key", "silent_days", "q", "sort")


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_context_processor
def _labels():
    return {"lead_labels": labels, "llabel": labels.label, "endpoints": current_app.view_functions,
            "county_names": _county_names, "lead_restore_days": lead_lifecycle.restore_days,
            "lead_restorable_until": lead_lifecycle.restorable_until}


def _county_names() -> dict:
    return {c.id: c.name for c in all_counties()}


def _now() -> datetime:
    return datetime.now(UTC)


def _filters() -> dict:
    args = request.args
    return {"kind": args.get("kind") or None, "industry_id": args.get("industry_id", type=int),
            "county_id": args.get("county_id", type=int), "status": args.get("status") or None,
            "owner_id": args.get("owner_id", type=int), "is_key": True if args.get("is_key") else None,
            "silent_days": min(args.get("silent_days", type=int) or 0, 3650) or None,
            "q": (args.get("q") or "")[:100] or None, "sort": args.get("sort") or "updated"}


def _industry_choices(blank: str) -> list:
    rows = [(0, blank)]
    for top, children in industry_tree():
        rows.append((top.id, top.name))
        rows += [(c.id, f"— {c.name}") for c in children]
    return rows


@bp.route("")
def index():
    filters = _filters()
    page = paginate(leads.leads_query(now=_now(), **filters))
    form = bulk_form(next_url=request.full_path)
    owners = leads.owner_choices(current_user) if current_user.county_id else []
    return render_template("leads/index.html", page=page, filters=filters, counties=all_counties(),
                           industries=_industry_choices(_("All industries")), owners=owners,
                           bulk_form=form if form.action.choices and page.items else None,
                           active=_active_filters(filters))


def _active_filters(filters: dict) -> list[dict]:
    """The list's active filters as removable chips: {title, value, url} (the url drops just that filter)."""
    from crm.services import saved_searches, users
    from crm.services.errors import NotFound

    chips = [dict(chip) for chip in saved_searches.describe(
        {k: filters.get(k) for k in ("industry_id", "county_id", "kind", "status", "is_key")})]
    if filters.get("q"):
        chips.insert(0, {"key": "q", "title": _("Name or pinyin"), "value": filters["q"]})
    if filters.get("owner_id"):
        try:
            owner = users.get_user(filters["owner_id"])
        except NotFound:
            owner = None
        chips.append({"key": "owner_id", "title": _("Owner"), "value": owner.display_name if owner else "—"})
    if filters.get("silent_days"):
        chips.append({"key": "silent_days", "title": _("Silent"),
                      "value": _("%(n)d days or more", n=filters["silent_days"])})
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    for chip in chips:
        chip["url"] = url_for("leads.index", **{k: v for k, v in args.items() if k != chip["key"]})
    return chips


@bp.route("/deleted")
def deleted():
    """最近删除: what the user may still restore, with the day it can be restored until."""
    if not can(current_user, "lead.view_deleted"):
        abort(403)
    return render_template("leads/deleted.html", now=_now(),
                           page=paginate(lead_lifecycle.recently_deleted_query(current_user, now=_now())))


@bp.route("/lookup")
def lookup():
    """Typeahead JSON for the visit form: [{id, name, county, kind}]."""
    found = leads.lookup(request.args.get("q", "")[:100])
    return jsonify([{"id": x.id, "name": x.name, "county": x.owner_county.name,
                     "kind": labels.label(labels.KIND_LABELS, x.kind)} for x in found])


@bp.route("/<int:lead_id>")
def detail(lead_id: int):
    lead = leads.get_lead(current_user, lead_id, include_deleted=True)
    masked = leads.contacts_masked(current_user, lead)
    return render_template("leads/detail.html", lead=lead, masked=masked, now=_now(),
                           contacts=[leads.contact_values(c, masked=masked) for c in lead.contacts],
                           timeline=interactions.timeline(lead.id, actor=current_user), merge_form=MergeForm(),
                           conflicts=conflicts.conflicts_for_lead(lead.id))


@bp.route("/<int:lead_id>/reveal", methods=["POST"])
def reveal(lead_id: int):
    contacts = leads.reveal_contacts(current_user, lead_id, now=_now())
    return render_template("leads/_contacts.html", contacts=contacts, masked=False, lead_id=lead_id)


def _fill_choices(form: LeadForm, lead: Lead | None) -> None:
    form.industry_id.choices = choices(_industry_choices("—"))
    counties = all_counties(active_only=True)
    if current_user.is_city_level:
        form.owner_county_id.choices = choices([(c.id, c.name) for c in counties])
    else:
        own = lead.owner_county if lead else current_user.county
        form.owner_county_id.choices = choices([(own.id, own.name)] if own else [])
    form.home_county_id.choices = choices([(0, "—")] + [(c.id, c.name) for c in counties])
    county_id = form.owner_county_id.data or (lead.owner_county_id if lead else current_user.county_id)
    form.owner_id.choices = choices([(0, "—")] + [(u.id, u.display_name)
                                                  for u in leads.owner_choices(current_user, county_id)])
    referrer = leads.pickable_lead(current_user, form.referrer_id.data)
    form.referrer_id.choices = choices([(0, "—")] + ([(referrer.id, referrer.name)] if referrer else []))


def _form_data(form: LeadForm) -> dict:
    data = {k: getattr(form, k).data for k in ("name", "kind", "uscc", "industry_id", "status", "owner_county_id",
                                                "owner_id", "origin_region", "home_county_id", "source_channel",
                                                "referrer_id", "is_key", "tags", "notes")}
    data["contacts"] = [{k: v for k, v in row.data.items()} for row in form.contacts
                        if any((row.data.get(k) or "") for k in ("name", "mobile", "phone", "email", "wechat"))]
    return data


def _apply_errors(form: LeadForm, error: InvalidInput, data: dict) -> None:
    """Service errors keyed contacts.<i>.<field> index the non-empty rows; map them back onto the form rows."""
    rows = [row for row in form.contacts
            if any((row.data.get(k) or "") for k in ("name", "mobile", "phone", "email", "wechat"))]
    rest = {}
    for key, messages in error.errors.items():
        parts = key.split(".")
        if parts[0] == "contacts" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            field = getattr(rows[int(parts[1])].form, parts[2], None)
            if field is not None:
                field.errors = list(field.errors) + [str(m) for m in messages]
                continue
        rest[key] = messages
    populate_errors(form, InvalidInput(rest))


def _save(form: LeadForm, lead: Lead | None):
    """Validate and save; returns (lead, duplicates) — lead None when the form must be shown again."""
    data = _form_data(form)
    try:
        if lead is None:
            created, _replayed = create_once(form, Lead, lambda: leads.create_lead(current_user, data, now=_now(),
                                                                                   force=form.force.data))
            return created, None
        return leads.update_lead(current_user, lead.id, data, now=_now(), force=form.force.data,
                                 expected_version=versions.parse(form.version.data)), None
    except DuplicateLead as dup:
        flash(dup.message, "warning")
        return None, dup
    except ProbeLimited as limited:
        flash(limited.message, "danger")
        return None, None
    except InvalidInput as error:
        _apply_errors(form, error, data)
        return None, None


@bp.route("/new", methods=["GET", "POST"])
def create():
    if not can(current_user, "lead.create"):
        abort(403)
    form = LeadForm()
    if request.method == "GET":
        form.owner_county_id.data = current_user.county_id
        form.owner_id.data = current_user.id
    _fill_choices(form, None)
    duplicate = None
    if form.validate_on_submit():
        lead, duplicate = _save(form, None)
        if lead is not None:
            flash(_("Lead saved."), "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("leads/form.html", form=form, lead=None, duplicate=duplicate)


@bp.route("/<int:lead_id>/edit", methods=["GET", "POST"])
def edit(lead_id: int):
    lead = leads.get_lead(current_user, lead_id)
    if not can(current_user, "lead.edit", lead):
        abort(403)
    form = LeadForm(obj=lead)
    if request.method == "GET":
        _prefill(form, lead)
    _fill_choices(form, lead)
    duplicate = conflict = None
    if form.validate_on_submit():
        try:
            saved, duplicate = _save(form, lead)
        except EditConflict as error:
            conflict = edit_conflict(form, error, _saved_form(lead), ignore=("force",))
        else:
            if saved is not None:
                flash(_("Lead saved."), "success")
                return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("leads/form.html", form=form, lead=lead, duplicate=duplicate,
                           conflict=conflict), 409 if conflict else 200


def _prefill(form: LeadForm, lead: Lead) -> None:
    form.tags.data = ", ".join(lead.tags)
    form.industry_id.data, form.home_county_id.data = lead.industry_id or 0, lead.home_county_id or 0
    form.owner_id.data, form.referrer_id.data = lead.owner_id or 0, lead.referrer_id or 0
    form.source_channel.data = lead.source_channel or ""
    while len(form.contacts) < len(lead.contacts) + 1 or len(form.contacts) < CONTACT_ROWS:
        form.contacts.append_entry()


def _saved_form(lead: Lead) -> LeadForm:
    """The edit form as it would open now, to show what the record holds beside the user's input."""
    form = LeadForm(formdata=None, obj=lead)
    _prefill(form, lead)
    _fill_choices(form, lead)
    return form


@bp.route("/<int:lead_id>/delete", methods=["POST"])
def delete(lead_id: int):
    leads.delete_lead(current_user, lead_id, now=_now())
    flash(_("Lead deleted; its open follow-ups were cancelled. It can be restored from Recently deleted within "
            "%(n)d days.", n=lead_lifecycle.restore_days()), "success")
    return redirect(url_for("leads.index"))


@bp.route("/<int:lead_id>/restore", methods=["POST"])
def restore(lead_id: int):
    try:
        leads.restore_lead(current_user, lead_id, now=_now())
    except Conflict as refused:
        flash(refused.message, "danger")
        return redirect(url_for("leads.deleted"))
    flash(_("Lead restored; the follow-ups its delete cancelled are open again."), "success")
    return redirect(url_for("leads.detail", lead_id=lead_id))
