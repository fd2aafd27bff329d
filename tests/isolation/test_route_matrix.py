"""Every route classified; every data route probed by both kinds of viewer against rows of
every kind of owner, reads and writes, under the emergency lock, with private headers.

route_matrix.py has the routes, their shapes and the table of who may reach whose rows;
matrix_ledger.py the rows and the viewers.
"""
import importlib

import pytest
from werkzeug.exceptions import HTTPException

from finance_app.isolation import DATA
from finance_app.isolation.access import LOCK_MESSAGE, route_kind
from tests.isolation.matrix_ledger import MARKERS
from tests.isolation.route_matrix import (
    CREATED,
    DATA_ROUTES,
    OWNERS,
    PLACEHOLDERS,
    ROUTE_KINDS,
    UNOWNED,
    VIEWERS,
    may_reach,
)
from tests.isolation.test_headers_and_lock import assert_private

PROBED = [r for r in DATA_ROUTES if r.shape != "covered"]
HIDDEN = "hidden"  # 404 (or absent from a list), no marker, nothing of the owner changed
# What a probe finds of the rows of an owner the viewer may reach, by operation.
REACHED = {"read": "shown", "write": "changed"}


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = sorted(e for e in endpoints if e not in ROUTE_KINDS)
    assert not unclassified, f"add these routes to tests/isolation/route_matrix.py: {unclassified}"
    stale = sorted(e for e in ROUTE_KINDS if e not in endpoints)
    assert not stale, f"routes listed in the matrix but gone from the app: {stale}"
    wrong = {e: (route_kind(app, e), k) for e, k in ROUTE_KINDS.items() if route_kind(app, e) != k}
    assert not wrong, f"@access(...) differs from the matrix (actual, expected): {wrong}"


def test_every_data_route_has_a_probe(app):
    served = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if ROUTE_KINDS.get(rule.endpoint) == DATA
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    probed = {(r.endpoint, r.method) for r in DATA_ROUTES}
    assert not served - probed, f"data routes without a probe: {sorted(served - probed)}"


@pytest.mark.parametrize("route", DATA_ROUTES, ids=str)
def test_matrix_entry_is_served_by_its_endpoint(app, route):
    path = route.url(**{name: 1 for name in PLACEHOLDERS}).partition("?")[0]
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=route.method)
    except HTTPException as exc:
        pytest.fail(f"no URL rule serves {route.method} {path}: {exc.code} {exc.name}")
    assert endpoint == route.endpoint


@pytest.mark.parametrize("route", [r for r in DATA_ROUTES if r.shape == "covered"], ids=str)
def test_covered_routes_name_a_real_test(route):
    path, _, function = route.covered_by.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    assert callable(getattr(module, function, None)), f"{route.covered_by} does not exist"


# --- probes --------------------------------------------------------------------------------

def shows(response, owner):
    return any(marker in response.get_data(as_text=True) for marker in MARKERS[owner])


def call(matrix, viewer, route, owner):
    """`viewer` sends `route`'s request probing `owner`'s row of the placeholder it names."""
    response = matrix.request(viewer, route, matrix.path(route, owner))
    assert_private(response)
    return response


def expected(route, viewer):
    reached = REACHED["write" if route.is_write else "read"]
    return {owner: reached if may_reach(route, viewer, owner) else HIDDEN for owner in OWNERS}


def probe_many(matrix, route, viewer):
    """One response about many rows: whose markers it shows."""
    response = call(matrix, viewer, route, viewer)
    assert response.status_code == 200, response.text
    found = {owner: "shown" if shows(response, owner) else HIDDEN for owner in OWNERS}
    assert found == expected(route, viewer)


