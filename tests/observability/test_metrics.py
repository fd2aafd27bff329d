"""A request moves the right counters: scrape /metrics before and after, assert the deltas."""
from datetime import timedelta

import pytest
from flask import jsonify
from sqlalchemy import text

from finance_app.extensions import db
from finance_app.isolation import DATA, access
from finance_app.observability.metrics import NO_COHORT
from tests.conftest import People, app_on_fresh_database, set_isolation
from tests.isolation.conftest import add_probe_routes
from tests.observability.support import csv_upload, scrape
from tests.rollout.conftest import SMALL_ROWS, small_legacy, small_legacy_template  # noqa: F401

RESPONSES = "finance_responses_total"
DECISIONS = "finance_isolation_decisions_total"
GUARD = "finance_guard_refusals_total"
POLICY = "finance_policy_refusals_total"
CACHE = "finance_cache_lookups_total"
IMPORT_ROWS = "finance_import_rows_total"


@pytest.fixture
def production_like(app_with):
    """An app whose guard refuses and answers (as in production), with the probe routes."""
    app = add_probe_routes(app_with(ISOLATION_GUARD_MODE="refuse", PROPAGATE_EXCEPTIONS=False))
    people = People(app)
    set_isolation(app, ["staff"])
    return app, people


def test_denials_decisions_and_a_guard_refusal_move_their_counters(production_like):
    app, people = production_like
    alice, carol, monitor = people.client("alice"), people.client("carol"), app.test_client()
    before = scrape(monitor)

    assert app.test_client().get("/api/transactions").status_code == 401
    assert alice.get("/api/transactions/999999").status_code == 404
    assert carol.get("/api/transactions").status_code == 200
    refused = carol.get("/api/_probe/unscoped")
    assert refused.status_code == 500 and refused.json["error"]["code"] == "isolation_refused"

    after = scrape(monitor)
    assert after.delta(before, RESPONSES, blueprint="transactions_api", status="401",
                       cohort=NO_COHORT) == 1
    assert after.delta(before, RESPONSES, blueprint="transactions_api", status="404",
                       cohort="staff") == 1
    assert after.delta(before, RESPONSES, blueprint="transactions_api", status="200",
                       cohort="general") == 1
    assert after.delta(before, RESPONSES, blueprint="probe_unscoped", status="500",
                       cohort="general") == 1
    assert after.delta(before, GUARD, cohort="general", endpoint="probe_unscoped") == 1
    assert sum(after.series(GUARD).values()) - sum(before.series(GUARD).values()) == 1
    # One decision per request that asked: alice's (isolated) and carol's list (shared).
    assert after.delta(before, DECISIONS, cohort="staff", outcome="on") == 1
    assert after.delta(before, DECISIONS, cohort="general", outcome="off") == 1
    assert after.delta(before, DECISIONS, cohort="staff", outcome="off") == 0


def test_cached_aggregates_count_a_miss_a_hit_and_after_a_write_a_miss(app, people):
    set_isolation(app, ["staff"])
    carol, monitor = people.client("carol"), app.test_client()
    before = scrape(monitor)
    summary = "/api/charts/summary?month=2024-11"
    assert carol.get(summary).status_code == 200  # built: a miss
    middle = scrape(monitor)
    assert middle.delta(before, CACHE, kind="summary", result="miss") == 1
    assert middle.delta(before, CACHE, kind="summary", result="hit") == 0
    assert carol.get(summary).status_code == 200  # served from the cache: a hit
    written = carol.post("/api/transactions", json={
        "date": "2024-11-21", "amount": "-3.00", "description": "a write"})
    assert written.status_code == 201, written.text
    assert carol.get(summary).status_code == 200  # the write made it stale: a miss
    after = scrape(monitor)
    assert after.delta(middle, CACHE, kind="summary", result="hit") == 1
    assert after.delta(middle, CACHE, kind="summary", result="miss") == 1


def test_committed_imports_count_their_rows_by_outcome(app, people):
    alice, monitor = people.client("alice"), app.test_client()
    rows = [("2024-10-01", "Rent", "-900.00"), ("2024-10-02", "Bread", "-2.10"),
            ("2024-10-03", "Pay", "2000.00")]
    before = scrape(monitor)
    assert csv_upload(alice, rows).json["imported"] == 3
    assert csv_upload(alice, rows + [("2024-10-04", "Milk", "-1.20")]).json["imported"] == 1
    after = scrape(monitor)
    assert after.delta(before, IMPORT_ROWS, outcome="imported") == 4
    assert after.delta(before, IMPORT_ROWS, outcome="duplicate") == 3
    assert after.delta(before, IMPORT_ROWS, outcome="skipped") == 0


def test_the_flag_definitions_age_is_a_gauge_of_the_process(app, people):
    alice = people.client("alice")
    assert alice.get("/api/transactions").status_code == 200  # this process evaluates flags
    sync = app.extensions["flags"].backend.sync
    sync.last = sync.last - timedelta(seconds=1000)  # its last load, long ago
    ages = scrape(app.test_client()).series("finance_flag_definitions_age_seconds")
    assert len(ages) == 1
    assert list(ages.values())[0] >= 1000


def test_the_backfill_reports_rows_assigned_and_rows_to_go(small_legacy):  # noqa: F811
    from prometheus_client import REGISTRY

    def value(name):
        return REGISTRY.get_sample_value(name) or 0.0

    assigned_before = value("finance_backfill_rows_assigned_total")
    result = small_legacy.invoke("isolation", "backfill", "--owner", "admin@example.com",
                                 "--batch-size", "1000")
    assert result.exit_code == 0, result.output
    assert value("finance_backfill_rows_assigned_total") - assigned_before == SMALL_ROWS
    assert value("finance_backfill_rows_remaining") == 0


@pytest.mark.postgres
def test_a_statement_a_policy_refuses_is_a_counted_404_never_a_500(tmp_path):
    """PostgreSQL refuses a write the role may not make with SQLSTATE 42501, as a row-level
    security policy does: the app answers the 404 of a row that is not yours, and counts."""
    with app_on_fresh_database(tmp_path, "postgres", PROPAGATE_EXCEPTIONS=False) as app:
        @access(DATA)
        def refused_write():
            # pg_monitor, a role every PostgreSQL has, may not write the ledger.
            db.session.execute(text("SET LOCAL ROLE pg_monitor"))
            db.session.execute(text(
                "UPDATE transactions SET category = 'x' WHERE description = :d"), {"d": "t"})
            return jsonify(done=True)

        app.add_url_rule("/api/_probe/refused", "probe_refused", refused_write,
                         methods=["POST"])
        people = People(app)
        set_isolation(app, ["staff"])
        alice, monitor = people.client("alice"), app.test_client()
        before = scrape(monitor)
        response = alice.post("/api/_probe/refused")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
        # The request's session was rolled back: the next request works.
        assert alice.get("/api/transactions").status_code == 200
        after = scrape(monitor)
        assert after.delta(before, POLICY, cohort="staff", endpoint="probe_refused") == 1
        assert after.delta(before, RESPONSES, blueprint="probe_refused", status="404",
                           cohort="staff") == 1
