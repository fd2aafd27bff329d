"""The app's two cache backends, and the only module that knows cachelib's and Flask-Caching's
internals. The rest of the app uses `extensions.cache` (Flask-Caching's public API) and the
functions at the end of this module; `tests/test_cache_backend.py` checks every internal
relied on here, so a cachelib or Flask-Caching upgrade that changes one fails there.

- The file cache (the default, on-host) names each file by its key, encoded, so that ops can
  list which keys exist (to find legacy shared-ledger data keys); the stock backend hashes
  the key into the name.
- The Redis cache never lets Redis fail a request: a read that Redis cannot answer is a miss
  (the caller builds from the database), a write is dropped, each logged and counted. After
  a failure Redis is bypassed altogether — no request waits on a dead server — until the
  cache epoch watcher (isolation/cache_epoch.py) has seen it answer and checked that it lost
  no invalidation while away; if it did, the epoch moves and every entry written before is
  left behind, so nothing that went stale during the outage is ever served.
"""
import base64
import hashlib
import logging
import os
import time

import redis
from flask_caching.backends.filesystemcache import FileSystemCache
from flask_caching.backends.rediscache import RedisCache as FlaskCachingRedisCache
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from .extensions import cache

log = logging.getLogger(__name__)

FILE_CACHE_TYPE = "finance_app.cache_backend.ListableFileSystemCache"
REDIS_CACHE_TYPE = "finance_app.cache_backend.RedisCache"

KEY_FILE = "k."
HASHED_FILE = "h."  # a key too long for a file name: stored, but not listable

# A command that fails is tried once more after a short pause (a dropped connection or a
# Redis restart); one that fails again marks Redis unavailable.
REDIS_RETRIES = 1
REDIS_RETRY_PAUSE_SECONDS = 0.05


class CacheUnavailable(RuntimeError):
    """The cache cannot answer a question that has no safe default (listing keys, the epoch
    watcher's count)."""


class ListableFileSystemCache(FileSystemCache):
    failures = 0  # cachelib's file cache logs and swallows its own errors

    def _get_filename(self, key):
        if not isinstance(key, str):
            raise TypeError(f"Key must be a string, received type {type(key)}")
        encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        if len(encoded) > 200:
            return os.path.join(self._path, HASHED_FILE + hashlib.sha256(key.encode()).hexdigest())
        return os.path.join(self._path, KEY_FILE + encoded)

    def keys(self, starting_with="", batch=None):
        for name in os.listdir(self._path):
            if name.startswith(KEY_FILE) and not self._is_mgmt(name):  # not cachelib's count
                encoded = name[len(KEY_FILE):]
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
                if key.startswith(starting_with):
                    yield key

    def reachable(self):
        return os.access(self._path, os.W_OK)


class RedisCache(FlaskCachingRedisCache):
    """Redis through cachelib, with every operation guarded (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failures = 0  # operations that failed or were bypassed, since start
        self._down_since = None
        self._failures_before_down = 0

    @classmethod
    def factory(cls, app, config, args, kwargs):
        timeout = config["CACHE_REDIS_TIMEOUT_SECONDS"]
        client = redis.Redis.from_url(
            config["CACHE_REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(ConstantBackoff(REDIS_RETRY_PAUSE_SECONDS), REDIS_RETRIES))
        return cls(client, *args, key_prefix=config.get("CACHE_KEY_PREFIX"), **kwargs)

    @property
    def down(self):
        return self._down_since is not None

    def _went_down(self, exc):
        if self._down_since is None:
            self._down_since, self._failures_before_down = time.monotonic(), self.failures
            log.warning("the cache is unreachable (%s): bypassed, requests are served from "
                        "the database until it answers again", exc)

    def recovered(self):
        """Use Redis again: the cache epoch watcher has just checked it (cache_epoch.py)."""
        if self._down_since is not None:
            log.warning("the cache answers again after %.1f s; %d cache operations were "
                        "bypassed meanwhile", time.monotonic() - self._down_since,
                        self.failures - self._failures_before_down)
            self._down_since = None

    def _guarded(self, fallback, operation, *args, **kwargs):
        if self._down_since is not None:
            self.failures += 1
            return fallback
        try:
            return operation(*args, **kwargs)
        except redis.RedisError as exc:
            self.failures += 1
            self._went_down(exc)
            return fallback

    def _strict(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except redis.RedisError as exc:
            self._went_down(exc)
            raise CacheUnavailable(str(exc)) from exc

    # Every public operation of cachelib's Redis cache (get_dict goes through get_many).
    def get(self, key):
        return self._guarded(None, super().get, key)

    def get_many(self, *keys):
        return self._guarded([None] * len(keys), super().get_many, *keys)

    def has(self, key):
        return self._guarded(False, super().has, key)

    def set(self, key, value, timeout=None):
        return self._guarded(False, super().set, key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._guarded(False, super().add, key, value, timeout)

    def set_many(self, mapping, timeout=None):
        return self._guarded([], super().set_many, mapping, timeout)

    def delete(self, key):
        return self._guarded(False, super().delete, key)

    def delete_many(self, *keys):
        return self._guarded([], super().delete_many, *keys)

    def unlink(self, *keys):
        return self._guarded(None, super().unlink, *keys)

    def clear(self):
        return self._guarded(False, super().clear)

    def inc(self, key, delta=1):
        return self._guarded(None, super().inc, key, delta)

    def dec(self, key, delta=1):
        return self._guarded(None, super().dec, key, delta)

    # For the cache epoch watcher: Redis itself, bypassed or not, and failures raise.
    def get_strict(self, key):
        return self._strict(super().get, key)

    def set_strict(self, key, value, timeout=None):
        return self._strict(super().set, key, value, timeout)

    def keys(self, starting_with="", batch=1000):
        """Walk the keys with SCAN in batches (never KEYS, which blocks Redis)."""
        prefix = self._get_prefix()
        scan = self._write_client.scan_iter(match=f"{prefix}{starting_with}*", count=batch)
        while True:
            raw = self._strict(next, scan, None)
            if raw is None:
                return
            key = raw.decode() if isinstance(raw, bytes) else raw
            yield key[len(prefix):]

    def reachable(self):
        """Whether requests use Redis now (a read-only check: PING)."""
        if self.down:
            return False
        try:
            return bool(self._strict(self._write_client.ping))
        except CacheUnavailable:
            return False


# --- what the rest of the app uses --------------------------------------------------------------

def backend():
    """This app's backend (Flask-Caching builds one per app)."""
    return cache.cache


def cache_keys(starting_with="", batch=1000):
    """Every key (without the backend's prefix) that starts with `starting_with`, without
    blocking the cache; raises CacheUnavailable when it cannot answer."""
    return backend().keys(starting_with, batch)


def reachable():
    return backend().reachable()


def failures():
    """Cache operations of this process that failed or were bypassed so far (compare two
    readings to know whether some operations reached the cache)."""
    return backend().failures