def outcome(matrix, route, viewer, owner):
    """What `route` does to `owner`'s row (of the placeholder it names), called by `viewer`."""
    before = matrix.state(owner)
    response = call(matrix, viewer, route, owner)
    changed = matrix.state(owner) != before
    status = response.status_code
    not_found = status == 404 and (not route.is_api or
                                   response.json["error"]["code"] == "not_found")
    if not_found and not changed and not shows(response, owner):
        return HIDDEN
    if route.is_write and status < 400 and changed:
        return "changed"
    if not route.is_write and status == 200 and not changed:
        return "shown"
    return f"{status} and {'changed' if changed else 'unchanged'}"


def probe_each(matrix, route, viewer):
    """A request per owner, with that owner's row."""
    found = {owner: outcome(matrix, route, viewer, owner) for owner in OWNERS}
    assert found == expected(route, viewer)


def probe_aggregate(matrix, route, viewer):
    """Numbers: exactly those of the rows the viewer may see."""
    visible = [owner for owner in OWNERS if may_reach(route, viewer, owner)]
    response = call(matrix, viewer, route, viewer)
    assert response.status_code == 200, response.text
    assert response.json == route.reference(matrix.reference_rows(visible)), \
        f"expected the numbers of the rows of {visible}"


def probe_bulk(matrix, route, viewer):
    """One write over many rows: it changes exactly the rows of the owners the viewer may
    reach."""
    before = matrix.everything()
    response = call(matrix, viewer, route, viewer)
    assert response.status_code == (200 if route.is_api else 302), response.text
    after = matrix.everything()
    found = {owner: "changed" if after[owner] != before[owner] else HIDDEN for owner in OWNERS}
    assert found == expected(route, viewer)


def probe_create(matrix, route, viewer):
    """The new row is the viewer's, whatever the flag; nobody else's rows change."""
    before = matrix.everything()
    response = call(matrix, viewer, route, viewer)
    # A web form answers with the redirect to the list.
    assert response.status_code == (201 if route.is_api else 302), response.text
    assert matrix.owners_of(CREATED) == [matrix.ids[viewer]]
    after = matrix.everything()
    assert {o: after[o] for o in OWNERS if o != viewer} == \
        {o: before[o] for o in OWNERS if o != viewer}


PROBES = {"list": probe_many, "personal": probe_many, "row": probe_each,
          "aggregate": probe_aggregate, "create": probe_create, "bulk": probe_bulk}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("route", PROBED, ids=str)
def test_data_route_by_viewer_and_owner(matrix, route, viewer):
    PROBES[route.shape](matrix, route, viewer)


@pytest.mark.parametrize("route", [r for r in PROBED if r.shape == "aggregate"], ids=str)
def test_shared_ledger_numbers_drop_an_owner_isolated_later(matrix, route):
    """Numbers already cached for the shared ledger do not outlive a flag change: once bob's
    cohort is isolated, carol's answer leaves his rows out on her next request."""
    assert call(matrix, "carol", route, "carol").status_code == 200
    matrix.isolate_cohort("beta")
    response = call(matrix, "carol", route, "carol")
    assert response.status_code == 200, response.text
    assert response.json == route.reference(matrix.reference_rows(["carol", UNOWNED]))


@pytest.mark.parametrize("route", DATA_ROUTES, ids=str)
def test_data_route_needs_sign_in(app, matrix, route):
    before = matrix.everything()
    response = app.test_client().open(matrix.path(route, "alice"), method=route.method,
                                      json=route.body, data=route.form)
    assert_private(response)
    if route.is_api:
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    else:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert matrix.everything() == before


@pytest.mark.parametrize("route", DATA_ROUTES, ids=str)
def test_data_route_is_closed_by_the_emergency_lock(matrix, route):
    before = matrix.everything()
    matrix.lock()
    for viewer in VIEWERS:
        response = call(matrix, viewer, route, viewer)
        assert response.status_code == 503, (viewer, response.text)
        if route.is_api:
            assert response.json == {"error": {"code": "data_locked", "message": LOCK_MESSAGE}}
        else:
            assert response.mimetype == "text/html" and LOCK_MESSAGE in response.text
    assert matrix.everything() == before
