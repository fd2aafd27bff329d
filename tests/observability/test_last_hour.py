"""The flag dashboard's last hour: denials, refusals and errors per cohort and minute, added
up over every process and host from the shared table each flushes to in the background."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.models import MetricSample, utcnow
from finance_app.observability.metrics import NO_COHORT
from finance_app.observability.samples import last_hour
from tests.conftest import People, login, set_isolation
from tests.isolation.conftest import add_probe_routes

DATA = re.compile(r'<script type="application/json" id="last-hour-data">(.*?)</script>', re.S)


def flush(app):
    """What the process's background tick does every FLAG_REFRESH_SECONDS."""
    app.extensions["observability"].tick()


def dashboard_last_hour(admin):
    page = admin.get("/admin/flags")
    assert page.status_code == 200
    found = DATA.search(page.text)
    assert found, "no last-hour data on the dashboard"
    return page.text, json.loads(found.group(1))


def totals(data):
    return {c["cohort"]: {k: n for k, n in c["totals"].items() if n} for c in data["cohorts"]}


def table_total(page, cohort, kind):
    body = re.search(rf'<tbody data-cohort="{re.escape(cohort)}">(.*?)</tbody>', page, re.S)
    assert body, f"no table rows for {cohort}"
    return int(re.search(rf'data-kind="{kind}">(\d+)<', body.group(1)).group(1))


@pytest.fixture
def host(app_with):
    """An app whose guard refuses and answers, as in production; several share a database."""
    def make():
        return add_probe_routes(app_with(ISOLATION_GUARD_MODE="refuse",
                                         PROPAGATE_EXCEPTIONS=False))
    return make


def test_the_dashboard_shows_the_last_hour_per_cohort_from_every_host(host):
    first, second = host(), host()
    people = People(first)
    set_isolation(first, ["staff"])
    alice, carol = people.client("alice"), people.client("carol")
    bob_elsewhere = login(second.test_client(), "bob@example.com")

    for _ in range(2):
        assert first.test_client().get("/api/transactions").status_code == 401
        assert alice.get("/api/transactions/999999").status_code == 404
    assert carol.get("/api/_probe/unscoped").status_code == 500  # a guard refusal
    assert bob_elsewhere.get("/api/transactions/999999").status_code == 404
    for _ in range(6):  # the account's sixth failed password check in 15 minutes is refused
        second.test_client().post("/api/auth/tokens", json={"email": "bob@example.com",
                                                             "password": "wrong"})
    assert alice.get("/api/transactions").status_code == 200  # fine: not counted

    flush(first)
    flush(second)
    page, data = dashboard_last_hour(people.client("admin"))
    assert totals(data) == {
        NO_COHORT: {"denied_401": 2 + 5, "denied_429": 1},
        "staff": {"denied_404": 2},
        "general": {"guard_refusal": 1, "error_5xx": 1},
        "beta": {"denied_404": 1},
    }
    assert len(data["minutes"]) == 60
    staff = next(c for c in data["cohorts"] if c["cohort"] == "staff")
    # Per minute: in the last of the hour (or the one before, had a minute just begun).
    assert sum(staff["counts"]["denied_404"]) == 2
    assert {m["minute"] for m in staff["busy_minutes"]} <= set(data["minutes"][-2:])
    # The table says the same as the charts.
    assert table_total(page, "staff", "denied_404") == 2
    assert table_total(page, "general", "guard_refusal") == 1
    assert table_total(page, NO_COHORT, "denied_429") == 1
    assert 'data-last-hour-cohort="0"' in page and "static/last_hour.js" in page


def test_counts_are_added_in_a_background_tick_never_per_request(host):
    app = host()
    People(app)
    assert app.test_client().get("/api/transactions").status_code == 401
    with app.app_context():
        assert db.session.execute(select(MetricSample)).all() == []
    flush(app)
    flush(app)  # nothing new: nothing added twice
    with app.app_context():
        rows = db.session.execute(select(MetricSample.cohort, MetricSample.kind,
                                         MetricSample.count)).all()
    assert rows == [(NO_COHORT, "denied_401", 1)]


def test_rows_older_than_a_day_are_pruned_and_older_than_an_hour_not_shown(host):
    app = host()
    now = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        db.session.add_all([
            MetricSample(minute=now - timedelta(days=1, minutes=5), cohort="beta",
                         kind="denied_404", count=7),
            MetricSample(minute=now - timedelta(hours=2), cohort="beta", kind="denied_404",
                         count=3)])
        db.session.commit()
    assert app.test_client().get("/api/transactions").status_code == 401
    flush(app)
    with app.app_context():
        kept = db.session.execute(select(MetricSample.count).where(
            MetricSample.cohort == "beta")).scalars().all()
        assert kept == [3]
        with app.test_request_context():
            assert [c["cohort"] for c in last_hour()["cohorts"]] == [NO_COHORT]


def test_a_quiet_hour_says_so(app, people):
    page = people.client("admin").get("/admin/flags").text
    assert 'id="last-hour-quiet"' in page and "last-hour-data" not in page


def test_a_flush_that_fails_keeps_its_counts_for_the_next(host):
    app = host()
    assert app.test_client().get("/api/transactions").status_code == 401
    table = MetricSample.__table__
    with app.app_context():
        table.drop(db.engine)  # the flush fails
        flush(app)
        table.create(db.engine)
        flush(app)
        assert db.session.execute(select(MetricSample.count)).scalars().all() == [1]
