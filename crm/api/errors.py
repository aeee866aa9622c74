"""problem+json (RFC 9457) for every API error, so clients see a status, a title and field errors."""
from __future__ import annotations

from decimal import Decimal

from flask import Response, json
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from crm.services.errors import DomainError, InvalidInput


def problem(status: int, detail: str = "", *, errors: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "status": status, "title": HTTP_STATUS_CODES.get(status, "Error"),
            "detail": detail or HTTP_STATUS_CODES.get(status, "")}
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
    return response


def _webargs_errors(messages) -> dict:
    """webargs nests errors by location (json/query/form); flatten to field → [messages]."""
    flat: dict[str, list[str]] = {}
    for _location, fields in (messages or {}).items():
        if not isinstance(fields, dict):
            flat.setdefault("_schema", []).append(str(fields))
            continue
        for field, msgs in fields.items():
            if isinstance(msgs, dict):
                msgs = [f"{k}: {v}" for k, v in msgs.items()]
            elif not isinstance(msgs, list):
                msgs = [msgs]
            flat.setdefault(str(field), []).extend(str(m) for m in msgs)
    return flat


def problem_for_http(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if status == 422 and "messages" in data:
        return problem(422, "The request did not validate.", errors=_webargs_errors(data["messages"]))
    detail = data.get("message") or (error.description if status < 500 else "")
    return problem(status, str(detail or ""))


def problem_for_domain(error: DomainError) -> Response:
    # Money is a number in the API (API.md), also in an error's extra members.
    extra = {key: float(value) if isinstance(value, Decimal) else value for key, value in error.extra.items()}
    if isinstance(error, InvalidInput):
        return problem(422, "The request did not validate.", errors=error.errors, **extra)
    return problem(error.status, error.message, **extra)
