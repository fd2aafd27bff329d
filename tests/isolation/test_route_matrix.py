"""Every route classified; every data route exercised for owner vs other, isolation on and off."""
import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import DATA
from finance_app.isolation.access import route_kind
from finance_app.models import Transaction
from tests.conftest import csrf_token, set_isolation
from tests.isolation.route_matrix import DATA_ROUTES, ROUTE_KINDS

# Markers of each user's rows, as the People fixture writes them.
MARKERS = {name: (f"{name} coffee", f"{name.title()} Cafe") for name in ("alice", "bob", "carol")}


def shows(response, name):
    return any(marker in response.get_data(as_text=True) for marker in MARKERS[name])


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = sorted(e for e in endpoints if e not in ROUTE_KINDS)
    assert not unclassified, f"add these routes to tests/isolation/route_matrix.py: {unclassified}"
    stale = sorted(e for e in ROUTE_KINDS if e not in endpoints)
    assert not stale, f"routes listed in the matrix but gone from the app: {stale}"
    wrong = {e: (route_kind(app, e), k) for e, k in ROUTE_KINDS.items() if route_kind(app, e) != k}
    assert not wrong, f"@access(...) differs from the matrix (actual, expected): {wrong}"


def test_every_data_route_has_a_probe(app):
    data_endpoints = {e for e, kind in ROUTE_KINDS.items() if kind == DATA}
    probed = {r.endpoint for r in DATA_ROUTES}
    assert data_endpoints <= probed, f"data routes without a probe: {sorted(data_endpoints - probed)}"


def call(client, route, row=None):
    path = route.path.replace("{row}", str(row)) if row is not None else route.path
    if route.form is not None:
        data = dict(route.form, csrf_token=csrf_token(client, "/transactions"))
        return client.open(path, method=route.method, data=data)
    return client.open(path, method=route.method, json=route.body)


def snapshot(app, row_id):
    with app.app_context():
        row = db.session.execute(select(Transaction).where(Transaction.id == row_id)).scalar()
        return None if row is None else (row.description, row.category, str(row.amount))


@pytest.mark.parametrize("route", DATA_ROUTES, ids=lambda r: r.endpoint)
def test_data_route_needs_sign_in(app, people, route):
    path = route.path.replace("{row}", str(people.rows["alice"][0]))
    response = app.test_client().open(path, method=route.method, json=route.body,
                                      data=route.form)
    if route.is_api:
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert snapshot(app, people.rows["alice"][0]) == ("alice coffee", "Coffee", "-12.50")


@pytest.mark.parametrize("route", DATA_ROUTES, ids=lambda r: r.endpoint)
def test_data_route_isolated_owner_vs_other(app, people, route):
    set_isolation(app, ["staff"])  # alice isolated
    alice = people.client("alice")
    if route.shape == "list":
        response = call(alice, route)
        assert response.status_code == 200
        assert shows(response, "alice")
        assert not shows(response, "bob") and not shows(response, "carol")
    elif route.shape == "create":
        response = call(alice, route)
        assert response.status_code == 201
        assert snapshot_owner(app, response.json["id"]) == people.ids["alice"]
    else:
        bob_row = people.rows["bob"][0]
        before = snapshot(app, bob_row)
        other = call(alice, route, bob_row)
        assert other.status_code == 404
        assert not shows(other, "bob")
        assert snapshot(app, bob_row) == before
        assert call(alice, route, people.rows["alice"][0]).status_code < 400


def snapshot_owner(app, row_id):
    with app.app_context():
        return db.session.execute(
            select(Transaction.user_id).where(Transaction.id == row_id)).scalar()


@pytest.mark.parametrize("route", DATA_ROUTES, ids=lambda r: r.endpoint)
def test_data_route_shared_ledger_when_off(app, people, route):
    set_isolation(app, ["staff"])  # carol (general) stays on the shared ledger
    carol = people.client("carol")
    if route.shape == "list":
        response = call(carol, route)
        assert response.status_code == 200
        assert shows(response, "carol") and shows(response, "alice") and shows(response, "bob")
    elif route.shape == "create":
        response = call(carol, route)
        assert response.status_code == 201
        assert snapshot_owner(app, response.json["id"]) == people.ids["carol"]
    else:
        assert call(carol, route, people.rows["bob"][0]).status_code < 400
