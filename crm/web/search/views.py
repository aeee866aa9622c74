"""Search page: results as you type (htmx swaps the results part), facets as chips, sort and pages."""
from __future__ import annotations

import math

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from crm.services import indexing

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
    return render_template(template, q=q, result=result, page=pages, filters=filters, sort=sort,
                           searched=searched, examples=EXAMPLES, sort_labels=SORT_LABELS)


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
