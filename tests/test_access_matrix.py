"""The access-control matrix over every endpoint of the url_map, HTML and API: for each role (and a county user
of another county than the objects' one), and for the anonymous visitor / a caller without a token, exactly the
allowed ones get through. Every endpoint must be declared in ACCESS: a new feature's endpoints fail
test_every_endpoint_declares_its_access until they are added, with the roles that may use them."""
from __future__ import annotations

import os
import tempfile

import pytest

from tests.hostile.known_defects import cases
from tests.hostile.world import (
    MISSING_ID,
    SKIP_ENDPOINTS,
    build_world,
    module_app,
    routes,
    signed_in_client,
    token_client,
)

# Who: the four roles, plus "other_county" — a county user of 紫阳县 facing objects of 汉滨区 (the world's county;
# "county_staff" is the follow-up's assignee there) — and "department", the contact of 市自然资源局 (the department the
# world's problem is routed to): one guard (crm.web.department_guard) refuses them every endpoint not meant for them.
ADMIN = frozenset({"admin"})
CITY = frozenset({"admin", "city_staff"})
STAFF = frozenset({"admin", "city_staff", "county_staff", "other_county"})
OWN_COUNTY = frozenset({"admin", "city_staff", "county_staff"})
SIGNED_IN = STAFF | {"viewer"}
READERS_OWN_COUNTY = SIGNED_IN - {"other_county"}
VERIFIER = frozenset({"city_staff"})  # 认定: the world's city staff member has can_verify; the admin has not
PUBLIC = "public"  # no sign-in, no token
DEPT = frozenset({"department"})
OVERSEERS = frozenset({"admin", "city_staff", "viewer"})  # 督办单, 联席会议, 批示: the city and its leaders
HANDLERS = frozenset({"admin", "city_staff", "department"})  # 办理/办结: the department, or the city on its behalf
# Least privileged first: the refused change nothing, so the first allowed one meets the object as the world made it.
WHO = ["department", "viewer", "other_county", "county_staff", "city_staff", "admin"]
# Endpoints that change an object's state for good: walked after the rest.
STATE_CHANGING = ("delete", "cancel", "complete", "revoke", "restore", "handoff", "give_back", "accept", "decide",
                  "merge", "done", "mark", "read", "stage", "funds", "withdraw")

