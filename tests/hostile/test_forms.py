"""Hostile input thrown at every HTML page and form the url_map has (found by walking it, so new features are
included without edits): never a 500, never markup echoed unescaped; at the end every page is read back to show
that what was stored is escaped on output."""
from __future__ import annotations

import itertools
import os
import re
import tempfile

import pytest

from tests.hostile import payloads
from tests.hostile.forms import Form, forms_on
from tests.hostile.known_defects import cases
from tests.hostile.world import SKIP_ENDPOINTS, routes, signed_in_client

# Query parameters tried on every page, besides those of the page's own GET forms.
GENERIC_QUERY = ["q", "page", "per_page", "sort", "status", "county_id", "next"]
# POST endpoints whose form is not on any page the walk reaches: their field names, declared here.
FIELDS: dict[str, list[str]] = {
    "auth.logout": [],
    "auth.set_language": ["next"],
    "followups.bulk": ["action", "ids", "assignee_id", "due_at"],
}
GENERIC_FIELDS = ["name", "title", "note", "outcome", "comment", "reason"]
# Who throws: the admin on admin pages, elsewhere the county user (the county-side forms, e.g. completing a
# follow-up assigned to them); both read every page back at the end.
WALKERS = ["admin", "county_staff"]
_ips = (f"10.66.{i // 250}.{i % 250 + 1}" for i in itertools.count())


def _html_routes():
    from crm import create_app
    from tests.conftest import base_config

    instance = tempfile.mkdtemp(prefix="crm-urlmap-")
    app = create_app(base_config(f"sqlite:///{os.path.join(instance, 'unused.sqlite3')}", instance))
    return [r for r in routes(app) if not r.is_api and r.endpoint not in SKIP_ENDPOINTS]


HTML_ROUTES = _html_routes()
GET_ROUTES = [r for r in HTML_ROUTES if "GET" in r.methods]
POST_ROUTES = [r for r in HTML_ROUTES if "POST" in r.methods]


def _walker(route) -> str:
    return "admin" if route.rule.startswith("/admin") else "county_staff"


def _describe(values: dict) -> str:
    """Which payload went where, short enough to read in a failure list."""
    names = {v: k for k, v in payloads.all_payloads()}
    return ", ".join(f"{k}={names.get(v, '?')}" for k, v in values.items())


def _client(app, world, role):
    return signed_in_client(app, world, role, ip=next(_ips))


def _check(response, request_desc: str, failures: list[str], app=None) -> None:
    if response.status_code >= 500:
        error = app.walk_errors[-1] if app is not None and app.walk_errors else ""
        failures.append(f"{response.status_code} from {request_desc}: {error}")
    elif response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        found = payloads.unescaped_markup(page)
        if found:
            failures.append(f"unescaped {found[0]!r} in the response to {request_desc}")
        # JSON meets HTML only in application/json blocks written with tojson (no raw "<" can close them), and
        # no page runs inline script (CSP script-src 'self' would block it anyway).
        for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S):
            if 'type="application/json"' in attrs and "<" in body:
                failures.append(f"a '<' inside a JSON block in the response to {request_desc}")
            elif "src=" not in attrs and 'type="application/json"' not in attrs:
                failures.append(f"an inline script in the response to {request_desc}")


@pytest.fixture(scope="module")
def form_catalog(walk_app, world) -> dict[str, Form]:
    """rule → the union of the forms posting to it, from every page the walkers can open."""
    adapter = walk_app.url_map.bind("localhost")
    found: dict[str, Form] = {}
    for role in WALKERS:
        client = _client(walk_app, world, role)
        for route in GET_ROUTES:
            url = route.url(world)
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            for form in forms_on(url, response.get_data(as_text=True)):
                try:
                    rule, _args = adapter.match(form.action.split("?")[0], method=form.method.upper(),
                                                return_rule=True)
                except Exception:  # a link to another site, or a GET-only action
                    continue
                key = f"{form.method.upper()} {rule.rule}"
                known = found.setdefault(key, Form(form.action, form.method))
                for name, f in form.fields.items():
                    known.fields.setdefault(name, f)
    return found


