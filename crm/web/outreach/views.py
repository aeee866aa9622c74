"""Holiday-outreach pages: campaigns and their creation, holiday settings, "my greetings" cards (htmx marking),
progress by county and staff, a print view and the XLSX export."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import holidays
from crm.extensions import db
from crm.models import ItemStatus
from crm.services import counties, industries, outreach, saved_searches
from crm.services.errors import Conflict, InvalidInput
from crm.services.permissions import can
from crm.spreadsheets.writing import write_xlsx
from crm.web.forms import choices, populate_errors
from crm.web.leads.labels import STATUS_LABELS as LEAD_STATUS_LABELS
from crm.web.outreach.forms import CampaignForm, MarkForm, SettingForm

bp = Blueprint("outreach", __name__, url_prefix="/outreach")
MARKS = [s.value for s in ItemStatus if s != ItemStatus.PENDING]


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_context_processor
def _labels():
    return {"holiday_label": outreach.holiday_label, "outreach_status": outreach.status_label,
            "outreach_kind": outreach.kind_label, "outreach_title": outreach.campaign_title,
            "outreach_lead_url": _lead_url}


def _lead_url(lead_id: int) -> str | None:
    return url_for("leads.detail", lead_id=lead_id) if "leads.detail" in current_app.view_functions else None


def _now() -> datetime:
    return datetime.now(UTC)


def _campaign_form() -> CampaignForm:
    form = CampaignForm()
    form.holiday_key.choices = choices([(k, outreach.holiday_label(k)) for k in holidays.HOLIDAY_KEYS])
    form.kinds.choices = choices([(k, outreach.kind_label(k)) for k in outreach.KINDS])
    form.statuses.choices = choices([(s, LEAD_STATUS_LABELS.get(s, s)) for s in outreach.STATUSES])
    form.county_id.choices = choices([(0, _("All counties"))] + [(c.id, c.name) for c in counties.all_counties()])
    form.industry_id.choices = choices([(0, _("All industries"))] + [
        (i.id, i.name) for i in industries.all_industries()])
    form.saved_search_id.choices = choices([(0, _("— none: use the choices above —"))] + [
        (s.id, s.name) for s in saved_searches.visible_searches(current_user)])
    if request.method == "GET":
        today = outreach.today_in_ankang(_now())
        upcoming = holidays.next_occurrence("spring_festival", today)
        form.holiday_key.data, form.year.data = upcoming.key, upcoming.date.year
        form.kinds.data = list(outreach.DEFAULT_KINDS)
    return form


@bp.route("/")
def index():
    today = outreach.today_in_ankang(_now())
    campaigns = list(db.session.scalars(outreach.campaigns_query().limit(50)))
    mine = {c.id: outreach.my_counts(current_user, c.id) for c in campaigns}
    upcoming = sorted(((holidays.next_occurrence(s.key, today), s) for s in outreach.holiday_settings()
                       if s.is_enabled), key=lambda pair: pair[0].date)
    form = _campaign_form() if can(current_user, "outreach.manage") else None
    return render_template("outreach/index.html", campaigns=campaigns, mine=mine, upcoming=upcoming, form=form,
                           today=today)


@bp.route("/campaigns", methods=["POST"])
def create():
    if not can(current_user, "outreach.manage"):
        abort(403)
    form = _campaign_form()
    if form.validate_on_submit():
        filters = {"kinds": form.kinds.data or [], "include_key": form.include_key.data,
                   "county_id": form.county_id.data, "industry_id": form.industry_id.data, "tag": form.tag.data,
                   "statuses": form.statuses.data or []}
        if form.saved_search_id.data:  # the search's results are the targets, instead of the choices above
            filters = {"saved_search_id": form.saved_search_id.data}
        try:
            campaign = outreach.create_campaign(current_user, form.holiday_key.data, form.year.data, filters,
                                                now=_now())
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Campaign ready: %(title)s.", title=outreach.campaign_title(campaign)), "success")
            return redirect(url_for("outreach.progress", campaign_id=campaign.id))
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "danger")
    return redirect(url_for("outreach.index"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    if not can(current_user, "outreach.configure"):
        abort(403)
    forms = {}
    for setting in outreach.holiday_settings():
        form = SettingForm(prefix=setting.key, obj=setting if request.form.get("key") != setting.key else None)
        forms[setting.key] = form
        if request.method == "POST" and request.form.get("key") == setting.key and form.validate_on_submit():
            try:
                outreach.update_holiday_setting(current_user, setting.key, {
                    "is_enabled": form.is_enabled.data, "days_before": form.days_before.data,
                    "template": form.template.data}, now=_now())
            except InvalidInput as error:
                populate_errors(form, error)
            else:
                flash(_("Saved: %(holiday)s.", holiday=outreach.holiday_label(setting.key)), "success")
                return redirect(url_for("outreach.settings"))
    year = outreach.today_in_ankang(_now()).year
    dates = {h.key: h.date for h in holidays.holidays_for_year(year)}
    return render_template("outreach/settings.html", forms=forms, dates=dates, year=year,
                           default_template=str(outreach.DEFAULT_TEMPLATE))


@bp.route("/campaigns/<int:campaign_id>/mine")
def mine(campaign_id: int):
    campaign = outreach.get_campaign(current_user, campaign_id)
    status = request.args.get("status") if request.args.get("status") in outreach.STATUS_LABELS else None
    cards = outreach.cards_for(current_user, outreach.items_query(current_user, campaign.id, mine=True,
                                                                   status=status), now=_now())
    return render_template("outreach/mine.html", campaign=campaign, cards=cards, status=status,
                           counts=outreach.my_counts(current_user, campaign.id), marks=MARKS, form=MarkForm())


def _card_response(item, message: str | None = None, category: str = "success"):
    """The card again, and the page's counters beside it (hx-swap-oob), so 2/4 done follows without a reload."""
    card = outreach.item_card(current_user, item.id, now=_now())
    card_html = render_template("outreach/_card.html", card=card, marks=MARKS, message=message, category=category,
                                form=MarkForm())
    counts_html = render_template("outreach/_counts.html", campaign=item.campaign, oob=True,
                                  counts=outreach.my_counts(current_user, item.campaign_id), status=_list_status())
    return card_html + counts_html


