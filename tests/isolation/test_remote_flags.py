"""The remote flag backend against a real unleash-server (fixture `unleash_server`).

The session's server is shared, so every test on it starts from a server without the two
flags and without the `cohort` context field; a test that stops its server has one of its
own. The app itself stays on SQLite.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from finance_app.isolation.flags import (
    COHORT_CONTEXT_FIELD, ISOLATION_FLAG, FlagServiceError,
)
from tests.support.unleash_server import (
    admin, build_app, closed_port, eventually, reset_server,
)

pytestmark = [pytest.mark.unleash, pytest.mark.postgres]

@pytest.fixture
def remote_app(tmp_path, migrated_sqlite, unleash_server):
    reset_server(unleash_server)
    app = build_app(tmp_path, migrated_sqlite, unleash_server)
    yield app
    app.extensions["flags"].close()


@pytest.fixture
def flags(remote_app):
    with remote_app.app_context():
        yield remote_app.extensions["flags"]


def test_unknown_flags_fail_closed(flags):
    flags.refresh(wait_seconds=10)  # the client has the server's definitions (neither flag)
    assert flags.isolation_state()["defined"] is False
    assert flags.isolation_for(1, "general") is True
    assert flags.isolation_for(2, "staff") is True
    assert flags.lock_on() is False


def test_set_isolation_round_trips_through_unleash(flags, unleash_server):
    flags.set_isolation(["staff"], 0)

    state = flags.isolation_state()
    assert state == {"defined": True, "cohorts": ["staff"], "percent": 0, "everyone": False,
                     "translatable": True, "untranslatable_reason": None}
    flags.refresh(wait_seconds=5)
    assert flags.isolation_for(1, "staff") is True
    assert flags.isolation_for(2, "general") is False
    # The cohort context field was created, with the cohort as a legal value.
    field = admin(unleash_server, "GET", f"/context/{COHORT_CONTEXT_FIELD}").json()
    assert [v["value"] for v in field["legalValues"]] == ["staff"]


def test_cohorts_and_sticky_percentage(flags, unleash_server):
    flags.set_isolation(["staff"], 0)
    flags.enable_cohort("beta")  # not yet a legal value of the context field
    flags.enable_cohort("staff", False)
    flags.set_percent(30)

    assert flags.isolation_state() == {"defined": True, "cohorts": ["beta"], "percent": 30,
                                       "everyone": False, "translatable": True,
                                       "untranslatable_reason": None}
    field = admin(unleash_server, "GET", f"/context/{COHORT_CONTEXT_FIELD}").json()
    assert {v["value"] for v in field["legalValues"]} == {"staff", "beta"}
    assert flags.isolation_for(7, "beta") is True

    users = range(1, 201)
    at_30 = {uid for uid in users if flags.isolation_for(uid, "general")}
    assert at_30 == {uid for uid in users if flags.isolation_for(uid, "general")}
    assert 0.15 * len(users) <= len(at_30) <= 0.45 * len(users)

    flags.set_percent(60)
    assert flags.isolation_state()["percent"] == 60
    at_60 = {uid for uid in users if flags.isolation_for(uid, "general")}
    assert at_30 < at_60  # raising the percentage only adds users
    assert flags.isolation_for(7, "beta") is True


def test_changes_made_in_unleash_directly_are_seen(flags, unleash_server):
    flags.set_isolation(["staff"], 0)
    env_path = f"/projects/default/features/{ISOLATION_FLAG}/environments/development"
    feature = admin(unleash_server, "GET", f"/projects/default/features/{ISOLATION_FLAG}").json()
    strategy = next(e for e in feature["environments"]
                    if e["name"] == "development")["strategies"][0]

    # An operator adds cohort `ops` to the strategy in Unleash (first as a legal value).
    admin(unleash_server, "POST", f"/context/{COHORT_CONTEXT_FIELD}/legal-values",
          json={"value": "ops"}).raise_for_status()
    strategy["constraints"][0]["values"].append("ops")
    body = {k: strategy[k] for k in ("name", "parameters", "constraints")}
    admin(unleash_server, "PUT", f"{env_path}/strategies/{strategy['id']}",
          json=body).raise_for_status()

    assert flags.isolation_state()["cohorts"] == ["ops", "staff"]
    eventually(lambda: flags.isolation_for(3, "ops") is True, flags=flags)
    assert flags.isolation_for(4, "general") is False

    # ... then switches the environment off.
    admin(unleash_server, "POST", f"{env_path}/off").raise_for_status()
    assert flags.isolation_state() == {"defined": True, "cohorts": [], "percent": 0,
                                       "everyone": False, "translatable": True,
                                       "untranslatable_reason": None}
    eventually(lambda: flags.isolation_for(5, "staff") is False, flags=flags)


def test_lock(flags):
    flags.set_lock(True)
    assert flags.lock_state() is True
    assert flags.lock_on() is True
    flags.set_lock(False)
    assert flags.lock_state() is False
    assert flags.lock_on() is False


def test_last_known_definitions_survive_an_unreachable_server(
        remote_app, tmp_path, migrated_sqlite, unleash_server):
    with remote_app.app_context():
        flags = remote_app.extensions["flags"]
        flags.set_isolation(["staff"], 0)
        assert flags.isolation_for(1, "staff") is True
        assert flags.isolation_for(2, "general") is False
        flags.close()

    down_url = f"http://127.0.0.1:{closed_port()}/api"

    def restart_and_evaluate():
        app = build_app(tmp_path, migrated_sqlite, unleash_server, url=down_url)
        with app.app_context():
            flags = app.extensions["flags"]
            return app, flags.isolation_for(1, "staff"), flags.isolation_for(2, "general")

    # A guard against a hang, not a timing assertion: start-up must not wait on the server.
    with ThreadPoolExecutor(1) as pool:
        app, staff, general = pool.submit(restart_and_evaluate).result(timeout=60)
    try:
        assert (staff, general) == (True, False)
        with app.app_context():
            flags = app.extensions["flags"]
            health = flags.health()
            assert health["ok"] is False and health["error"]
            with pytest.raises(FlagServiceError):
                flags.refresh()
            # Still serving the last-known definitions after a failed fetch.
            assert flags.isolation_for(1, "staff") is True
            assert flags.isolation_for(2, "general") is False
    finally:
        app.extensions["flags"].close()


def test_health(flags, unleash_server):
    flags.refresh(wait_seconds=10)
    health = flags.health()
    assert health["backend"] == "remote"
    assert health["ok"] is True
    assert health["error"] is None
    assert health["url"] == unleash_server.url
    assert health["last_sync"] is not None


def last_sync(flags):
    moment = flags.health()["last_sync"]
    return datetime.fromisoformat(moment) if moment else None


@pytest.mark.slow
def test_last_sync_follows_the_sdks_own_polls(tmp_path, migrated_sqlite, private_unleash_server):
    """Per process, `last_sync` is the SDK's last successful poll: background polls move it
    (the app fetches nothing itself here), and a server gone freezes it, which health says."""
    app = build_app(tmp_path, migrated_sqlite, private_unleash_server.server)  # polls every 1 s
    try:
        with app.app_context():
            flags = app.extensions["flags"]
            flags.is_enabled(ISOLATION_FLAG)  # the client starts; its polls run from now on
            eventually(lambda: last_sync(flags) is not None)
            first = last_sync(flags)
            eventually(lambda: last_sync(flags) > first)  # polls that found nothing new too
            health = flags.health()
            assert health["ok"] is True and health["sync_overdue"] is False
            assert health["process"] == os.getpid()

            private_unleash_server.stop()
            eventually(lambda: flags.health()["sync_overdue"], timeout=30)
            frozen = last_sync(flags)
            time.sleep(3 * app.config["FLAG_REFRESH_SECONDS"])  # a few more failed polls
            health = flags.health()
            assert last_sync(flags) == frozen
            assert health["ok"] is False
            assert "no successful poll since" in health["error"]
    finally:
        app.extensions["flags"].close()


def test_a_poll_the_server_refuses_is_reported(tmp_path, migrated_sqlite, unleash_server):
    """The server is up (its /health answers) but refuses this backend token: every poll
    fails, so health reports the overdue poll and why."""
    app = build_app(tmp_path, migrated_sqlite, unleash_server,
                    UNLEASH_API_TOKEN="default:development.not-a-token")
    try:
        with app.app_context():
            flags = app.extensions["flags"]
            flags.is_enabled(ISOLATION_FLAG)
            eventually(lambda: flags.health()["sync_overdue"], timeout=30)
            health = flags.health()
            assert health["ok"] is False and health["last_sync"] is None
            assert "401" in health["error"]
    finally:
        app.extensions["flags"].close()
