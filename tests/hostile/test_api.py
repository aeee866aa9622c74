"""Hostile input thrown at every /api/v1 operation the url_map has, shaped by its OpenAPI description (query
parameters and JSON body properties): never a 5xx; bodies that are not UTF-8 JSON are 400/422; tokens that are
not tokens are 401."""
from __future__ import annotations

import json
import os
import re
import tempfile

import pytest

from tests.hostile import payloads
from tests.hostile.known_defects import cases
from tests.hostile.world import NOW, SKIP_ENDPOINTS, routes, token_client

PLACEHOLDER = "\u0000PAYLOAD\u0000"


def _api_operations():
    from crm import create_app
    from tests.conftest import base_config

    instance = tempfile.mkdtemp(prefix="crm-urlmap-")
    app = create_app(base_config(f"sqlite:///{os.path.join(instance, 'unused.sqlite3')}", instance))
    return [(r, m) for r in routes(app) if r.is_api and r.endpoint not in SKIP_ENDPOINTS
            for m in r.methods if not r.rule.endswith("openapi.json")]


OPERATIONS = _api_operations()


@pytest.fixture(scope="module")
def spec(walk_app):
    return walk_app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture(scope="module")
def admin_api(walk_app, world):
    return token_client(walk_app, world, "admin")


def _operation(spec, rule: str, method: str) -> dict:
    path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)
    assert path in spec["paths"], f"{rule} is served but missing from /api/v1/openapi.json"
    return spec["paths"][path][method.lower()]


def _resolve(spec, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_schema(spec, op: dict) -> dict | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return _resolve(spec, content["schema"]) if content else None


def _plausible(spec, name: str, schema: dict, world):
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return world.ids.get(name) or world.users.get(name.removesuffix("_id"), 1) if name.endswith("_id") else 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {k: _plausible(spec, k, v, world) for k, v in schema.get("properties", {}).items()}
    if schema.get("format") == "date-time":
        return NOW.isoformat()
    if schema.get("format") == "date":
        return "2027-03-20"
    if schema.get("format") == "email" or name == "email":
        return "h@example.com"
    return f"h{name}x"


def _send(client, method: str, url: str, body: bytes | None, content_type="application/json"):
    return client.open(url, method=method, data=body, content_type=content_type if body is not None else None)


def _check(response, desc: str, failures: list[str], app) -> None:
    if response.status_code >= 500:
        error = app.walk_errors[-1] if app.walk_errors else ""
        failures.append(f"{response.status_code} from {desc}: {error}")


def _json_with(base: dict, hostile: dict) -> bytes:
    """JSON text with each hostile value in place; bytes values are spliced in raw (the body is then not UTF-8)."""
    spliced, raws = dict(base), {}
    for i, (name, value) in enumerate(hostile.items()):
        if isinstance(value, bytes):
            spliced[name] = f"{PLACEHOLDER}{i}"
            raws[json.dumps(f"{PLACEHOLDER}{i}")] = b'"' + value + b'"'
        else:
            spliced[name] = value
    text = json.dumps(spliced, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for marker, raw in raws.items():
        text = text.replace(marker.encode("utf-8"), raw)
    return text


@pytest.mark.parametrize(("route", "method"), cases(OPERATIONS, lambda o: f"{o[1]} {o[0].rule}"), ids=lambda v: v if isinstance(v, str) else v.rule)
def test_hostile_api_input_is_never_a_server_error(walk_app, world, spec, admin_api, route, method):
    op = _operation(spec, route.rule, method)
    url = route.url(world)
    failures: list[str] = []
    query_names = sorted({p["name"] for p in op.get("parameters", []) if p["in"] == "query"})
    if query_names:
        for k, query in enumerate(payloads.latin_square(query_names)):
            response = _send(admin_api, method, f"{url}?{payloads.encode_form(query).decode()}", None)
            _check(response, f"{method} {url} query latin square #{k}", failures, walk_app)
    schema = _body_schema(spec, op)
    if schema is not None:
        props = {k: v for k, v in schema.get("properties", {}).items() if not v.get("readOnly")}
        base = {k: _plausible(spec, k, v, world) for k, v in props.items()}
        names = sorted(props)
        for k, hostile in enumerate(payloads.latin_square(names) if names else []):
            body = _json_with(base, hostile)
            response = _send(admin_api, method, url, body)
            _check(response, f"{method} {url} body latin square #{k}: {body[:200]!r}", failures, walk_app)
            if any(isinstance(v, bytes) for v in hostile.values()) and response.status_code not in (400, 404, 422):
                failures.append(f"{response.status_code} (not 400/422) for a body that is not UTF-8: {method} {url}")
        for name in names:  # one at a time, the rest plausible: into the service and the database
            for pid in [*payloads.STORED, "long-10k"]:  # over-long: PostgreSQL refuses what SQLite stores
                body = json.dumps(base | {name: payloads.TEXT[pid]}, ensure_ascii=False).encode()
                _check(_send(admin_api, method, url, body), f"{method} {url} {name}={pid}", failures, walk_app)
            body = json.dumps(base | {name: "\ud800x"}).encode()  # valid JSON text, a lone surrogate inside
            _check(_send(admin_api, method, url, body), f"{method} {url} {name}=lone surrogate (\\ud800)",
                   failures, walk_app)
    if method in ("POST", "PATCH", "PUT"):
        for label, body, ctype in [
            ("invalid UTF-8", b'{"a": "\xff\xfe\xfd"}', "application/json"),
            ("GBK", '{"name": "张三丰企业"}'.encode("gbk"), "application/json"),
            ("not JSON", b"<script>alert(1)</script>", "application/json"),
            ("a JSON array", b"[1, 2, 3]", "application/json"),
            ("JSON null", b"null", "application/json"),
            ("a huge number", b'{"id": 1e400, "county_id": 99999999999999999999999999}', "application/json"),
            ("form-encoded", b"name=x", "application/x-www-form-urlencoded"),
        ]:
            response = _send(admin_api, method, url, body, ctype)
            _check(response, f"{method} {url} body {label}", failures, walk_app)
            if (schema is not None and label in ("invalid UTF-8", "GBK", "not JSON")
                    and response.status_code not in (400, 404, 422)):
                failures.append(f"{response.status_code} (not 400/422) for a body that is {label}: {method} {url}")
    assert not failures, "\n".join(failures)


def test_deeply_nested_json_body_is_400(walk_app, world, admin_api):
    response = admin_api.post("/api/v1/users", data=b"[" * 5000 + b"]" * 5000, content_type="application/json")
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("header", [
    "Bearer <script>alert(1)</script>", "Bearer " + "a" * 10_000, "Bearer ' OR 1=1 --", "Bearer \x00\x01",
    "Bearer ÿþý", "Basic YWRtaW46YW5LYW5nLTIwMjc=", "Bearer", "bearer  ", "Token abc", "Bearer crm_" + "x" * 43,
], ids=lambda h: h[:20])
def test_hostile_authorization_header_is_401(walk_app, header):
    response = walk_app.test_client().get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
