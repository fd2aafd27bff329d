"""/api/budgets: create, read, change and delete budgets; each month's progress against the
spending in the budget's category and currency; bad input refused with nothing written."""
from datetime import date
from decimal import Decimal

import pytest

from tests.budgets.conftest import MONTH, first_of, stored_budgets
from tests.conftest import add_transactions


def create(client, **body):
    return client.post("/api/budgets", json=body)


def progress(client, month=MONTH):
    response = client.get(f"/api/budgets?month={month}")
    assert response.status_code == 200, response.text
    assert response.json["month"] == month
    return {item["category"]: item for item in response.json["items"]}


def test_create_returns_the_budget_and_stamps_the_caller(app, ledger):
    alice = ledger.client("alice")
    response = create(alice, category="Coffee", amount="40", currency="eur", month=MONTH)
    assert response.status_code == 201, response.text
    assert response.json == {"id": response.json["id"], "category": "Coffee",
                             "amount": "40.00", "currency": "EUR", "month": MONTH}
    assert stored_budgets(app) == [
        (ledger.ids["alice"], "Coffee", Decimal("40.00"), "EUR", first_of(MONTH))]
    assert alice.get(f"/api/budgets/{response.json['id']}").json == response.json


def test_currency_defaults_to_the_configured_one_and_month_to_every_month(app, ledger):
    response = create(ledger.client("alice"), category="Coffee", amount="40.00")
    assert response.status_code == 201, response.text
    assert response.json["currency"] == app.config["DEFAULT_CURRENCY"]
    assert response.json["month"] is None
    assert stored_budgets(app)[0][3:] == (app.config["DEFAULT_CURRENCY"], None)


def test_spent_is_the_months_expenses_in_the_category_and_currency(app, ledger):
    alice_id = ledger.ids["alice"]
    add_transactions(app, alice_id, [
        (date(2024, 11, 5), "-30.00", "beans", "Roaster", "Coffee"),
        (date(2024, 11, 6), "5.00", "refund", "Roaster", "Coffee"),       # income: not spent
        (date(2024, 10, 30), "-99.00", "last month", "Roaster", "Coffee"),  # other month
        (date(2024, 11, 7), "-70.00", "bread", "Bakery", "Groceries"),    # other category
    ])
    alice = ledger.client("alice")
    # The People coffee (-12.50) and the beans are EUR (the model's default for these rows).
    assert create(alice, category="Coffee", amount="50.00", currency="EUR").status_code == 201
    # A budget in another currency counts only rows in that currency: none here.
    assert create(alice, category="Groceries", amount="50.00", currency="GBP",
                  month=MONTH).status_code == 201
    items = progress(alice)
    assert items["Coffee"] | {"id": 0} == {
        "id": 0, "category": "Coffee", "amount": "50.00", "currency": "EUR", "month": None,
        "spent": "42.50", "remaining": "7.50", "percent": 85, "over": False}
    assert (items["Groceries"]["spent"], items["Groceries"]["over"]) == ("0.00", False)


def test_over_budget_is_flagged_with_a_negative_remainder(ledger):
    alice = ledger.client("alice")
    create(alice, category="Coffee", amount="10.00", currency="EUR")
    coffee = progress(alice)["Coffee"]
    assert (coffee["spent"], coffee["remaining"], coffee["percent"], coffee["over"]) == \
        ("12.50", "-2.50", 125, True)


def test_a_months_own_budget_overrides_the_repeating_one(ledger):
    alice = ledger.client("alice")
    create(alice, category="Coffee", amount="100.00", currency="EUR")
    create(alice, category="Coffee", amount="20.00", currency="EUR", month=MONTH)
    assert progress(alice)["Coffee"]["amount"] == "20.00"
    assert progress(alice, "2024-12")["Coffee"]["amount"] == "100.00"
    assert progress(alice, "2024-10")["Coffee"]["amount"] == "100.00"
    assert len(alice.get(f"/api/budgets?month={MONTH}").json["items"]) == 1


def test_list_without_a_month_shows_the_latest_month_with_rows(ledger):
    alice = ledger.client("alice")
    create(alice, category="Coffee", amount="100.00", currency="EUR")
    assert alice.get("/api/budgets").json["month"] == MONTH
    assert alice.get("/api/budgets?month=").json["month"] == MONTH


