"""Contract tests for finance_app/cache_backend.py, the one module that relies on cachelib's
and Flask-Caching's internals: each test names what the adapter relies on, so an upgrade
that changes it fails here (and not as stale data or a 500 in production)."""
import inspect
import os

import pytest
import redis
from cachelib.file import FileSystemCache as CachelibFileSystemCache
from flask import Flask

from finance_app import cache_backend
from finance_app.extensions import cache as app_cache
from finance_app.cache_backend import (
    FILE_CACHE_TYPE,
    HASHED_FILE,
    KEY_FILE,
    REDIS_CACHE_TYPE,
    ListableFileSystemCache,
    RedisCache,
)


def flask_app(**config):
    """A bare Flask app with only the app's Flask-Caching instance, configured as the app
    configures it."""
    app = Flask(__name__)
    app.config.update(CACHE_DEFAULT_TIMEOUT=60, **config)
    app_cache.init_app(app)
    return app, app_cache


# --- the file cache: cachelib names every file through `_get_filename(key)` in `_path` -----

def test_file_cache_names_files_through_get_filename(tmp_path):
    assert list(inspect.signature(CachelibFileSystemCache._get_filename).parameters) == [
        "self", "key"]
    app, cache = flask_app(CACHE_TYPE=FILE_CACHE_TYPE, CACHE_DIR=str(tmp_path))
    with app.app_context():
        backend = cache.cache
        assert isinstance(backend, ListableFileSystemCache)
        assert backend._path == str(tmp_path)
        long_key = "summary:" + "x" * 300
        cache.set("summary:2024-11", {"n": 1})
        cache.set(long_key, 2)
        names = set(os.listdir(tmp_path))
        short_file = os.path.basename(backend._get_filename("summary:2024-11"))
        long_file = os.path.basename(backend._get_filename(long_key))
        assert short_file.startswith(KEY_FILE) and long_file.startswith(HASHED_FILE)
        assert {short_file, long_file} <= names
        # Round trip: the names the adapter gives are the files cachelib writes, reads and
        # deletes; its own bookkeeping file (also named by the adapter) is not a key.
        assert list(cache_backend.cache_keys()) == ["summary:2024-11"]
        assert list(cache_backend.cache_keys(starting_with="user:")) == []
        assert cache.get("summary:2024-11") == {"n": 1} and cache.get(long_key) == 2
        assert cache.delete("summary:2024-11") and cache.delete(long_key)
        assert not {short_file, long_file} & set(os.listdir(tmp_path))
        assert cache_backend.reachable() and cache_backend.failures() == 0


# --- the Redis cache ---------------------------------------------------------------------------

def test_every_public_operation_of_cachelibs_redis_cache_is_guarded():
    """A cachelib operation the adapter does not guard would let a Redis outage reach a
    request; a new one must be added to the adapter (or shown to go through a guarded one)."""
    through_guarded = {"get_dict"}  # cachelib's BaseCache: get_many
    public = {name for name, member in inspect.getmembers(RedisCache.__mro__[1])
              if not name.startswith("_") and callable(member)} - {"factory"}
    guarded = {name for name in public if name in vars(RedisCache)}
    assert public - guarded == through_guarded


@pytest.fixture
def redis_cache(private_redis):
    """The adapter built by Flask-Caching from the app's settings, with a callable prefix
    (the cache epoch's), on a Redis of the test's own."""
    def key_prefix():
        return "app:7:"

    app, cache = flask_app(CACHE_TYPE=REDIS_CACHE_TYPE, CACHE_REDIS_URL=private_redis.url,
                           CACHE_KEY_PREFIX=key_prefix, CACHE_REDIS_TIMEOUT_SECONDS=1)
    with app.app_context():
        yield cache


@pytest.mark.redis
def test_redis_cache_is_built_by_its_factory_with_the_prefix_called_per_key(redis_cache,
                                                                              private_redis):
    backend = redis_cache.cache
    assert isinstance(backend, RedisCache)
    assert isinstance(backend._write_client, redis.Redis)
    assert backend._write_client.connection_pool.connection_kwargs["socket_timeout"] == 1
    redis_cache.set("summary:2024-11", 5)
    assert private_redis.client.exists("app:7:summary:2024-11")
    assert backend._get_prefix() == "app:7:"


@pytest.mark.redis
def test_redis_keys_are_listed_with_scan_without_the_prefix(redis_cache, private_redis):
    private_redis.client.set("elsewhere:summary:2024-11", 1)  # another app's key
    redis_cache.set_many({f"user:{i}:summary:2024-11": i for i in range(25)})
    redis_cache.set("summary:2024-11", 1)

    def keys_is_forbidden(*args, **kwargs):
        raise AssertionError("KEYS blocks Redis: list keys with SCAN")

    redis_cache.cache._write_client.keys = keys_is_forbidden
    assert sorted(cache_backend.cache_keys(starting_with="user:", batch=10)) == sorted(
        f"user:{i}:summary:2024-11" for i in range(25))
    assert len(list(cache_backend.cache_keys())) == 26


@pytest.mark.redis
def test_redis_inc_is_an_atomic_counter_that_get_reads_as_an_int(redis_cache, private_redis):
    """The cache epoch counts invalidations with INCR and compares the count read by get."""
    backend = redis_cache.cache
    assert backend.inc("_invalidations") == 1 and backend.inc("_invalidations") == 2
    assert private_redis.client.get("app:7:_invalidations") == b"2"
    assert backend.get_strict("_invalidations") == 2
    backend.set_strict("_invalidations", 7, timeout=0)
    assert private_redis.client.ttl("app:7:_invalidations") == -1  # timeout 0: never expires
    assert redis_cache.get("_invalidations") == 7


@pytest.mark.redis
def test_redis_down_is_a_miss_a_dropped_write_and_unavailable(redis_cache, private_redis):
    redis_cache.set("summary:2024-11", 5)
    private_redis.stop()
    assert redis_cache.get("summary:2024-11") is None
    assert redis_cache.get_many("a", "b") == [None, None]
    assert redis_cache.get_dict("a", "b") == {"a": None, "b": None}
    assert not redis_cache.set("a", 1) and redis_cache.set_many({"a": 1}) == []
    assert not cache_backend.reachable()
    assert cache_backend.failures() >= 4
    with pytest.raises(cache_backend.CacheUnavailable):
        list(cache_backend.cache_keys())
    with pytest.raises(cache_backend.CacheUnavailable):
        redis_cache.cache.get_strict("_invalidations")
