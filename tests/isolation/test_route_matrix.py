"""Every route classified; every data route exercised for owner vs other, isolation on and off."""
import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import DATA
from finance_app.isolation.access import route_kind
from finance_app.models import Transaction
from tests.conftest import csrf_token, set_isolation
from tests.isolation.route_matrix import DATA_ROUTES, ROUTE_KINDS

# Markers of each user's rows and import batch, as the People fixture writes them.
MARKERS = {name: (f"{name} coffee", f"{name.title()} Cafe", f"{name}-statement.csv")
           for name in ("alice", "bob", "carol")}
GENERIC = [r for r in DATA_ROUTES if r.shape != "covered"]


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


@pytest.mark.parametrize("route", [r for r in DATA_ROUTES if r.shape == "covered"],
                         ids=lambda r: r.endpoint)
def test_covered_routes_name_a_real_test(route):
    import importlib

    path, _, function = route.covered_by.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    assert callable(getattr(module, function, None)), f"{route.covered_by} does not exist"


def path_for(route, people, name):
    """The route's path with `name`'s transaction or import batch id filled in."""
    return (route.path.replace("{row}", str(people.rows[name][0]))
            .replace("{batch}", str(people.batches[name])))


def call(client, route, path=None):
    path = path or route.path
    if route.form is not None:
        data = dict(route.form, csrf_token=csrf_token(client, "/transactions"))
        return client.open(path, method=route.method, data=data)
    return client.open(path, method=route.method, json=route.body)


def snapshot(app, row_id):
    with app.app_context():
        row = db.session.execute(select(Transaction).where(Transaction.id == row_id)).scalar()
        return None if row is None else (row.description, row.category, str(row.amount))


@pytest.mark.parametrize("route", GENERIC, ids=lambda r: r.endpoint)
def test_data_route_needs_sign_in(app, people, route):
    path = path_for(route, people, "alice")
    response = app.test_client().open(path, method=route.method, json=route.body,
                                      data=route.form)
    if route.is_api:
        assert response.status_code == 401
    else:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert snapshot(app, people.rows["alice"][0]) == ("alice coffee", "Coffee", "-12.50")


def ledger_of(app, people, name):
    with app.app_context():
        rows = db.session.execute(select(Transaction).where(
            Transaction.user_id == people.ids[name]).order_by(Transaction.id)).scalars()
        return [(r.id, r.description, r.category, str(r.amount), r.import_batch_id) for r in rows]


def owner_of(app, row_id):
    with app.app_context():
        return db.session.execute(
            select(Transaction.user_id).where(Transaction.id == row_id)).scalar()


@pytest.mark.parametrize("route", GENERIC, ids=lambda r: r.endpoint)
def test_data_route_isolated_owner_vs_other(app, people, route):
    set_isolation(app, ["staff"])  # alice isolated
    alice = people.client("alice")
    if route.shape in ("list", "personal"):
        response = call(alice, route)
        assert response.status_code == 200
        assert shows(response, "alice")
        assert not shows(response, "bob") and not shows(response, "carol")
    elif route.shape == "create":
        response = call(alice, route)
        assert response.status_code == 201
        assert owner_of(app, response.json["id"]) == people.ids["alice"]
    else:
        before = ledger_of(app, people, "bob")
        other = call(alice, route, path_for(route, people, "bob"))
        assert other.status_code == 404
        assert not shows(other, "bob")
        assert ledger_of(app, people, "bob") == before
        assert call(alice, route, path_for(route, people, "alice")).status_code < 400


@pytest.mark.parametrize("route", GENERIC, ids=lambda r: r.endpoint)
def test_data_route_shared_ledger_when_off(app, people, route):
    set_isolation(app, ["staff"])  # carol (general) stays on the shared ledger
    carol = people.client("carol")
    if route.shape == "list":
        response = call(carol, route)
        assert response.status_code == 200
        assert shows(response, "carol") and shows(response, "alice") and shows(response, "bob")
    elif route.shape == "personal":
        response = call(carol, route)
        assert response.status_code == 200
        assert shows(response, "carol") and not shows(response, "bob")
    elif route.shape == "create":
        response = call(carol, route)
        assert response.status_code == 201
        assert owner_of(app, response.json["id"]) == people.ids["carol"]
    elif route.shape == "batch":  # import batches are personal on every ledger
        before = ledger_of(app, people, "bob")
        assert call(carol, route, path_for(route, people, "bob")).status_code == 404
        assert ledger_of(app, people, "bob") == before
    else:
        assert call(carol, route, path_for(route, people, "bob")).status_code < 400
