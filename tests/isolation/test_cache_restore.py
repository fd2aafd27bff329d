"""Cache restore safety: after Redis is flushed or restored from an older snapshot, nobody
keeps a stale cohort, isolation decision or aggregate for longer than FLAG_REFRESH_SECONDS
plus a few seconds (isolation/cache_epoch.py). Each test runs its own redis-server."""
import time

import pytest

from finance_app.cache_backend import REDIS_CACHE_TYPE
from finance_app.isolation.cache_epoch import SETTLE_SECONDS
from tests.conftest import People, app_on_fresh_database, set_isolation

pytestmark = pytest.mark.redis

REFRESH_SECONDS = 1
BOUND_SECONDS = REFRESH_SECONDS + SETTLE_SECONDS + 3
REASON = "moving bob to the private ledgers"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def redis_app(request, tmp_path, private_redis):
    with app_on_fresh_database(tmp_path, request.param, REDIS_URL=private_redis.url,
                               FLAG_REFRESH_SECONDS=REFRESH_SECONDS) as app:
        assert app.config["CACHE_TYPE"] == REDIS_CACHE_TYPE
        yield app


def view(people, name):
    """(isolated?, rows in 2024-11) as `name` sees them now."""
    client = people.clients.setdefault(name, people.client(name))
    me = client.get("/api/me").json
    summary = client.get("/api/charts/summary?month=2024-11").json
    return me["isolation"], summary["count"]


def converges(check, bound=BOUND_SECONDS):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.mark.parametrize("damage", ["restore-older-snapshot", "flush"])
def test_a_lost_invalidation_is_noticed_within_the_bound(redis_app, private_redis, damage):
    people = People(redis_app)
    people.clients = {}
    set_isolation(redis_app, ["staff"])  # alice and admin isolated; bob and carol shared
    # Bob and carol see each other's rows: 2 each in November. The principal, the
    # generations and the summaries are now in Redis.
    assert view(people, "bob") == (False, 4) and view(people, "carol") == (False, 4)
    snapshot = private_redis.snapshot("before-the-move.rdb")

    admin = people.client("admin")
    moved = admin.put(f"/api/admin/users/{people.ids['bob']}/cohort",
                      json={"cohort": "staff", "reason": REASON})
    assert moved.status_code == 200, moved.text
    assert view(people, "bob") == (True, 2) and view(people, "carol") == (False, 2)

    if damage == "flush":
        private_redis.client.flushall()
    else:
        private_redis.restore(snapshot)

    assert converges(lambda: view(people, "bob") == (True, 2)
                     and view(people, "carol") == (False, 2)), \
        f"still stale {BOUND_SECONDS} s after the {damage}: bob {view(people, 'bob')}, " \
        f"carol {view(people, 'carol')}"


def test_invalidations_in_step_move_no_epoch(redis_app):
    people = People(redis_app)
    set_isolation(redis_app, ["staff"])
    carol = people.client("carol")
    assert carol.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-3.00", "description": "carol tea"}).status_code == 201
    epoch = redis_app.extensions["cache_epoch"]
    with redis_app.app_context():
        before = epoch.epoch
        assert epoch.check() is False
        assert epoch.epoch == before
