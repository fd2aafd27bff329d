"""Currencies kept apart: EUR, GBP and USD rows in one month, and no total anywhere — charts
API, dashboard, assistant tools, explanations — adds two of them together.

The sentinels: sums across currencies that a mixing aggregate would show (all of June's
spending, Groceries in EUR + GBP, Netflix in EUR + GBP) appear in no answer.
"""
import re
from datetime import date

import pytest

from tests.charts import ledger as ref
from tests.conftest import add_transactions, add_user, login
from tests.dashboard.test_dashboard import chart_data

# (date, amount, description, merchant, category, currency)
MIA_ROWS = [
    (date(2024, 5, 1), "2000.00", "May salary", "Initech", "Salary", "EUR"),
    (date(2024, 5, 5), "-50.00", "Weekly shop", "Fresh Market", "Groceries", "EUR"),
    (date(2024, 5, 10), "-9.99", "Streaming", "Netflix", "Subscriptions", "GBP"),
    (date(2024, 5, 12), "-30.00", "Weekly shop", "Tesco", "Groceries", "GBP"),
    (date(2024, 6, 1), "2100.00", "June salary", "Initech", "Salary", "EUR"),
    (date(2024, 6, 3), "-80.00", "Weekly shop", "Fresh Market", "Groceries", "EUR"),
    (date(2024, 6, 4), "-1234.50", "Rent June", "Landlord", "Rent", "EUR"),
    (date(2024, 6, 6), "-15.49", "Streaming", "Netflix", "Subscriptions", "EUR"),
    (date(2024, 6, 7), "-20.00", "Weekly shop", "Fresh Market", "Groceries", "EUR"),
    (date(2024, 6, 10), "-9.99", "Streaming", "Netflix", "Subscriptions", "GBP"),
    (date(2024, 6, 12), "-45.00", "Weekly shop", "Tesco", "Groceries", "GBP"),
    (date(2024, 6, 15), "100.00", "Birthday gift", None, "Gifts", "GBP"),
    (date(2024, 6, 20), "-60.00", "Dinner", "Diner", "Restaurants", "USD"),
    (date(2024, 6, 21), "-12.00", "Coffee", "Corner Coffee", "Coffee", "USD"),
]
MONTHS = ["2024-05", "2024-06"]
# What adding currencies together would give: June's spending in all three (1349.99 EUR +
# 54.99 GBP + 72.00 USD), June's Groceries (100.00 EUR + 45.00 GBP), Netflix (EUR + GBP).
MIXED_SUMS = ("1476.98", "1,476.98", "145.00", "25.48")
JUNE = {"month": "2024-06", "count": 10, "currencies": [
    {"currency": "EUR", "income": "2100.00", "expenses": "1349.99", "net": "750.01", "count": 5},
    {"currency": "GBP", "income": "100.00", "expenses": "54.99", "net": "45.01", "count": 3},
    {"currency": "USD", "income": "0.00", "expenses": "72.00", "net": "-72.00", "count": 2},
]}


def mia_client(app):
    """Mia (isolated: her rows alone) with MIA_ROWS, signed in; `.ids` are her rows' ids."""
    user_id = add_user(app, "mia@example.com", "staff")
    ids = add_transactions(app, user_id, MIA_ROWS)
    client = login(app.test_client(), "mia@example.com")
    client.ids = ids
    return client


@pytest.fixture
def mia(app):
    return mia_client(app)


def no_mixed_sum_in(text):
    for mixed in MIXED_SUMS:
        assert mixed not in text, mixed


def test_the_summary_has_one_block_per_currency_biggest_first(mia):
    response = mia.get("/api/charts/summary?month=2024-06")
    assert response.json == JUNE == ref.summary(MIA_ROWS, "2024-06")
    no_mixed_sum_in(response.text)


def test_every_chart_in_every_currency_matches_the_reference(mia):
    ref.check_every_chart(mia, MIA_ROWS, MONTHS)


def test_charts_default_to_the_main_currency_and_say_which(mia):
    # EUR has the most rows (7, against GBP's 5 and USD's 2).
    categories = mia.get("/api/charts/categories?month=2024-06").json
    assert categories["currency"] == "EUR"
    assert {c["category"]: c["total"] for c in categories["categories"]} == {
        "Rent": "1234.50", "Groceries": "100.00", "Subscriptions": "15.49"}
    assert mia.get("/api/charts/trends?months=2").json["currency"] == "EUR"
    merchants = mia.get("/api/charts/merchants?currency=gbp").json  # any case
    assert merchants == {"month": None, "currency": "GBP", "merchants": [
        {"merchant": "Tesco", "total": "75.00", "count": 2},
        {"merchant": "Netflix", "total": "19.98", "count": 2}]}
    for url in ("/api/charts/categories?month=2024-06", "/api/charts/merchants",
                "/api/charts/trends?months=2"):
        no_mixed_sum_in(mia.get(url).text)


@pytest.mark.parametrize("url", ["/api/charts/categories?currency=EURO",
                                 "/api/charts/trends?currency=1",
                                 "/api/charts/merchants?currency=€"])
def test_a_currency_that_is_not_a_code_is_422(mia, url):
    response = mia.get(url)
    assert response.status_code == 422
    assert response.json["error"]["field"] == "currency"


def test_an_unused_currency_charts_nothing(mia):
    assert mia.get("/api/charts/categories?month=2024-06&currency=JPY").json == {
        "month": "2024-06", "currency": "JPY", "categories": []}