# endpoint → who may use it: the same for all its URL rules and methods, unless "endpoint METHOD" or
# "METHOD /rule" says otherwise.
# Generated from a walk of the tree on 2026-11-28, then read line by line (see the comments); with an empty body a
# write is often refused (400/422) before its permission is judged, so "refused input" proves nothing either way.
ACCESS: dict[str, frozenset[str] | str] = {
    "home.index": SIGNED_IN | DEPT,  # a department contact is sent on to their problems
    "home.favicon": PUBLIC,
    "admin.audit_index": ADMIN,
    "admin.audit_export": ADMIN,
    "admin.counties_index": ADMIN,
    "admin.counties_form": ADMIN,
    "admin.users_index": ADMIN,
    "admin.users_form": ADMIN,
    "admin.users_reset_password": ADMIN,
    "api_foundation.county_list": SIGNED_IN,
    "api_events.event_list": SIGNED_IN,
    "api_events.event_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_events.event_get": SIGNED_IN,
    "api_events.event_update": CITY,
    "api_followups.followup_list": SIGNED_IN,
    "api_followups.followup_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_followups.followup_get": READERS_OWN_COUNTY,
    "api_followups.followup_update": OWN_COUNTY,
    "api_outreach.holiday_list": SIGNED_IN,
    "api_leads.industry_list": SIGNED_IN,
    "api_leads.lead_list": SIGNED_IN,
    "api_leads.lead_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_leads.lead_get": SIGNED_IN,
    "api_leads.lead_update": OWN_COUNTY,
    "api_interactions.interaction_list": SIGNED_IN,
    "api_interactions.interaction_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_leads.lead_reveal": SIGNED_IN,
    "api_foundation.me": SIGNED_IN | DEPT,
    "api_notifications.notification_list": SIGNED_IN | DEPT,
    "api-docs.openapi_json": PUBLIC,
    "apidocs.index": PUBLIC,  # the reference page over the public OpenAPI document
    "health.healthz": PUBLIC,  # load balancers and monitoring: states only, no data
    "health.readyz": PUBLIC,
    "webapp.manifest": PUBLIC,  # the installable visit form: fetched by the browser without cookies
    "webapp.service_worker": PUBLIC,  # its shell list and code, no data
    "webapp.session_state": PUBLIC,  # "am I still signed in" and a CSRF token for this very session
    "api_outreach.campaign_list": SIGNED_IN,
    "api_outreach.campaign_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_outreach.campaign_get": SIGNED_IN,
    "api_outreach.item_list": SIGNED_IN,
    "api_projects.project_list": SIGNED_IN,
    "api_projects.project_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_projects.project_get": SIGNED_IN,
    "api_projects.project_update": OWN_COUNTY,
    "api_reports.annual": SIGNED_IN,  # refused/404 for all with an empty body: declared by design
    "api_reports.ranking": SIGNED_IN,  # refused/404 for all with an empty body: declared by design
    "api_search.search": SIGNED_IN,
    "api_search.saved_search_list": SIGNED_IN,
    "api_search.saved_search_create": SIGNED_IN,  # refused input with an empty body; sharing judged by the service
    "api_search.saved_search_delete": CITY,  # the world's search: made by city staff, shared city-wide
    "api_search.bulk_action": SIGNED_IN,  # refused input with an empty body; each lead judged by the service
    "api_targets.target_list": SIGNED_IN,  # refused/404 for all with an empty body: declared by design
    "api_targets.target_put": ADMIN,  # 422 for all with an empty body: declared by design
    "api_interactions.trip_list": SIGNED_IN,
    "api_interactions.trip_create": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_interactions.trip_get": SIGNED_IN,
    "api_interactions.trip_update": OWN_COUNTY,  # the county that organised the trip, and the city
    "api_interactions.interaction_get": SIGNED_IN,
    "api_interactions.interaction_update": OWN_COUNTY,  # the county that logged the visit, and the city
    "api_interactions.interaction_withdraw": STAFF,  # 422 for all with an empty body: declared by design
    "api_foundation.user_list": ADMIN,  # API.md: GET,POST /users (admin)
    "api_foundation.user_create": ADMIN,  # 422 for all with an empty body: declared by design (API.md: admin)
    "conflicts.index": CITY,
    "events.index": SIGNED_IN,
    "events.detail": SIGNED_IN,
    "events.edit": CITY,
    "events.create": STAFF,
    "followups.detail": READERS_OWN_COUNTY,
    "followups.edit": OWN_COUNTY,
    "GET /followups/board": SIGNED_IN,  # one's own county's board
    "GET /followups/board/<int:county_id>": READERS_OWN_COUNTY,
    "followups.bulk": STAFF,  # refused/404 for all with an empty body: declared by design
    "followups.mine": SIGNED_IN,
    # the world's follow-up is assigned (not in an inbox): its county's staff are told who has it (409)
    "followups.claim": frozenset({"county_staff"}),
    "followups.calendar": SIGNED_IN,
    "followups.calendar_token": SIGNED_IN,  # one's own feed link
    "followups.calendar_feed": PUBLIC,  # read by a phone's calendar app: the token in the URL is the key
    "followups.create": STAFF,
    "followups.overview": frozenset({'admin', 'city_staff', 'viewer'}),
    "interactions.create": STAFF,
    "auth.set_language": PUBLIC,
    "leads.index": SIGNED_IN,
    "leads.detail": SIGNED_IN,
    "leads.edit": OWN_COUNTY,
    "interactions.create_for_lead": STAFF,
    "leads.reveal": SIGNED_IN,
    "leads.lookup": SIGNED_IN,
    "leads.create": STAFF,
    "auth.login": PUBLIC,
    "notifications.index": SIGNED_IN | DEPT,
    "notifications.channels": SIGNED_IN | DEPT,
    "outreach.index": SIGNED_IN,
    "outreach.create": CITY,
    "outreach.export": SIGNED_IN,
    "outreach.mine": SIGNED_IN,
    "outreach.print_view": SIGNED_IN,
    "outreach.progress": SIGNED_IN,
    "outreach.followup": OWN_COUNTY,
    "outreach.settings": ADMIN,
    "auth.change_password": SIGNED_IN | DEPT,
    "auth.profile": SIGNED_IN | DEPT,
    "auth.create_token": SIGNED_IN | DEPT,
    "projects.index": SIGNED_IN,
    "projects.detail": SIGNED_IN,
    "projects.edit": OWN_COUNTY,
    "projects.kanban": SIGNED_IN,
    "projects.create": STAFF,
    "reports.annual": SIGNED_IN,
    "reports.export": SIGNED_IN,
    "reports.targets_grid GET": ADMIN,
    "reports.targets_grid POST": ADMIN,
    "search.index": SIGNED_IN,
    "search.saved_create": SIGNED_IN,  # a private one for everyone; sharing is judged by the service
    "search.saved_open": SIGNED_IN,  # the world's saved search is shared city-wide
    "search.saved_delete": CITY,  # its maker (city staff) and administrators
    "search.bulk_action": SIGNED_IN,  # the form's choices and the services judge each action and lead
    "interactions.trips_index": SIGNED_IN,
    "interactions.trip_detail": SIGNED_IN,
    "interactions.trip_create": STAFF,
    "interactions.trip_edit": OWN_COUNTY,  # the county that organised the trip, and the city
    "interactions.edit": OWN_COUNTY,  # the county that logged the visit, and the city
    "interactions.withdraw": OWN_COUNTY,  # the same; an empty reason is sent back (302) to the edit page
    "api_followups.followup_claim": frozenset({"county_staff"}),
    "api_followups.followup_complete": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_leads.lead_delete": OWN_COUNTY,  # the first allowed one deletes it; the others find it gone
    "api_notifications.notification_read": ADMIN,  # the world's notification is the admin's: its owner only
    "api_outreach.item_done": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_outreach.item_change": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_outreach.campaign_refresh": CITY,  # city staff bring a list up to date (outreach.manage)
    "api_projects.project_delete": OWN_COUNTY,  # the first allowed one deletes it; the others find it gone
    "api_projects.project_funds": STAFF,  # refused/404 for all with an empty body: declared by design
    "api_projects.project_stage": STAFF,  # refused/404 for all with an empty body: declared by design
    "conflicts.decide": CITY,  # no conflict in the world yet: declared by design (city arbitrates)
    "conflicts.merge": CITY,  # no conflict in the world yet: declared by design (city arbitrates)
    "followups.accept": frozenset({'admin', 'county_staff'}),
    "followups.cancel": CITY,
    # the assignee, the assigner and the city complete; an empty form is shown again (400) with its errors
    "followups.complete": OWN_COUNTY,
    "followups.handoff": CITY,
    "followups.give_back": frozenset({'admin', 'county_staff'}),
    "leads.delete": OWN_COUNTY,  # the API deleted the lead first: declared by design
    # the lead's county or the city may restore (within LEAD_RESTORE_DAYS); staff see what they may restore
    "leads.restore": OWN_COUNTY,
    "leads.deleted": STAFF,
    "api_leads.lead_deleted_list": STAFF,
    "api_leads.lead_restore": OWN_COUNTY,  # the first allowed one restores it; the others find it live (404)
    "notifications.read": ADMIN,  # the world's notification is the admin's: its owner only
    "notifications.read_all": SIGNED_IN | DEPT,
    "outreach.mark": OWN_COUNTY,
    "outreach.change": OWN_COUNTY,  # whoever may mark it; an empty form is sent back (302) after the permission
    "outreach.refresh": CITY,
    "auth.revoke_token": ADMIN,  # the world's token is the admin's: its owner only
    "projects.delete": OWN_COUNTY,  # the API deleted the project first: declared by design
    "projects.funds": OWN_COUNTY,  # the project is deleted by then: declared by design
    "projects.stage": OWN_COUNTY,  # the project is deleted by then: declared by design
    # funds rows (/funds, /api/v1/funds sort before /projects: walked while the project lives): the landing
    # county or the city corrects and withdraws; an empty body is refused (a reason is required) after the
    # permission, so another county and the viewer meet 403
    "funds.edit": OWN_COUNTY,
    "funds.withdraw": OWN_COUNTY,
    "api_funds.funds_get": SIGNED_IN,
    "api_funds.funds_update": OWN_COUNTY,
    "api_funds.funds_withdraw": OWN_COUNTY,
    "auth.logout": SIGNED_IN | DEPT,  # answers with the sign-in page: see SIGNS_OUT
    # imports: staff import; a batch is seen by its county (and the city), reverted by its creator or an admin
    "imports.template": STAFF,
    "imports.index": STAFF,
    "imports.create": STAFF,
    "imports.preview": OWN_COUNTY,
    "imports.detail": OWN_COUNTY,
    "imports.progress": OWN_COUNTY,
    "imports.rows": OWN_COUNTY,
    "imports.revert": frozenset({"admin", "county_staff"}),
    "imports.export_leads": SIGNED_IN,
    "imports.export_followups": SIGNED_IN,
    "imports.export_projects": SIGNED_IN,
    "imports.export_outreach": SIGNED_IN,
    "api_imports.import_create": STAFF,  # refused for all with an empty body: declared by design
    "api_imports.import_detail": OWN_COUNTY,
    "api_imports.import_revert": frozenset({"admin", "county_staff"}),
    "api_imports.lead_export": SIGNED_IN,
    # 履约 (issue 15 items 2, 3): shared for reading like projects; the landing county or the city records, marks
    # and edits; the 三未 list, its export and the health lists are for every reader
    "commitments.index": SIGNED_IN,
    "commitments.create": OWN_COUNTY,  # the permission first, then the empty form is sent back (422)
    "commitments.edit": OWN_COUNTY,
    "commitments.add_actual": OWN_COUNTY,  # an empty form is sent back (302) after the permission
    "commitments.mark": OWN_COUNTY,  # the same
    "commitments.warnings": SIGNED_IN,
    "commitments.export_warnings": SIGNED_IN,
    "commitments.attention": SIGNED_IN,
    "api_commitments.commitment_list": SIGNED_IN,
    "api_commitments.commitment_create": STAFF,  # 422 for all with an empty body: declared by design
    "api_commitments.commitment_get": SIGNED_IN,
    "api_commitments.commitment_update": OWN_COUNTY,
    "api_commitments.commitment_actual": STAFF,  # 422 for all with an empty body: declared by design
    "api_commitments.commitment_mark": STAFF,  # 422 for all with an empty body: declared by design
    "api_commitments.warning_list": SIGNED_IN,
    "api_commitments.health_list": SIGNED_IN,
    "api_commitments.health_get": SIGNED_IN,
    # 认定 (issue 15): the queue is the city's; verifying and returning are the verifier's alone (not even the
    # admin without the flag); resubmitting is the data's editors'; evidence is the city's and its county's only
    # (a viewer without a county is refused too). The world's project is not signed and its funds row has no
    # evidence, so the allowed meet "refused input" and nothing is verified.
    "verification.index": CITY,
    "verification.project": SIGNED_IN,
    "verification.verify_signing": VERIFIER,
    "verification.return_signing": VERIFIER,
    "verification.decide_duplicate": VERIFIER,
    "verification.verify_funds": VERIFIER,
    "verification.return_funds": VERIFIER,
    "verification.resubmit_signing": OWN_COUNTY,
    "verification.resubmit_funds": OWN_COUNTY,
    "verification.upload": OWN_COUNTY,
    "verification.download": OWN_COUNTY,
    "verification.delete_attachment": OWN_COUNTY,
    "api_verification.verification_queue_list": CITY,
    "api_verification.project_verification": SIGNED_IN,
    "api_verification.signing_verify": VERIFIER,
    "api_verification.signing_return": VERIFIER,
    "api_verification.signing_duplicate": VERIFIER,
    "api_verification.funds_verify": VERIFIER,
    "api_verification.funds_return": VERIFIER,
    "api_verification.signing_resubmit": OWN_COUNTY,  # refused/404 for all: the world's project is not signed
    "api_verification.funds_resubmit": OWN_COUNTY,
    "api_verification.attachment_upload": OWN_COUNTY,  # refused for all with an empty body: declared by design
    "api_verification.attachment_download": OWN_COUNTY,
    "api_verification.attachment_delete": OWN_COUNTY,
    # 月报: everyone signed in reads the frozen figures; city users freeze on demand
    "snapshots.index": SIGNED_IN,
    "snapshots.freeze": CITY,
    "snapshots.detail": SIGNED_IN,
    "snapshots.export": SIGNED_IN,
    "api_verification.snapshot_list": SIGNED_IN,
    "api_verification.snapshot_freeze": CITY,  # refused for all with an empty body: declared by design
    "api_verification.snapshot_get": SIGNED_IN,
    "api_verification.snapshot_diff": SIGNED_IN,
    # problems (诉求/问题): the world's problem is 汉滨区's, routed to 市自然资源局 (the "department" contact's); a county
    # raises and confirms its own, the city routes and may act for a department, leaders read city-wide and instruct
    "problems.index": SIGNED_IN | DEPT,
    "problems.create": STAFF,
    "problems.detail": READERS_OWN_COUNTY | DEPT,
    "problems.edit": OWN_COUNTY,
    "problems.route": OWN_COUNTY,  # an empty form is sent back (302) after the permission
    "problems.advance": HANDLERS,
    "problems.confirm": OWN_COUNTY,
    "problems.reopen": OWN_COUNTY,
    "problems.instruct": OVERSEERS,
    "problems.meeting": OVERSEERS,
    "problems.decide": CITY,
    "problems.sheets": OVERSEERS,
    "problems.sheet": OVERSEERS,
    "problems.sheet_xlsx": OVERSEERS,
    "problems.departments_index": ADMIN,
    "problems.departments_form": ADMIN,
    "api_problems.problem_list": SIGNED_IN | DEPT,
    "api_problems.problem_create": STAFF,  # 422 for all with an empty body: declared by design
    "api_problems.problem_get": READERS_OWN_COUNTY | DEPT,
    "api_problems.problem_update": OWN_COUNTY,
    "api_problems.problem_route": OWN_COUNTY,  # 422 for all with an empty body: declared by design
    "api_problems.problem_advance": HANDLERS,  # 422 for all with an empty body: declared by design
    "api_problems.problem_confirm": OWN_COUNTY,  # 422 for all with an empty body: declared by design
    "api_problems.problem_reopen": OWN_COUNTY,  # 422 for all with an empty body: declared by design
    "api_problems.problem_instruct": OVERSEERS,  # 422 for all with an empty body: declared by design
    "api_problems.department_list": SIGNED_IN | DEPT,
    "api_problems.department_create": ADMIN,
    "api_problems.department_update": ADMIN,
}


