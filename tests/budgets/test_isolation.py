"""Budgets under the isolation contract, for the routes that name a budget by id (the route
matrix probes only transactions and import batches by id so far, and names these tests).

alice is isolated (cohort staff); bob and carol are on the shared ledger. alice's budget is
hers alone: to bob and carol every route answers 404 (never 403) and changes nothing. bob's
budget is on the shared ledger: carol reaches it, alice (isolated) does not. Lists and the
spending they compare with follow the same rule.
"""
import pytest

from tests.budgets.conftest import MONTH, stored_budgets
from tests.conftest import csrf_token

# (method, path, JSON body or form, whether it is a web form)
API_BY_ID = [
    ("GET", "/api/budgets/{id}", None),
    ("PATCH", "/api/budgets/{id}", {"amount": "1.00"}),
    ("DELETE", "/api/budgets/{id}", None),
]
WEB_BY_ID = [
    ("GET", "/budgets/{id}/edit", None),
    ("POST", "/budgets/{id}/edit", {"category": "Hijacked", "amount": "1.00", "currency": "EUR",
                                    "month": ""}),
    ("GET", "/budgets/{id}/delete", None),
    ("POST", "/budgets/{id}/delete", {}),
]


@pytest.fixture
def budgets(app, ledger):
    """A repeating EUR Coffee budget of each of alice, bob and carol: {name: id}."""
    ids = {}
    for name in ("alice", "bob", "carol"):
        response = ledger.client(name).post("/api/budgets", json={
            "category": "Coffee", "amount": "100.00", "currency": "EUR"})
        assert response.status_code == 201, response.text
        ids[name] = response.json["id"]
    return ids


def send(app, client, method, path, payload, web):
    if web and method == "POST":
        payload = dict(payload, csrf_token=csrf_token(client, "/settings"))
        return client.open(path, method=method, data=payload)
    return client.open(path, method=method, json=payload)


def hidden(app, ledger, viewer, owner_id, budget_id, routes, web):
    """Every route of `routes` answers `viewer` 404 for the budget and changes nothing."""
    client = ledger.client(viewer)
    for method, path, payload in routes:
        before = stored_budgets(app, owner_id)
        response = send(app, client, method, path.format(id=budget_id), payload, web)
        assert response.status_code == 404, (viewer, method, path, response.status_code)
        if not web:
            assert response.json["error"]["code"] == "not_found"
        assert "Coffee" not in response.text
        assert stored_budgets(app, owner_id) == before, (viewer, method, path)


@pytest.mark.parametrize("viewer", ["bob", "carol"])
def test_an_isolated_owners_budget_is_404_to_everyone_else(app, ledger, budgets, viewer):
    hidden(app, ledger, viewer, ledger.ids["alice"], budgets["alice"], API_BY_ID, web=False)
    hidden(app, ledger, viewer, ledger.ids["alice"], budgets["alice"], WEB_BY_ID, web=True)


def test_an_isolated_viewer_cannot_reach_a_shared_ledger_budget(app, ledger, budgets):
    hidden(app, ledger, "alice", ledger.ids["bob"], budgets["bob"], API_BY_ID, web=False)
    hidden(app, ledger, "alice", ledger.ids["bob"], budgets["bob"], WEB_BY_ID, web=True)


def test_a_shared_ledger_viewer_reaches_a_shared_ledger_budget(app, ledger, budgets):
    carol = ledger.client("carol")
    assert carol.get(f"/api/budgets/{budgets['bob']}").status_code == 200
    assert carol.get(f"/budgets/{budgets['bob']}/edit").status_code == 200
    response = carol.patch(f"/api/budgets/{budgets['bob']}", json={"amount": "7.00"})
    assert response.status_code == 200, response.text
    assert [b[2] for b in stored_budgets(app, ledger.ids["bob"])] == [7]
    assert carol.delete(f"/api/budgets/{budgets['bob']}").status_code == 204
    assert stored_budgets(app, ledger.ids["bob"]) == []


def test_the_owner_reaches_their_own_budget(app, ledger, budgets):
    alice = ledger.client("alice")
    assert alice.get(f"/api/budgets/{budgets['alice']}").status_code == 200
    assert alice.get(f"/budgets/{budgets['alice']}/edit").status_code == 200
    response = send(app, alice, "POST", f"/budgets/{budgets['alice']}/edit",
                    WEB_BY_ID[1][2], web=True)
    assert response.status_code == 302
    assert [b[1] for b in stored_budgets(app, ledger.ids["alice"])] == ["Hijacked"]
    response = send(app, alice, "POST", f"/budgets/{budgets['alice']}/delete", {}, web=True)
    assert response.status_code == 302
    assert stored_budgets(app, ledger.ids["alice"]) == []


def test_create_stamps_the_caller_whatever_the_ledger(app, ledger, budgets):
    for name in ("alice", "bob", "carol"):
        assert [b[1] for b in stored_budgets(app, ledger.ids[name])] == ["Coffee"]
    web = ledger.client("carol")
    response = web.post(f"/budgets?month={MONTH}", data={
        "category": "Tea", "amount": "5.00", "currency": "EUR", "month": "",
        "csrf_token": csrf_token(web, "/budgets")})
    assert response.status_code == 302, response.text
    assert [b[1] for b in stored_budgets(app, ledger.ids["carol"])] == ["Coffee", "Tea"]


def test_lists_show_the_budgets_and_spending_the_viewer_may_see(ledger, budgets):
    """Each viewer's Coffee budgets, with the Coffee spending of the rows they may see:
    alice her own 12.50; carol the shared ledger's — bob's and hers (not alice's nor the
    admin's, who are isolated)."""
    def coffee(name):
        items = ledger.client(name).get(f"/api/budgets?month={MONTH}").json["items"]
        return sorted((item["id"], item["spent"]) for item in items)

    assert coffee("alice") == [(budgets["alice"], "12.50")]
    assert coffee("carol") == sorted([(budgets["bob"], "25.00"), (budgets["carol"], "25.00")])


def test_the_page_and_dashboard_show_only_visible_budgets(ledger, budgets):
    alice = ledger.client("alice")
    alice.patch(f"/api/budgets/{budgets['alice']}", json={"category": "Alice only"})
    for path in (f"/budgets?month={MONTH}", f"/?month={MONTH}"):
        assert "Alice only" in alice.get(path).text
        for viewer in ("bob", "carol"):
            page = ledger.client(viewer).get(path)
            assert page.status_code == 200
            assert "Alice only" not in page.text and "Coffee" in page.text
