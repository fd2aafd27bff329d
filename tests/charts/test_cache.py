"""Chart answers are cached per namespace: a repeat runs no SQL; a write through the API
makes the writer's (and the shared ledger's) next answers fresh; other namespaces keep theirs."""
from datetime import date

import pytest

from finance_app.isolation.cache_keys import iter_cache_keys
from tests.charts import ledger as ref
from tests.charts.ledger import ALL_ROWS, ERIN_ROWS, FRANK_ROWS, sql_statements
from tests.conftest import set_isolation

CHART_URLS = ["/api/charts/summary?month=2024-04", "/api/charts/categories?month=2024-04",
              "/api/charts/trends?months=6", "/api/charts/merchants?month=2024-04&limit=5",
              "/api/charts/merchants", "/api/charts/trends"]
NEW_ROW = {"date": "2024-04-29", "amount": "-70.00", "description": "Boots",
           "merchant": "Trail Store", "category": "Shopping"}


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json


@pytest.mark.parametrize("cohorts", [["staff"], []], ids=["isolated", "shared"])
def test_a_repeat_runs_no_sql(app, ledger, cohorts):
    set_isolation(app, cohorts)
    erin = ledger.client("erin")
    for url in CHART_URLS:
        with sql_statements(app) as first_run:
            first = get(erin, url)
        assert first_run, f"{url} was answered without a query the first time"
        with sql_statements(app) as second_run:
            assert get(erin, url) == first
        assert second_run == [], f"{url} ran SQL on a repeat: {second_run}"


def test_a_write_through_the_api_refreshes_the_writers_answers(app, ledger):
    erin = ledger.client("erin")  # isolated (fresh install)
    assert get(erin, "/api/charts/summary?month=2024-04") == ref.summary(ERIN_ROWS, "2024-04")
    get(erin, "/api/charts/categories?month=2024-04")
    created = erin.post("/api/transactions", json=NEW_ROW)
    assert created.status_code == 201
    new_row = (date(2024, 4, 29), "-70.00", "Boots", "Trail Store", "Shopping")
    rows = ERIN_ROWS + [new_row]
    with sql_statements(app) as statements:
        assert get(erin, "/api/charts/summary?month=2024-04") == ref.summary(rows, "2024-04")
    assert statements, "the summary after a write came from a stale cache entry"
    assert get(erin, "/api/charts/categories?month=2024-04") == ref.categories(rows, "2024-04")
    assert get(erin, "/api/charts/merchants") == ref.merchants(rows, None, 10)

    tx_id = created.json["id"]
    assert erin.patch(f"/api/transactions/{tx_id}", json={"category": "Outdoor"}).status_code == 200
    rows = ERIN_ROWS + [new_row[:4] + ("Outdoor",)]
    assert get(erin, "/api/charts/categories?month=2024-04") == ref.categories(rows, "2024-04")

    assert erin.delete(f"/api/transactions/{tx_id}").status_code == 204
    assert get(erin, "/api/charts/summary?month=2024-04") == ref.summary(ERIN_ROWS, "2024-04")
    assert get(erin, "/api/charts/categories?month=2024-04") == ref.categories(ERIN_ROWS, "2024-04")


def test_on_the_shared_ledger_anyones_write_refreshes_everyones_answers(app, ledger):
    set_isolation(app, [])
    erin, frank = ledger.client("erin"), ledger.client("frank")
    assert get(erin, "/api/charts/summary?month=2024-04") == ref.summary(ALL_ROWS, "2024-04")
    assert frank.post("/api/transactions", json=NEW_ROW).status_code == 201
    rows = ALL_ROWS + [(date(2024, 4, 29), "-70.00", "Boots", "Trail Store", "Shopping")]
    assert get(erin, "/api/charts/summary?month=2024-04") == ref.summary(rows, "2024-04")


def test_another_namespaces_write_leaves_an_isolated_cache_alone(app, ledger):
    set_isolation(app, ["staff"])  # Erin isolated, Frank on the shared ledger
    erin, frank = ledger.client("erin"), ledger.client("frank")
    expected = get(erin, "/api/charts/summary?month=2024-04")
    assert frank.post("/api/transactions", json=NEW_ROW).status_code == 201
    with sql_statements(app) as statements:
        assert get(erin, "/api/charts/summary?month=2024-04") == expected
    assert statements == []


def test_keys_follow_the_isolation_decision(app, ledger):
    set_isolation(app, ["staff"])
    get(ledger.client("erin"), "/api/charts/summary?month=2024-03")
    get(ledger.client("frank"), "/api/charts/categories?month=2024-03")
    with app.app_context():
        keys = set(iter_cache_keys())
    assert f"user:{ledger.erin_id}:summary:2024-03" in keys
    assert "summary:2024-03" not in keys
    # Each chart's key names its currency (here the main one).
    assert "categories:2024-03:USD" in keys
    assert f"user:{ledger.frank_id}:categories:2024-03:USD" not in keys


def test_the_shared_ledgers_answers_follow_who_is_isolated(app, ledger):
    # No write happens between the two reads: only the flag changes. An answer built while
    # Erin was on the shared ledger counts her rows and must not be served once she is not.
    set_isolation(app, [])
    frank = ledger.client("frank")
    for url in CHART_URLS:
        get(frank, url)
    set_isolation(app, ["staff"])
    assert get(frank, "/api/charts/summary?month=2024-04") == ref.summary(FRANK_ROWS, "2024-04")
    assert get(frank, "/api/charts/merchants") == ref.merchants(FRANK_ROWS, None, 10)
    set_isolation(app, [])
    assert get(frank, "/api/charts/summary?month=2024-04") == ref.summary(ALL_ROWS, "2024-04")