def _all_routes():
    from crm import create_app
    from tests.conftest import base_config

    instance = tempfile.mkdtemp(prefix="crm-urlmap-")
    app = create_app(base_config(f"sqlite:///{os.path.join(instance, 'unused.sqlite3')}", instance))
    # Signing out ends every session of the user: walked last, after what changes state for good.
    def order(rm):
        route, method = rm
        return route.endpoint == "auth.logout", _changes_state(route, method), route.rule, method

    return sorted(((r, m) for r in routes(app) for m in r.methods), key=order)


# URL parameters whose objects the world does not make yet (their endpoints are walked with a missing id: 404).
NO_FACTORY_YET = {"conflict_id", "keep_id"}


SIGNS_OUT = {"auth.logout"}  # its success is the sign-in page


def _changes_state(route, method) -> bool:
    verb = route.endpoint.rsplit(".", 1)[-1]
    return method == "DELETE" or any(word in verb for word in STATE_CHANGING)


def _declared(route, method):
    for key in (f"{method} {route.rule}", f"{route.endpoint} {method}", route.endpoint):
        if key in ACCESS:
            return ACCESS[key]
    return None


ROUTES = _all_routes()


@pytest.fixture(scope="module")
def matrix_app(database_url, tmp_path_factory):
    yield from module_app(database_url, str(tmp_path_factory.mktemp("matrix")))