def test_explanations_compare_each_currency_with_itself(mia):
    ref.check_month_explanations(mia, MIA_ROWS, MONTHS)
    june = mia.get("/api/explain/month/2024-06")
    headline = june.json["headline"]
    assert headline.startswith(
        "In 2024-06 you spent 1349.99 EUR and received 2100.00 EUR; that is 1299.99 EUR "
        "(2600%) more spending than in 2024-05.")
    assert ("In 2024-06 you spent 54.99 GBP and received 100.00 GBP; that is 15.00 GBP (38%) "
            "more spending than in 2024-05.") in headline
    assert ("In 2024-06 you spent 72.00 USD and received 0.00 USD; there are no USD "
            "transactions in 2024-05 to compare with.") in headline
    # Groceries changed in EUR and in GBP: two drivers, never one of 145.00.
    groceries = [d for d in june.json["drivers"] if d["name"] == "Groceries"]
    assert [(d["currency"], d["current"], d["previous"]) for d in groceries] == [
        ("EUR", "100.00", "50.00"), ("GBP", "45.00", "30.00")]
    # Netflix in GBP since May is a new recurring charge; the EUR one starts only in June.
    assert june.json["new_recurring"] == [{"merchant": "Netflix", "currency": "GBP",
                                           "category": "Subscriptions", "amount": "9.99",
                                           "previous_amount": "9.99"}]
    no_mixed_sum_in(june.text)


def test_a_transaction_is_compared_with_rows_in_its_currency(mia):
    ref.check_transaction_explanations(mia, MIA_ROWS, mia.ids)
    netflix_eur = mia.get(f"/api/explain/transactions/{mia.ids[7]}").json
    # Two GBP payments at Netflix, but none in EUR: nothing to compare with.
    assert (netflix_eur["verdict"], netflix_eur["others"]) == ("first", 0)
    assert netflix_eur["summary"] == ("The first payment in EUR at Netflix: nothing to compare "
                                      "it with yet.")
    tesco = mia.get(f"/api/explain/transactions/{mia.ids[10]}").json
    assert tesco["summary"] == ("1.50× the usual amount: 45.00 GBP against a median of "
                                "30.00 GBP over 1 other payment at Tesco.")
    page = mia.get(f"/explain/transactions/{mia.ids[10]}")
    assert "against a median of £30.00" in page.text and "−£45.00" in page.text


def tool(client, name, args):
    response = client.post(f"/api/agent/tools/{name}", json=args)
    assert response.status_code == 200, response.text
    no_mixed_sum_in(response.text)
    return response.json["result"]


def test_assistant_tools_keep_currencies_apart(mia):
    assert tool(mia, "spending_summary", {"month": "2024-06"}) == JUNE
    assert (tool(mia, "category_breakdown", {"month": "2024-06"})
            == ref.categories(MIA_ROWS, "2024-06", "EUR"))
    assert (tool(mia, "category_breakdown", {"month": "2024-06", "currency": "GBP"})
            == ref.categories(MIA_ROWS, "2024-06", "GBP"))
    assert (tool(mia, "top_merchants", {"currency": "USD", "limit": 5})
            == ref.merchants(MIA_ROWS, None, 5, "USD"))
    tool(mia, "explain_month", {"month": "2024-06"})


def test_the_dashboard_shows_a_block_per_currency_and_charts_in_one(mia):
    page = mia.get("/?month=2024-06")
    assert page.status_code == 200
    text = page.text
    blocks = re.findall(r'id="summary-([A-Z]{3})"', text)
    assert blocks == ["EUR", "GBP", "USD"]  # biggest first
    for shown in ("€2,100.00", "€1,349.99", "€750.01", "£100.00", "£54.99", "£45.01",
                  "$0.00", "$72.00", "−$72.00"):
        assert shown in text, shown
    no_mixed_sum_in(text)
    data = chart_data(page)
    assert {data[chart]["currency"] for chart in data} == {"EUR"}
    assert data["categories"] == ref.categories(MIA_ROWS, "2024-06", "EUR")
    assert 'href="/?month=2024-06&amp;currency=GBP"' in text
    assert 'href="/?month=2024-06&amp;currency=USD"' in text

    in_gbp = mia.get("/?month=2024-06&currency=gbp")
    assert {chart_data(in_gbp)[chart]["currency"] for chart in chart_data(in_gbp)} == {"GBP"}
    assert chart_data(in_gbp)["merchants"] == ref.merchants(MIA_ROWS, "2024-06", 8, "GBP")
    # The month links keep the currency picked.
    assert 'href="/?month=2024-05&amp;currency=GBP"' in in_gbp.text


def test_a_month_without_the_main_currency_charts_its_own_biggest(app):
    user_id = add_user(app, "ned@example.com", "staff")
    add_transactions(app, user_id, [
        (date(2024, 5, 1), "-1.00", "a", "A", "X", "EUR"),
        (date(2024, 5, 2), "-2.00", "b", "B", "X", "EUR"),
        (date(2024, 6, 3), "-3.00", "c", "C", "Y", "GBP")])
    page = login(app.test_client(), "ned@example.com").get("/?month=2024-06")
    assert {chart_data(page)[chart]["currency"] for chart in chart_data(page)} == {"GBP"}


@pytest.mark.parametrize("currency", ["XYZ", "<b>"])
def test_a_currency_without_rows_on_the_dashboard_is_a_message(mia, currency):
    response = mia.get(f"/?month=2024-06&currency={currency}")
    assert response.status_code == 400
    assert "Currency: there are no transactions in" in response.text
    assert "<b>" not in response.text
    assert chart_data(response)["categories"]["currency"] == "EUR"
