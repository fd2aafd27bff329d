"""/api/explain: month drivers and new recurring charges, and one transaction against the
usual amount, each checked against a Python computation over the same rows."""
from decimal import Decimal

import pytest

from tests.charts import ledger as ref
from tests.charts.ledger import (
    ALL_ROWS,
    ERIN_ROWS,
    check_month_explanations,
    check_transaction_explanations,
    get,
)
from tests.conftest import set_isolation


@pytest.fixture(params=["isolated", "shared"])
def view(request, app, ledger):
    set_isolation(app, ["staff"] if request.param == "isolated" else [])
    rows = ERIN_ROWS if request.param == "isolated" else ALL_ROWS
    return ledger.client("erin"), rows


def test_month_explanations_match_the_reference(view):
    check_month_explanations(*view)


def test_transaction_explanations_match_the_reference(view, ledger):
    client, rows = view
    ids = ledger.erin_ids + (ledger.frank_ids if rows is ALL_ROWS else [])
    check_transaction_explanations(client, rows, ids)


def test_a_subscription_that_started_is_a_new_recurring_charge(app, ledger):
    erin = ledger.client("erin")
    april = get(erin, "/api/explain/month/2024-04")
    # Netflix: once in March, once in April, same amount, never before. Iron Gym's amount
    # changed too much, Spotify is older, Corner Coffee charges more than once a month.
    assert april["new_recurring"] == [{"merchant": "Netflix", "currency": "USD",
                                       "category": "Subscriptions", "amount": "15.49",
                                       "previous_amount": "15.49"}]
    assert get(erin, "/api/explain/month/2024-03")["new_recurring"] == []
    assert get(erin, "/api/explain/month/2024-05")["new_recurring"] == []


def test_month_headlines(app, ledger):
    erin = ledger.client("erin")
    april, march = (ref.totals(ERIN_ROWS, "2024-04"), ref.totals(ERIN_ROWS, "2024-03"))
    change = Decimal(march["expenses"]) - Decimal(april["expenses"])
    assert change > 0  # the fixture spends less in April
    assert get(erin, "/api/explain/month/2024-04")["headline"] == (
        f"In 2024-04 you spent {april['expenses']} USD and received {april['income']} USD; that "
        f"is {change} USD ({change / Decimal(march['expenses']):.0%}) less spending than in "
        "2024-03.")
    march = get(erin, "/api/explain/month/2024-03")["headline"]
    assert "no transactions in 2024-02 to compare with" in march
    assert get(erin, "/api/explain/month/2024-02")["headline"] == "No transactions in 2024-02."


def test_biggest_drivers_come_first(app, ledger):
    drivers = get(ledger.client("erin"), "/api/explain/month/2024-04")["drivers"]
    categories = [d for d in drivers if d["kind"] == "category"]
    merchants = [d for d in drivers if d["kind"] == "merchant"]
    assert drivers == categories + merchants
    assert categories[0] == {"kind": "category", "currency": "USD", "name": "Shopping",
                             "current": "0.00", "previous": "129.00", "delta": "-129.00"}
    assert all(abs(float(a["delta"])) >= abs(float(b["delta"]))
               for a, b in zip(merchants, merchants[1:]))


@pytest.mark.parametrize("index,verdict,ratio", [
    (30, "higher", "3.00"),   # espresso beans 12.00 against a median 4.00 of espressos
    (21, "usual", "1.04"),    # April rent 1250 against 1200
    (28, "lower", "0.52"),    # a 33.33 market stall against a 64.10 median weekly shop
    (29, "first", None),      # a refund: the only incoming payment from Sound Shop
    (19, "first", None),      # parking: no merchant, the only Transport row
    (31, "no_basis", None),   # bank fee: no merchant and no category
])
def test_transaction_verdicts(app, ledger, index, verdict, ratio):
    got = get(ledger.client("erin"), f"/api/explain/transactions/{ledger.erin_ids[index]}")
    assert (got["verdict"], got["ratio"]) == (verdict, ratio)
    assert got["summary"]


def test_the_usual_compares_with_the_category_when_there_is_no_merchant(app, ledger):
    got = get(ledger.client("erin"), f"/api/explain/transactions/{ledger.erin_ids[19]}")
    assert got["compared_with"] == {"kind": "category", "name": "Transport"}
    espresso = get(ledger.client("erin"), f"/api/explain/transactions/{ledger.erin_ids[30]}")
    assert espresso["compared_with"] == {"kind": "merchant", "name": "Corner Coffee"}
    assert espresso["summary"] == ("3.00× the usual amount: 12.00 USD against a median of "
                                   "4.00 USD over 4 other payments at Corner Coffee.")