@pytest.fixture(scope="module")
def world(matrix_app):
    return build_world(matrix_app)


@pytest.fixture(scope="module")
def clients(matrix_app, world):
    """role → (signed-in browser client, bearer-token API client); None → anonymous / no token."""
    out = {None: (matrix_app.test_client(), matrix_app.test_client())}
    for who in WHO:
        role = "other_county_staff" if who == "other_county" else who
        out[who] = (signed_in_client(matrix_app, world, role, ip=f"10.77.0.{len(out)}"),
                    token_client(matrix_app, world, role))
    return out


def outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303) and "/login" in location:
        return "login"
    if response.status_code == 401:
        return "unauthenticated"
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 404:
        return "not found"
    if response.status_code in (400, 409, 422):
        return "refused input"
    return "through" if response.status_code < 500 else f"error {response.status_code}"


def _request(client, method: str, url: str):
    if method in ("POST", "PUT", "PATCH") and url.startswith("/api/"):
        return client.open(url, method=method, json={})
    return client.open(url, method=method, data={})


def test_every_endpoint_declares_its_access():
    missing = sorted({r.endpoint for r, m in ROUTES if r.endpoint not in SKIP_ENDPOINTS and _declared(r, m) is None})
    assert not missing, ("declare who may use these endpoints in ACCESS (tests/test_access_matrix.py): "
                         + ", ".join(missing))