def test_patch_changes_only_the_fields_sent_and_null_month_repeats(app, ledger):
    alice = ledger.client("alice")
    budget = create(alice, category="Coffee", amount="40.00", currency="EUR",
                    month=MONTH).json
    response = alice.patch(f"/api/budgets/{budget['id']}", json={"amount": "55.5"})
    assert response.status_code == 200, response.text
    assert response.json == budget | {"amount": "55.50"}
    response = alice.patch(f"/api/budgets/{budget['id']}", json={"month": None})
    assert response.json["month"] is None
    assert stored_budgets(app) == [(ledger.ids["alice"], "Coffee", Decimal("55.50"), "EUR", None)]


def test_delete_removes_the_budget(app, ledger):
    alice = ledger.client("alice")
    budget = create(alice, category="Coffee", amount="40.00").json
    assert alice.delete(f"/api/budgets/{budget['id']}").status_code == 204
    assert stored_budgets(app) == []
    assert alice.get(f"/api/budgets/{budget['id']}").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"category": "Coffee", "amount": "0"}, "amount"),
    ({"category": "Coffee", "amount": "-5.00"}, "amount"),
    ({"category": "Coffee", "amount": "abc"}, "amount"),
    ({"category": "Coffee", "amount": 12.5}, "amount"),            # a float, not a string
    ({"category": "Coffee", "amount": "1.005"}, "amount"),
    ({"category": "Coffee", "amount": "10", "month": "2024-13"}, "month"),
    ({"category": "Coffee", "amount": "10", "month": "2024-11-01"}, "month"),
    ({"category": "Coffee", "amount": "10", "currency": "XYZ"}, "currency"),
    ({"category": "Coffee", "amount": "10", "currency": "EURO"}, "currency"),
    ({"category": "", "amount": "10"}, "category"),
    ({"category": "x" * 101, "amount": "10"}, "category"),
    ({"amount": "10"}, "category"),
    ({"category": "Coffee", "amount": "10", "owner": 1}, "owner"),
])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(app, ledger, body, field):
    response = create(ledger.client("alice"), **body)
    assert response.status_code == 422, response.text
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    assert stored_budgets(app) == []


@pytest.mark.parametrize("month", [MONTH, None])
def test_a_second_budget_for_the_same_category_and_month_is_a_409(app, ledger, month):
    alice = ledger.client("alice")
    assert create(alice, category="Coffee", amount="40.00", month=month).status_code == 201
    before = stored_budgets(app)
    response = create(alice, category="Coffee", amount="60.00", month=month)
    assert response.status_code == 409, response.text
    assert response.json["error"]["code"] == "conflict"
    assert "Coffee" in response.json["error"]["message"]
    assert stored_budgets(app) == before
    # The month's budget and the repeating one are different budgets.
    other = None if month else MONTH
    assert create(alice, category="Coffee", amount="60.00", month=other).status_code == 201


def test_a_patch_onto_another_budgets_category_and_month_is_a_409(app, ledger):
    alice = ledger.client("alice")
    create(alice, category="Coffee", amount="40.00")
    tea = create(alice, category="Tea", amount="10.00").json
    before = stored_budgets(app)
    response = alice.patch(f"/api/budgets/{tea['id']}", json={"category": "Coffee"})
    assert response.status_code == 409
    assert response.json["error"]["message"].startswith(
        "There is a budget for Coffee for every month already")
    assert stored_budgets(app) == before


@pytest.mark.parametrize("body", [{}, {"amount": None}, {"amount": "0"}, {"currency": None},
                                  {"month": "2024-13"}])
def test_bad_patches_are_refused_and_change_nothing(app, ledger, body):
    alice = ledger.client("alice")
    budget = create(alice, category="Coffee", amount="40.00").json
    before = stored_budgets(app)
    response = alice.patch(f"/api/budgets/{budget['id']}", json=body)
    assert response.status_code == 422, response.text
    assert stored_budgets(app) == before


def test_bad_month_in_the_list_query_is_a_422(ledger):
    response = ledger.client("alice").get("/api/budgets?month=2024-13")
    assert response.status_code == 422
    assert response.json["error"]["field"] == "month"


def test_spent_follows_a_new_transaction_at_once(ledger):
    """The category totals are cached; a write moves their generation, so the next list
    counts the new row."""
    alice = ledger.client("alice")
    create(alice, category="Coffee", amount="40.00", currency="EUR")
    assert progress(alice)["Coffee"]["spent"] == "12.50"
    assert alice.post("/api/transactions", json={
        "date": "2024-11-21", "amount": "-7.50", "description": "espresso",
        "category": "Coffee", "currency": "EUR"}).status_code == 201
    assert progress(alice)["Coffee"]["spent"] == "20.00"
