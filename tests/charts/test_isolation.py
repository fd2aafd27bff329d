"""Isolation of the analytics: an isolated user's charts are built from their rows only; on
the shared ledger, from the rows of everyone not isolated. (The route matrix names these tests
for the chart routes whose answers are numbers with no row text to look for.)"""
from datetime import date

import pytest

from finance_app.extensions import cache
from tests.charts import ledger as ref
from tests.charts.ledger import ALL_ROWS, ERIN_ROWS, FRANK_ROWS
from tests.conftest import add_transactions, set_isolation

CHART_URLS = ["/api/charts/summary?month=2024-04", "/api/charts/categories?month=2024-04",
              "/api/charts/trends?months=6", "/api/charts/merchants?month=2024-04",
              "/api/charts/merchants?limit=50"]
# Text only Frank's rows carry.
FRANK_ONLY = ("Frank", "Sailing", "Restaurants")
LATE_ROW = (date(2024, 4, 28), "-500.00", "Frank late purchase", "Frank Boats", "Sailing")


def answers(client):
    responses = [client.get(url) for url in CHART_URLS]
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return [r.json for r in responses]


def add_and_forget(app, user_id, row):
    """Add a row behind the app's back and drop every cache entry, so the next answers are
    rebuilt from the database whatever the generation scheme would have done."""
    add_transactions(app, user_id, [row])
    with app.app_context():
        cache.clear()


def test_isolated_charts_hold_none_of_another_users_rows(app, ledger):
    set_isolation(app, ["staff"])  # Erin (staff) isolated, Frank (general) shared
    erin = ledger.client("erin")
    before = answers(erin)
    assert not any(word in str(before) for word in FRANK_ONLY)
    assert before[0] == ref.summary(ERIN_ROWS, "2024-04")
    add_and_forget(app, ledger.frank_id, LATE_ROW)
    assert answers(erin) == before
    # The same probe does see a row of Erin's own.
    add_and_forget(app, ledger.erin_id, (date(2024, 4, 28), "-5.00", "erin late", "Kiosk", "Misc"))
    assert answers(erin) != before


def test_shared_ledger_charts_hold_no_isolated_users_rows(app, ledger):
    set_isolation(app, ["staff"])  # Erin isolated: her rows are hers alone
    frank = ledger.client("frank")  # general: on the shared ledger
    before = answers(frank)
    assert before[0] == ref.summary(FRANK_ROWS, "2024-04")
    assert "Frank Yacht Club" in str(before) and "Fresh Market" not in str(before)
    add_and_forget(app, ledger.erin_id, (date(2024, 4, 28), "-5.00", "erin late", "Kiosk", "Misc"))
    assert answers(frank) == before


def test_shared_ledger_charts_hold_everyones_rows_while_nobody_is_isolated(app, ledger):
    set_isolation(app, [])
    frank = ledger.client("frank")
    before = answers(frank)
    assert before[0] == ref.summary(ALL_ROWS, "2024-04")
    assert "Frank Yacht Club" in str(before) and "Fresh Market" in str(before)
    add_and_forget(app, ledger.erin_id, (date(2024, 4, 28), "-5.00", "erin late", "Kiosk", "Misc"))
    after = answers(frank)
    assert after != before and "Kiosk" in str(after)


@pytest.mark.parametrize("name,rows", [("erin", ERIN_ROWS), ("frank", FRANK_ROWS)])
def test_each_isolated_user_sees_exactly_their_own_numbers(app, ledger, name, rows):
    set_isolation(app, ["staff", "general"])
    client = ledger.client(name)
    assert answers(client)[0] == ref.summary(rows, "2024-04")
    assert client.get("/api/charts/trends?months=6").json == ref.trends(rows, 6)