def test_every_url_parameter_has_an_object_in_the_world():
    from tests.hostile.world import PARAM_FACTORIES

    missing = sorted({a for r, _m in ROUTES for a in r.arguments} - set(PARAM_FACTORIES) - NO_FACTORY_YET)
    assert not missing, f"add factories for these URL parameters to tests/hostile/world.py PARAM_FACTORIES: {missing}"


def test_every_world_factory_makes_its_object(world):
    broken = {k: v for k, v in world.failed.items() if k not in NO_FACTORY_YET}
    assert not broken, f"fix these factories in tests/hostile/world.py: {broken}"


@pytest.mark.parametrize(("route", "method"), cases([rm for rm in ROUTES if rm[0].endpoint not in SKIP_ENDPOINTS],
                                                   lambda rm: f"matrix {rm[1]} {rm[0].rule}"),
                         ids=lambda v: v if isinstance(v, str) else v.rule)
def test_only_the_allowed_get_through(clients, world, route, method):
    allowed = _declared(route, method)
    if allowed is None:
        pytest.skip(f"{route.endpoint} is not declared in ACCESS: test_every_endpoint_declares_its_access fails")
    url = route.url(world)
    # The object may be missing from the world, or already gone (deleted, cancelled) by an earlier allowed caller.
    gone = any(world.ids.get(a) == MISSING_ID for a in route.arguments) or _changes_state(route, method)
    problems = []
    seen = {}
    for who in [None, *WHO]:
        browser, api = clients[who]
        got = outcome(_request(api if route.is_api else browser, method, url))
        seen[who or "anonymous"] = got
        may = allowed == PUBLIC or (who is not None and who in allowed)
        if got.startswith("error"):
            problems.append(f"{who or 'anonymous'}: {got}")
        elif may and route.endpoint in SIGNS_OUT and got == "login":
            pass
        elif may and got not in ("through", "refused input") and not (got == "not found" and gone):
            problems.append(f"{who or 'anonymous'} may, but got {got}")
        elif not may and who is None:
            expected = "unauthenticated" if route.is_api else "login"
            if got != expected:
                problems.append(f"anonymous: expected {expected}, got {got}")
        # A refused role may meet a 400/422 when the input is judged before the permission: not a leak.
        elif not may and got not in ("forbidden", "not found", "refused input"):
            problems.append(f"{who} may not, but got {got}")
    assert not problems, f"{method} {url}: " + "; ".join(problems) + f"  (all: {seen})"
