"""`flask isolation lock on|off` and `flask cache purge-legacy`, through the commands."""
import shutil
import uuid

import pytest

from finance_app.cache_backend import REDIS_CACHE_TYPE
from finance_app.extensions import cache
from finance_app.isolation.decision import lock_sources
from finance_app.isolation.cache_keys import iter_cache_keys
from tests.conftest import People, make_app, set_isolation
from tests.support.services import REDIS_URL, port_open, require


def test_the_lock_closes_data_endpoints_and_lifts_again(app, people, runner):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    assert alice.get("/api/transactions").status_code == 200

    locked = runner.invoke(args=["isolation", "lock", "on"])
    assert locked.exit_code == 0, locked.output
    assert "Emergency data lock: ON" in locked.output
    with app.app_context():
        assert lock_sources()["override"] is True
    response = alice.get("/api/transactions")
    assert response.status_code == 503
    assert response.json["error"]["code"]
    assert alice.get("/healthz").status_code == 200  # only data endpoints close

    lifted = runner.invoke(args=["isolation", "lock", "off"])
    assert lifted.exit_code == 0, lifted.output
    assert "Emergency data lock: off." in lifted.output
    with app.app_context():
        assert lock_sources() == {"override": False, "flag": False, "config": False}
    assert alice.get("/api/transactions").status_code == 200


@pytest.mark.parametrize("args", [[], ["maybe"], ["ON "]])
def test_the_lock_takes_on_or_off(app, runner, args):
    result = runner.invoke(args=["isolation", "lock", *args])
    assert result.exit_code == 2
    with app.app_context():
        assert lock_sources() == {"override": False, "flag": False, "config": False}


def test_the_setting_keeps_the_lock_on_whatever_the_flag(app_with):
    app = app_with(EMERGENCY_DATA_LOCK=True)
    result = app.test_cli_runner().invoke(args=["isolation", "lock", "off"])
    assert result.exit_code == 0
    assert "EMERGENCY_DATA_LOCK is set in this environment" in result.output


LEGACY_KEYS = {"summary:2024-11", "trends:12", "merchants:top"}


def fill_cache(app, user_id):
    """Legacy data keys, one user's namespaced keys and internal keys."""
    namespaced = {f"user:{user_id}:summary:2024-11", f"user:{user_id}:trends:12"}
    internal = {f"_principal:{user_id}", "_gen:legacy", f"_gen:user:{user_id}"}
    with app.app_context():
        for key in LEGACY_KEYS | namespaced | internal:
            cache.set(key, {"built": key})
    return LEGACY_KEYS | namespaced | internal


def cache_keys(app):
    with app.app_context():
        return set(iter_cache_keys())


def purge_through_the_command(app, user_id):
    runner = app.test_cli_runner()
    everything = fill_cache(app, user_id)
    assert cache_keys(app) >= everything

    dry = runner.invoke(args=["cache", "purge-legacy", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Would delete {len(LEGACY_KEYS)} legacy data keys" in dry.output
    assert cache_keys(app) >= everything

    purged = runner.invoke(args=["cache", "purge-legacy"])
    assert purged.exit_code == 0, purged.output
    assert f"Deleted {len(LEGACY_KEYS)} legacy data keys" in purged.output
    assert cache_keys(app) & everything == everything - LEGACY_KEYS
    with app.app_context():
        assert cache.get(f"user:{user_id}:summary:2024-11") == {
            "built": f"user:{user_id}:summary:2024-11"}

    again = runner.invoke(args=["cache", "purge-legacy"])
    assert "Deleted 0 legacy data keys" in again.output


def test_purge_legacy_on_the_default_file_cache(app, people):
    assert "FileSystemCache" in app.config["CACHE_TYPE"]
    purge_through_the_command(app, people.ids["alice"])


@pytest.mark.redis
def test_purge_legacy_on_redis_scans_and_keeps_everything_else(tmp_path, migrated_sqlite):
    require("Redis", port_open("127.0.0.1", 6379))
    shutil.copy(migrated_sqlite, tmp_path / "app.db")
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    app = make_app(tmp_path, REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
    # Another app sharing the Redis database (another prefix): its keys are not ours.
    neighbour_dir = tmp_path / "neighbour"
    neighbour_dir.mkdir()
    shutil.copy(migrated_sqlite, neighbour_dir / "app.db")
    neighbour = make_app(neighbour_dir, REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=f"n{prefix}")
    try:
        assert app.config["CACHE_TYPE"] == REDIS_CACHE_TYPE
        with neighbour.app_context():
            cache.set("summary:2024-11", "the neighbour's")
        with app.app_context():
            client = cache.cache._write_client

            def keys_is_forbidden(*args, **kwargs):
                raise AssertionError("KEYS blocks Redis; the purge must SCAN")

            client.keys = keys_is_forbidden
        purge_through_the_command(app, People(app).ids["alice"])
        with neighbour.app_context():
            assert cache.get("summary:2024-11") == "the neighbour's"
    finally:
        for each in (app, neighbour):
            with each.app_context():
                keys = list(iter_cache_keys())
                if keys:
                    cache.delete_many(*keys)
            each.extensions["flags"].close()


def test_purge_says_so_when_the_cache_is_unreachable(app_with):
    app = app_with(REDIS_URL="redis://127.0.0.1:1/0")
    result = app.test_cli_runner().invoke(args=["cache", "purge-legacy"])
    assert result.exit_code == 1
    assert "The cache could not be purged" in result.output
    assert "Traceback" not in result.output
