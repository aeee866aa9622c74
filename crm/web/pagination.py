"""Paging a select() for HTML lists, with the page and size read from the query string."""
from __future__ import annotations

from flask import request

from crm.extensions import db


def paginate(stmt, *, per_page: int = 25, max_per_page: int = 200):
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    size = min(max(request.args.get("per_page", per_page, type=int) or per_page, 1), max_per_page)
    return db.paginate(stmt, page=page, per_page=size, error_out=False)
