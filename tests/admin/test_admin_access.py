"""Every admin route, web and JSON: admins get it; anonymous callers and signed-in non-admins
get the same 404 as a URL that does not exist (no oracle, whatever the method); and neither
of them changes anything."""
import re

import pytest

from finance_app.isolation import ADMIN
from finance_app.isolation.access import route_kind
from tests.admin.support import REASON, audit_count, cohort_rows, isolation
from tests.conftest import csrf_token, set_isolation

# One valid request per admin route, which changes something (or reads) when an admin sends
# it. "{carol}" is carol's user id, "{event}" an audit event made before the request.
REQUESTS = {
    "admin.flags": ("GET", "/admin/flags", None, None),
    "admin.create_cohort": ("POST", "/admin/flags/cohorts", None, {"name": "pilot"}),
    "admin.cohort_isolation": ("POST", "/admin/flags/cohorts/beta/isolation", None,
                               {"enabled": "true"}),
    "admin.move_users": ("POST", "/admin/flags/users", None,
                         {"emails": "carol@example.com", "domain": "", "cohort": "beta"}),
    "admin.rollout": ("POST", "/admin/flags/rollout", None, {"percent": "20"}),
    "admin.lock": ("POST", "/admin/flags/lock", None, {"on": "true"}),
    "admin.revert": ("POST", "/admin/flags/audit/{event}/revert", None, {}),
    "admin.signup_cohort": ("POST", "/admin/flags/signup-cohort", None, {"cohort": "beta"}),
    "admin_api.api_cohorts": ("GET", "/api/admin/cohorts", None, None),
    "admin_api.api_create_cohort": ("POST", "/api/admin/cohorts", {"name": "pilot"}, None),
    "admin_api.api_move_users": ("POST", "/api/admin/cohorts/beta/users",
                                 {"emails": ["carol@example.com"]}, None),
    "admin_api.api_move_user": ("PUT", "/api/admin/users/{carol}/cohort", {"cohort": "beta"},
                                None),
    "admin_api.api_isolation": ("GET", "/api/admin/isolation", None, None),
    "admin_api.api_cohort_isolation": ("PUT", "/api/admin/isolation/cohorts/beta",
                                       {"enabled": True}, None),
    "admin_api.api_rollout": ("PUT", "/api/admin/isolation/rollout", {"percent": 20}, None),
    "admin_api.api_lock": ("PUT", "/api/admin/isolation/lock", {"on": True}, None),
    "admin_api.api_preflight": ("GET", "/api/admin/isolation/preflight?cohort=beta", None, None),
    "admin_api.api_audit": ("GET", "/api/admin/audit", None, None),
    "admin_api.api_revert": ("POST", "/api/admin/audit/{event}/revert", {}, None),
    "admin_api.api_signup_cohort": ("GET", "/api/admin/signup-cohort", None, None),
    "admin_api.api_set_signup_cohort": ("PUT", "/api/admin/signup-cohort", {"cohort": "beta"},
                                        None),
}
CHANGES = {e for e, (method, *_) in REQUESTS.items() if method != "GET"}


def test_every_admin_route_has_a_request_here(app):
    admin_endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                       if route_kind(app, rule.endpoint) == ADMIN}
    assert admin_endpoints == set(REQUESTS)


@pytest.fixture
def world(app, people):
    """A staged rollout (staff enabled) and one audit event, made by the admin."""
    set_isolation(app, ["staff"])
    admin = people.client("admin")
    made = admin.post("/api/admin/cohorts", json={"name": "setup", "reason": REASON})
    assert made.status_code == 201, made.text
    return admin, made.json["event"]["id"]


def send(client, people, event_id, endpoint, csrf_page):
    method, path, body, form = REQUESTS[endpoint]
    path = path.format(carol=people.ids["carol"], event=event_id)
    if body is not None:
        return client.open(path, method=method, json=body | {"reason": REASON})
    if form is not None:
        data = form | {"reason": REASON, "csrf_token": csrf_token(client, csrf_page)}
        return client.open(path, method=method, data=data)
    return client.open(path, method=method)


def without_csrf_tokens(response):
    """The body, minus the CSRF tokens of the sign-out form and the page's meta tag (they
    carry a timestamp: two pages a second apart differ there)."""
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "",
                  response.get_data(as_text=True))


def snapshot(app, people, admin):
    """Everything an admin route can change."""
    state = isolation(admin)
    with app.app_context():
        cohorts = {name: [u["email"] for u in row["users"]]
                   for name, row in cohort_rows(admin).items()}
    signup = admin.get("/api/admin/signup-cohort").json["cohort"]
    return (state["cohorts"], state["percent"], state["lock"], cohorts, signup, audit_count(app))


@pytest.mark.parametrize("endpoint", sorted(REQUESTS))
def test_only_admins_get_the_route(app, people, world, endpoint):
    admin, event_id = world
    method, path, body, form = REQUESTS[endpoint]
    api = endpoint.startswith("admin_api.")
    before = snapshot(app, people, admin)

    # Anonymous: the 404 of a missing URL, not a sign-in prompt that says the route exists.
    stranger = app.test_client()
    anonymous = stranger.open(path.format(carol=people.ids["carol"], event=event_id),
                              method=method, json=body, data=form)
    unknown = stranger.open("/api/admin/no-such-route" if api else "/admin/no-such-page",
                            method=method, json=body, data=form)
    assert anonymous.status_code == unknown.status_code == 404
    assert anonymous.get_data() == unknown.get_data()
    assert snapshot(app, people, admin) == before

    # Signed in, not an admin (alice is staff, like the admin): the 404 of a missing URL.
    alice = people.client("alice")
    refused = send(alice, people, event_id, endpoint, csrf_page="/")
    assert refused.status_code == 404
    missing = alice.open(
        "/api/admin/no-such-route" if api else "/admin/no-such-page", method=method, json=body,
        data=None if form is None else {"csrf_token": csrf_token(alice, "/")})
    assert missing.status_code == 404
    assert without_csrf_tokens(refused) == without_csrf_tokens(missing)
    assert snapshot(app, people, admin) == before

    # The admin: the same request works, and changes something if it is a change.
    response = send(admin, people, event_id, endpoint, csrf_page="/admin/flags")
    assert response.status_code < 400, response.text
    if not api and response.status_code == 302:
        page = admin.get(response.headers["Location"])
        assert 'class="flash error"' not in page.text
        assert 'class="flash success"' in page.text
    assert (snapshot(app, people, admin) != before) == (endpoint in CHANGES)


def test_admin_link_only_for_admins(people):
    assert 'href="/admin/flags"' in people.client("admin").get("/").text
    for name in ("alice", "bob", "carol"):
        assert 'href="/admin/flags"' not in people.client(name).get("/").text


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_no_method_tells_an_admin_route_from_a_missing_one(app, people, method):
    """A method the route does not take (405 with its Allow header) or OPTIONS (200 listing
    them) would say the route exists: anyone but an admin gets the plain 404 instead."""
    admin_rules = [rule for rule in app.url_map.iter_rules()
                   if route_kind(app, rule.endpoint) == ADMIN]
    for client in (app.test_client(), people.client("alice")):
        for rule in admin_rules:
            path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
            missing = "/api/admin/no-such-route" if path.startswith("/api/") \
                else "/admin/no-such-page"
            response, unknown = client.open(path, method=method), client.open(missing,
                                                                               method=method)
            assert response.status_code == unknown.status_code == 404, (method, path)
            assert "Allow" not in response.headers
            assert without_csrf_tokens(response) == without_csrf_tokens(unknown)
