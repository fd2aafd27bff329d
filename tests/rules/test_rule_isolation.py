"""Rules are owned rows like any other (DESIGN.md section 2): read through scope(), another
user's invisible rule is a 404 (never 403) and stays as it was, and applying a rule changes
only rows its viewer may change.

Cast (People, with cohort staff isolated): alice and admin are isolated, bob and carol share
the shared ledger. Every rule route is probed here, for the route matrix
(tests/isolation/route_matrix.py, RULE_ROUTES)."""
import pytest

from tests.conftest import csrf_token, set_isolation
from tests.rules.conftest import categories, stored_rules

RULE = {"field": "merchant", "pattern": "cafe", "category": "Cafes"}


@pytest.fixture
def ledger(people):
    return rules_ledger(people)


def rules_ledger(people):
    """Signed-in clients of everyone, and alice's and carol's rule "merchant contains cafe"."""
    set_isolation(people.app, ["staff"])
    clients = {name: people.client(name) for name in ("alice", "admin", "carol", "bob")}
    # Every user's coffee row has the merchant "<Name> Cafe"; make them uncategorised.
    for name, client in clients.items():
        [coffee, _] = people.rows[name]
        assert client.patch(f"/api/transactions/{coffee}", json={"category": None}).status_code == 200
    rules = {name: clients[name].post("/api/rules", json=RULE).json for name in ("alice", "carol")}
    return clients, rules


def web(client, method, path, **form):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**form, "csrf_token": csrf_token(client, "/rules")})


# (method, path, form or JSON) of every route that names a rule.
RULE_ID_ROUTES = [
    ("GET", "/api/rules/{id}"),
    ("GET", "/api/rules/{id}/preview"),
    ("POST", "/api/rules/{id}/apply"),
    ("DELETE", "/api/rules/{id}"),
    ("GET", "/rules/{id}/preview"),
    ("POST", "/rules/{id}/apply"),
    ("POST", "/rules/{id}/delete"),
]


def call(client, method, path):
    if path.startswith("/api/"):
        return client.open(path, method=method)
    return web(client, method, path)


@pytest.mark.parametrize("method, path", RULE_ID_ROUTES, ids=lambda p: str(p))
def test_another_users_rule_is_a_404_and_unchanged(people, ledger, method, path):
    clients, rules = ledger
    app = people.app
    rules_before, rows_before = stored_rules(app), categories(app)
    alices = path.format(id=rules["alice"]["id"])
    # Alice is isolated: her rule is hers alone, for another isolated user and for the
    # shared ledger alike.
    for stranger in ("admin", "carol"):
        response = call(clients[stranger], method, alices)
        assert response.status_code == 404, (stranger, response.status_code)
        assert "cafe" not in response.get_data(as_text=True).lower()
        assert stored_rules(app) == rules_before and categories(app) == rows_before
    # Carol's rule is on the shared ledger: alice (isolated) may not reach it, bob may.
    carols = path.format(id=rules["carol"]["id"])
    assert call(clients["alice"], method, carols).status_code == 404
    assert stored_rules(app) == rules_before and categories(app) == rows_before
    assert call(clients["bob"], method, carols).status_code in (200, 204, 302)
    # The owner reaches her own.
    assert call(clients["alice"], method, alices).status_code in (200, 204, 302)


def test_lists_show_only_visible_rules(people, ledger):
    clients, rules = ledger
    def listed(name):
        return {r["id"] for r in clients[name].get("/api/rules").json}

    assert listed("alice") == {rules["alice"]["id"]}
    assert listed("admin") == set()
    assert listed("carol") == listed("bob") == {rules["carol"]["id"]}
    page = clients["admin"].get("/rules")
    assert page.status_code == 200 and "cafe" not in page.text


def test_creating_stamps_the_creator_whatever_the_ledger(people, ledger):
    _, rules = ledger
    owners = [owner for owner, *_ in stored_rules(people.app)]
    assert owners == [people.ids["alice"], people.ids["carol"]]


def test_applying_changes_only_rows_the_viewer_may_change(people, ledger):
    clients, rules = ledger
    coffee = {name: people.rows[name][0] for name in people.ids}
    # Alice's rule matches every "<Name> Cafe", but she changes her own row only.
    assert clients["alice"].get(f"/api/rules/{rules['alice']['id']}/preview").json["count"] == 1
    assert clients["alice"].post(f"/api/rules/{rules['alice']['id']}/apply").json["changed"] == 1
    assert categories(people.app, coffee.values()) == {
        coffee["alice"]: "Cafes", coffee["admin"]: None, coffee["bob"]: None,
        coffee["carol"]: None}
    # Carol's, on the shared ledger, changes the shared ledger's rows: never an isolated one.
    assert clients["bob"].post(f"/api/rules/{rules['carol']['id']}/apply").json["changed"] == 2
    assert categories(people.app, coffee.values()) == {
        coffee["alice"]: "Cafes", coffee["admin"]: None, coffee["bob"]: "Cafes",
        coffee["carol"]: "Cafes"}
