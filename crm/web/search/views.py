"""Search page: results as you type (htmx swaps the results part), facets and the active filters as removable
chips, sort and pages; saved searches (private or shared) and bulk actions on the selected results."""
from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError

from crm.services import bulk, indexing, saved_searches
from crm.services.errors import InvalidInput
from crm.web.forms import choices
from crm.web.redirects import safe_path
from crm.web.search.forms import BULK_LABELS, BulkForm, SaveSearchForm, bulk_form

bp = Blueprint("search", __name__, url_prefix="/search")

PER_PAGE = 20
FILTER_ARGS = ("industry_id", "county_id", "kind", "status", "is_key", "type")
SORT_LABELS = {"relevance": _l("Relevance"), "last_contact": _l("Last contact"), "name": _l("Name")}
EXAMPLES = ["富硒茶", "生物医药", "zsb", "恩施 硒源", "医药 OR 建材", "张*", '"新型建材"', "医药 -中药"]
DETAIL_ENDPOINTS = {"lead": ("leads.detail", "lead_id"), "project": ("projects.detail", "project_id")}


class Pages:
    """Just what _partials/pagination.html reads from a Flask-SQLAlchemy Pagination."""

    def __init__(self, page: int, per_page: int, total: int):
        self.page, self.per_page, self.total = page, per_page, total
        self.pages = max(1, math.ceil(min(total, 10_000) / per_page))
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num, self.next_num = (page - 1 if self.has_prev else None), (page + 1 if self.has_next else None)

    def iter_pages(self, left_edge=1, left_current=2, right_current=2, right_edge=1):
        last = 0
        for n in range(1, self.pages + 1):
            if n <= left_edge or self.page - left_current <= n <= self.page + right_current \
                    or n > self.pages - right_edge:
                if last + 1 != n:
                    yield None
                yield n
                last = n


def _filters() -> dict:
    out = {k: request.args.get(k) or None for k in FILTER_ARGS}
    out["is_key"] = {"1": True, "0": False}.get(request.args.get("is_key") or "")
    return out


@bp.route("/")
@login_required
def index():
    q = (request.args.get("q") or "")[:256]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    sort = request.args.get("sort") or "relevance"
    filters = _filters()
    searched = bool(q.strip()) or any(v is not None for v in filters.values())
    result = indexing.search_leads(current_user, q, filters, sort, page, PER_PAGE) if searched else None
    pages = Pages(result["page"], result["per_page"], result["total"]) if result else None
    template = "search/_results.html" if request.headers.get("HX-Request") else "search/index.html"
    query = request.query_string.decode("utf-8", "replace")[:2000]
    extra = {}
    if searched:
        extra = {"active": saved_searches.describe(filters), "save_form": _save_form(query),
                 "bulk_form": bulk_form(query)}
    return render_template(template, q=q, result=result, page=pages, filters=filters, sort=sort,
                           searched=searched, examples=EXAMPLES, sort_labels=SORT_LABELS,
                           saved=saved_searches.visible_searches(current_user), **extra)


def _now() -> datetime:
    return datetime.now(UTC)


def _save_form(query: str = "") -> SaveSearchForm:
    form = SaveSearchForm(query=query) if request.method == "GET" else SaveSearchForm()
    form.scope.choices = choices(saved_searches.scope_choices(current_user))
    return form


def _query_args(query: str) -> dict:
    return {k: v for k, v in parse_qsl(query or "") if k in (*FILTER_ARGS, "q", "sort") and v}


@bp.route("/saved", methods=["POST"])
@login_required
def saved_create():
    form = _save_form()
    args = _query_args(form.query.data)
    if form.validate_on_submit():
        try:
            saved = saved_searches.save_search(current_user, form.name.data, args, form.scope.data, now=_now())
        except InvalidInput as error:
            for messages in error.errors.values():
                for message in messages:
                    flash(str(message), "danger")
        else:
            flash(_("Search saved: %(name)s.", name=saved.name), "success")
    else:
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}: {message}", "danger")
    return redirect(url_for("search.index", **args))


@bp.route("/saved/<int:saved_search_id>")
@login_required
def saved_open(saved_search_id: int):
    saved = saved_searches.get_search(current_user, saved_search_id)
    return redirect(url_for("search.index", **saved_searches.url_args(saved.query)))


@bp.route("/saved/<int:saved_search_id>/delete", methods=["POST"])
@login_required
def saved_delete(saved_search_id: int):
    if FlaskForm().validate_on_submit():  # the CSRF token only
        saved_searches.delete_search(current_user, saved_search_id, now=_now())
        flash(_("Saved search deleted."), "success")
    return redirect(url_for("search.index"))


@bp.route("/bulk", methods=["POST"])
@login_required
def bulk_action():
    form = bulk_form()
    args = _query_args(form.query.data)
    back = safe_path(form.next.data, url_for("search.index", **args))
    if not form.validate_on_submit():
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}: {message}", "danger")
        return redirect(back)
    now = _now()
    try:
        ids = _selected_ids(form, args)
        action = form.action.data
        if action == "export":
            name, content, mimetype = bulk.export_selection(current_user, ids, form.fmt.data or "xlsx", now=now)
            return Response(content, mimetype=mimetype,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        if action == "owner":
            outcome = bulk.assign_owner(current_user, ids, form.owner_id.data, now=now)
        elif action == "tag":
            outcome = bulk.add_tag(current_user, ids, form.tag.data, now=now)
        elif action == "outreach":
            outcome = bulk.add_to_campaign(current_user, ids, form.campaign_id.data, now=now)
        else:
            outcome = bulk.add_to_event(current_user, ids, form.event_id.data, now=now)
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(back)
    return render_template("search/bulk_result.html", outcome=outcome, label=BULK_LABELS[action], back=back)


def _selected_ids(form: BulkForm, args: dict) -> list[int]:
    """The ticked rows, or with "all results" every lead the search finds for this reader (up to the cap)."""
    if form.all_results.data:
        query = saved_searches.clean_query(args)
        ids, total = saved_searches.result_lead_ids(current_user, query, limit=bulk.MAX_LEADS + 1)
        if len(ids) > bulk.MAX_LEADS:  # never act on a silent part of the results
            raise InvalidInput({"lead_ids": [_("%(n)d results: a bulk action takes at most %(max)d leads. Narrow "
                                               "the search.", n=total, max=bulk.MAX_LEADS)]})
        return ids
    return bulk.clean_ids(request.form.getlist("lead_ids"))


@bp.app_context_processor
def _helpers():
    def search_url(**changes) -> str:
        args = {k: v for k, v in request.args.items() if k in (*FILTER_ARGS, "q", "sort") and v}
        for key, value in changes.items():
            if value is None or value == "":
                args.pop(key, None)
            else:
                args[key] = value
        args.pop("page", None)
        return url_for("search.index", **args)

    def result_url(item: dict) -> str | None:
        endpoint, arg = DETAIL_ENDPOINTS.get(item.get("type"), (None, None))
        if endpoint is None:
            return None
        try:
            return url_for(endpoint, **{arg: item["id"]})
        except BuildError:
            return None

    return {"search_url": search_url, "result_url": result_url}