def _list_status() -> str | None:
    """The status filter of the list the card was marked on (htmx names the page), so it stays highlighted."""
    query = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    status = (query.get("status") or [None])[0]
    return status if status in outreach.STATUS_LABELS else None


def _record(command, item_id: int):
    """Mark or change an item: the card (htmx) or back to the list (a plain form post)."""
    item = outreach.get_item(current_user, item_id)
    message, category = None, "success"
    try:
        command(current_user, item.id, request.form.get("status"), request.form.get("note"), now=_now())
        message = _("Saved: %(status)s.", status=outreach.status_label(request.form.get("status")))
    except (InvalidInput, Conflict) as error:
        db.session.rollback()
        category = "danger"
        message = "; ".join(str(m) for ms in error.errors.values() for m in ms) if isinstance(
            error, InvalidInput) else error.message
    if request.headers.get("HX-Request"):
        return _card_response(item, message, category)
    flash(message, category)
    return redirect(url_for("outreach.mine", campaign_id=item.campaign_id) + f"#item-{item_id}")


@bp.route("/items/<int:item_id>/mark", methods=["POST"])
def mark(item_id: int):
    return _record(outreach.mark_item, item_id)


@bp.route("/items/<int:item_id>/change", methods=["POST"])
def change(item_id: int):
    return _record(outreach.change_item, item_id)


@bp.route("/campaigns/<int:campaign_id>/refresh", methods=["POST"])
def refresh(campaign_id: int):
    if not can(current_user, "outreach.manage"):
        abort(403)
    campaign = outreach.get_campaign(current_user, campaign_id)
    try:
        counts = outreach.refresh_campaign(current_user, campaign.id, now=_now())
    except Conflict as error:
        flash(error.message, "danger")
    else:
        flash(_("List updated: %(added)d added, %(removed)d removed, %(kept)d kept.", **counts), "success")
    return redirect(url_for("outreach.progress", campaign_id=campaign.id))


@bp.route("/items/<int:item_id>/followup", methods=["POST"])
def followup(item_id: int):
    try:
        fu = outreach.item_to_followup(current_user, item_id, {"title": request.form.get("title")}, now=_now())
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        item = outreach.get_item(current_user, item_id)
        return redirect(url_for("outreach.mine", campaign_id=item.campaign_id))
    flash(_("Follow-up created; set its details here."), "success")
    return redirect(url_for("followups.edit", followup_id=fu.id)
                    if "followups.edit" in current_app.view_functions else url_for("outreach.index"))


@bp.route("/campaigns/<int:campaign_id>/progress")
def progress(campaign_id: int):
    data = outreach.progress(current_user, campaign_id, county_id=request.args.get("county_id", type=int))
    return render_template("outreach/progress.html", data=data, campaign=data["campaign"],
                           refreshable=outreach.refreshable(data["campaign"], _now()))


def _list_args() -> dict:
    return {"county_id": request.args.get("county_id", type=int), "mine": request.args.get("mine") == "1"}


@bp.route("/campaigns/<int:campaign_id>/print")
def print_view(campaign_id: int):
    campaign = outreach.get_campaign(current_user, campaign_id)
    headers, rows = outreach.export_rows(current_user, campaign.id, now=_now(), **_list_args())
    return render_template("outreach/print.html", campaign=campaign, headers=headers, rows=rows)


@bp.route("/campaigns/<int:campaign_id>/export.xlsx")
def export(campaign_id: int):
    campaign = outreach.get_campaign(current_user, campaign_id)
    headers, rows = outreach.export_rows(current_user, campaign.id, now=_now(), **_list_args())
    body = write_xlsx(headers, rows, sheet_title=outreach.campaign_title(campaign))
    name = f"outreach-{campaign.holiday_key}-{campaign.year}.xlsx"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
