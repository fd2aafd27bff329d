"""/api/charts/*: each aggregate against an independent computation over the same rows,
isolated (Erin's rows only) and on the shared ledger (everyone's)."""
import pytest

from tests.charts import ledger as ref
from tests.charts.ledger import ALL_ROWS, ERIN_ROWS, check_every_chart, get
from tests.conftest import add_user, login, set_isolation


@pytest.fixture(params=["isolated", "shared"])
def view(request, app, ledger):
    """Erin's client and the rows she should see: her own when isolated (staff enabled),
    everyone's on the shared ledger (no cohort enabled)."""
    set_isolation(app, ["staff"] if request.param == "isolated" else [])
    rows = ERIN_ROWS if request.param == "isolated" else ALL_ROWS
    return ledger.client("erin"), rows


def test_every_chart_matches_the_reference(view):
    check_every_chart(*view)


def test_defaults_are_the_latest_month_with_rows_and_ten_merchants(view):
    client, rows = view
    latest = max(ref.month_of(r) for r in rows)
    assert get(client, "/api/charts/summary") == ref.summary(rows, latest)
    assert get(client, "/api/charts/summary?month=") == ref.summary(rows, latest)
    assert get(client, "/api/charts/categories") == ref.categories(rows, latest)
    assert get(client, "/api/charts/merchants") == ref.merchants(rows, None, 10)
    trend = get(client, "/api/charts/trends")
    assert trend["currency"] == "USD"  # the configured default: every row of this ledger's
    assert len(trend["trend"]) == 12 and trend["trend"][-1]["month"] == latest


def test_uncategorised_spending_is_category_null(ledger):
    got = get(ledger.client("erin"), "/api/charts/categories?month=2024-04")
    assert [c for c in got["categories"] if c["category"] is None] == [
        {"category": None, "total": "33.43", "count": 2}]


def test_trends_include_empty_months_as_zeros(ledger):
    got = get(ledger.client("erin"), "/api/charts/trends?months=4")["trend"]
    assert [m["month"] for m in got] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert got[1] == {"month": "2024-02", "income": "0.00", "expenses": "0.00", "net": "0.00"}


def test_a_new_user_gets_zeros_not_errors(app, ledger):
    add_user(app, "gina@example.com")
    gina = login(app.test_client(), "gina@example.com")
    assert get(gina, "/api/charts/summary?month=2024-04") == {
        "month": "2024-04", "count": 0, "currencies": []}
    # Charts in the configured currency, when there are no rows to have a main one.
    assert get(gina, "/api/charts/categories?month=2024-04") == {
        "month": "2024-04", "currency": "USD", "categories": []}
    assert get(gina, "/api/charts/merchants") == {"month": None, "currency": "USD",
                                                  "merchants": []}
    trend = get(gina, "/api/charts/trends?months=2")
    assert trend["currency"] == "USD" and [m["net"] for m in trend["trend"]] == ["0.00", "0.00"]