@pytest.mark.parametrize("route", cases(GET_ROUTES, lambda r: f"GET {r.rule}"), ids=lambda r: r.rule)
def test_hostile_query_on_page_is_never_an_error_nor_echoed_raw(walk_app, world, form_catalog, route):
    own = form_catalog.get(f"GET {route.rule}")
    params = sorted(set(GENERIC_QUERY) | set(own.attackable() if own else []))
    url = route.url(world)
    role = _walker(route)
    client = _client(walk_app, world, role)
    failures: list[str] = []
    # Only a page with a filter form (a list, a search) reads many parameters: it gets the latin square; any
    # other page three tries.
    if not own:
        attempts = [("xss-combo", {p: payloads.TEXT["xss-combo"] for p in params}),
                    ("huge-number", {p: payloads.TEXT["huge-number"] for p in params}),
                    ("invalid-utf8", {p: payloads.BYTES["invalid-utf8"] for p in params})]
    else:
        attempts = [(f"latin square #{k}", query) for k, query in enumerate(payloads.latin_square(params))]
    for label, query in attempts:
        response = client.get(f"{url}?{payloads.encode_form(query).decode()}")
        _check(response, f"GET {url} ({label}: {_describe(query)}) as {role}", failures, walk_app)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", cases(POST_ROUTES, lambda r: f"POST {r.rule}"), ids=lambda r: r.rule)
def test_hostile_form_post_is_never_an_error_nor_echoed_raw(walk_app, world, form_catalog, route):
    form = form_catalog.get(f"POST {route.rule}")
    if form is not None:
        fields, baseline = form.attackable(), form.baseline()
        text_fields = [n for n in fields if form.fields[n].kind in ("text", "textarea", "search", "email", "tel", "")]
    else:
        fields = text_fields = FIELDS.get(route.endpoint, GENERIC_FIELDS)
        baseline = {name: f"h{i}x" for i, name in enumerate(fields)}
    url = route.url(world)
    role = _walker(route)
    client = _client(walk_app, world, role)
    failures: list[str] = []

    def post(body: bytes, label: str):
        response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
        _check(response, f"POST {url} ({label}) as {role}", failures, walk_app)

    if fields:
        for k, hostile in enumerate(payloads.latin_square(fields)):  # every field meets every payload
            post(payloads.encode_form(baseline | hostile), f"latin square #{k}: {_describe(hostile)}")
        # One text field at a time, the rest plausible, so the value gets past the form into the service and
        # the database — where PostgreSQL refuses what SQLite stores.
        for name in text_fields:
            for pid in payloads.STORED:
                post(payloads.encode_form(baseline | {name: payloads.TEXT[pid]}), f"{name}={pid}")
        post(payloads.encode_form(baseline | {n: payloads.BYTES["invalid-utf8"] for n in fields}),
             "all fields invalid UTF-8")
    post(b"\xff\xfe\x00<script>=%ZZ&&=", "undecodable body")
    assert not failures, "\n".join(failures)


def test_static_files_refuse_path_traversal(walk_app):
    client = walk_app.test_client()
    for path in ("../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/crm/config.py", "..\\..\\boot.ini",
                 "css/%00app.css", "css/app.css%ff"):
        response = client.get(f"/static/{path}")
        assert response.status_code in (400, 404), (path, response.status_code)
        assert b"root:" not in response.data and b"SECRET_KEY" not in response.data


def test_every_page_escapes_what_the_hostile_posts_stored(walk_app, world):
    """Runs after the posts above (same module, same database): whatever they stored is read back on every
    page, by every walker, and must come out escaped."""
    failures: list[str] = []
    for role in WALKERS:
        client = _client(walk_app, world, role)
        for route in GET_ROUTES:
            url = route.url(world)
            _check(client.get(url), f"GET {url} as {role} (after the hostile posts)", failures, walk_app)
    assert not failures, "\n".join(failures)
