"""Redis down: requests are served from the database, identity included, with the cache
bypassed; /readyz says the cache is degraded; a cache that comes back never serves what went
stale while it was away. Each test runs a redis-server of its own and stops (or freezes) it."""
import os
import signal
import time
from contextlib import contextmanager

import pytest

from finance_app.isolation.cache_epoch import SETTLE_SECONDS
from tests.conftest import PASSWORD, People, app_on_fresh_database, set_isolation

pytestmark = pytest.mark.redis

REFRESH_SECONDS = 1


@pytest.fixture
def redis_app(tmp_path, private_redis):
    with app_on_fresh_database(tmp_path, "sqlite", REDIS_URL=private_redis.url,
                               FLAG_REFRESH_SECONDS=REFRESH_SECONDS,
                               CACHE_REDIS_TIMEOUT_SECONDS=0.2) as app:
        yield app


@contextmanager
def frozen(private_redis):
    """Redis hangs (SIGSTOP): it accepts connections and never answers, keeping its data."""
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)


def november(client):
    response = client.get("/api/charts/summary?month=2024-11")
    assert response.status_code == 200, response.text
    return response.json["count"]


def test_signed_in_requests_are_served_from_the_database(redis_app, private_redis):
    people = People(redis_app)
    set_isolation(redis_app, ["staff"])
    bob = people.client("bob")
    token = redis_app.test_client().post("/api/auth/tokens", json={
        "email": "bob@example.com", "password": PASSWORD}).json["token"]
    private_redis.stop()

    assert bob.get("/api/me").json["email"] == "bob@example.com"
    assert november(bob) == 4  # bob and carol share a ledger: 2 rows each in November
    page = bob.get("/transactions")
    assert page.status_code == 200 and "carol coffee" in page.text
    bearer = redis_app.test_client().get("/api/transactions",
                                         headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    assert {row["description"] for row in bearer.json["items"]} >= {"bob coffee", "carol salary"}
    # Signing in and writing work too.
    carol = people.client("carol")
    created = carol.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-3.00", "description": "carol tea"})
    assert created.status_code == 201, created.text
    assert november(bob) == 5


def test_readyz_names_the_cache_as_degraded(redis_app, private_redis):
    client = redis_app.test_client()
    assert client.get("/readyz").json == {"status": "ready",
                                          "checks": {"database": "ok", "cache": "ok"}}
    private_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "degraded",
                             "checks": {"database": "ok", "cache": "unavailable"}}


def test_a_hung_redis_is_bypassed_too(redis_app, private_redis):
    people = People(redis_app)
    bob = people.client("bob")
    with frozen(private_redis):
        assert bob.get("/api/me").json["email"] == "bob@example.com"
        assert bob.get("/api/transactions").status_code == 200


@pytest.mark.parametrize("outage", ["stopped-then-restored", "hung"])
def test_a_cache_that_comes_back_serves_nothing_that_went_stale(redis_app, private_redis,
                                                                 outage):
    """Redis away → a write → Redis back with its old entries: nobody reads the aggregate
    from before the write (the invalidation that failed is made up by the cache epoch)."""
    people = People(redis_app)
    set_isolation(redis_app, ["staff"])
    bob, carol = people.client("bob"), people.client("carol")
    assert november(bob) == 4 and november(carol) == 4  # cached now

    def write_while_away():
        created = carol.post("/api/transactions", json={
            "date": "2024-11-05", "amount": "-3.00", "description": "carol tea"})
        assert created.status_code == 201, created.text
        assert november(bob) == 5

    if outage == "hung":
        with frozen(private_redis):
            write_while_away()
    else:
        snapshot = private_redis.snapshot("before-the-write.rdb")
        private_redis.stop()
        write_while_away()
        private_redis.restore(snapshot)  # back, with the entries from before the write

    # At once, while this process still bypasses Redis, and once it uses Redis again.
    assert november(bob) == 5 and november(carol) == 5
    assert cache_in_use_again(redis_app)
    assert november(bob) == 5 and november(carol) == 5


def cache_in_use_again(app, bound=REFRESH_SECONDS + SETTLE_SECONDS + 5):
    """Wait (bounded) for the cache epoch watcher to check Redis and use it again."""
    client = app.test_client()
    deadline = time.monotonic() + bound
    while client.get("/readyz").json["checks"]["cache"] != "ok":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_admin_dashboard_and_preflight_work_without_the_cache(redis_app, private_redis):
    people = People(redis_app)
    set_isolation(redis_app, ["staff"])
    admin = people.client("admin")
    private_redis.stop()

    assert admin.get("/admin/flags").status_code == 200
    report = admin.get("/api/admin/isolation/preflight?cohort=beta")
    assert report.status_code == 200, report.text
    [check] = [c for c in report.json["checks"] if c["name"] == "legacy_cache_keys"]
    assert check["status"] == "amber" and "cache is unavailable" in check["message"]
    assert report.json["legacy_cache_keys"] is None
