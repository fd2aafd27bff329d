"""Cache restore safety: the shared cache's keys carry an epoch kept in the database.

Redis holds state that must never go back in time: cached principals (a user's cohort, so
their isolation decision), ended sessions and revoked tokens, and the generations that mark
aggregates stale. Redis flushed, or restored from an older snapshot, would bring old values
back: a user moved to an isolated cohort would keep the shared ledger until their cached
principal expired.

So every invalidation (a namespace moved to a new generation; a principal, session or token
dropped) is counted twice, atomically each time: in the database (`cache_state.seq`) and in
the cache (an INCR of `_invalidations`). In each process a background thread compares the two
every FLAG_REFRESH_SECONDS (never per request). When the cache's count is behind — it lost
invalidations — and still is a moment later (an invalidation in flight counts in the
database first), the epoch moves on (a compare-and-set, so many processes move it once). The
cache key prefix is `<CACHE_KEY_PREFIX><epoch>:`, so every key written before is left behind
(to expire) and every process rebuilds from the database, within FLAG_REFRESH_SECONDS plus
the settle time of the one that noticed.

The same count covers Redis being away: an invalidation that cannot reach it (cache_backend.py
bypasses Redis after a failure) is counted in the database only, so Redis comes back behind.
A process that bypassed Redis uses it again only after its watcher has compared the counts
(and moved the epoch if they differ), so nothing that went stale while Redis was away is
read there; other processes follow within the bound above.

Only Redis is shared and restorable this way; the on-host file cache keeps no epoch.
"""
import logging
import time
import uuid
import weakref

from flask import current_app
from sqlalchemy import select, update

from .. import cache_backend
from ..extensions import db
from ..models import CacheState
from .per_process import PerProcess

log = logging.getLogger(__name__)

COUNTER_KEY = "_invalidations"
# How long a count in flight may take to reach the cache before it counts as lost.
SETTLE_SECONDS = 0.5


class CacheEpoch:
    """The epoch of one app's Redis keys, as this process knows it, and its watcher thread."""

    def __init__(self, app):
        self._app = weakref.ref(app)  # the watcher must not keep a discarded app alive
        self.base = app.config.get("CACHE_KEY_PREFIX") or ""
        self.epoch = None
        self._background = PerProcess("cache-epoch", app.config["FLAG_REFRESH_SECONDS"])

    def key_prefix(self):
        """The backend's key prefix (cachelib calls it for every key)."""
        self._background.ensure_started(start=self._load_epoch, tick=self._tick)
        return f"{self.base}{self.epoch}:"

    def _load_epoch(self):
        self.epoch = self._read_epoch()

    def _read_epoch(self):
        try:
            return self._state()[0]
        except Exception as exc:  # no database yet: a namespace of our own, cold but safe
            log.warning("cache epoch unknown (%s): using a private one until it is read", exc)
            return f"x{uuid.uuid4().hex[:8]}"

    def _state(self):
        app = self._app()
        if app is None:
            raise RuntimeError("the app is gone")
        with app.app_context(), db.engine.connect() as conn:
            return conn.execute(select(CacheState.epoch, CacheState.seq)).one()

    def _tick(self):
        if self._app() is None:  # the app was discarded (tests make many)
            return
        try:
            self.check()
        except cache_backend.CacheUnavailable:
            pass  # the backend logged the outage; the next tick tries again
        except Exception as exc:  # the next tick tries again
            log.warning("cache epoch check failed: %s", exc)

    def check(self):
        """One comparison (the watcher's tick); returns True when it moved the epoch. Raises
        CacheUnavailable while Redis cannot answer; once it can, Redis is used again."""
        app = self._app()
        with app.app_context():
            moved = self._compare()
            cache_backend.backend().recovered()
        return moved

    def _compare(self):
        epoch, seq = self._state()
        self.epoch = epoch
        if not self._behind(seq):
            return False
        time.sleep(SETTLE_SECONDS)
        epoch, seq = self._state()
        self.epoch = epoch
        if not self._behind(seq):
            return False
        with db.engine.begin() as conn:
            moved = conn.execute(update(CacheState).where(CacheState.epoch == epoch)
                                 .values(epoch=epoch + 1)).rowcount
        self.epoch, seq = self._state()  # ours, or the one another process moved to
        # The new epoch starts with nothing lost.
        cache_backend.backend().set_strict(COUNTER_KEY, seq, timeout=0)
        if moved:
            log.warning("the cache lost invalidations (flushed, restored from an older "
                        "snapshot, or away): cache epoch %s -> %s", epoch, self.epoch)
        return bool(moved)

    def _behind(self, seq):
        counted = cache_backend.backend().get_strict(COUNTER_KEY)
        return (counted or 0) < seq

    def count_invalidation(self, reached_cache):
        """Count an invalidation in the database, and in the cache if it reached the cache
        (if not, the cache is now behind: the epoch moves). A failure is logged, never
        raised: the write it follows has committed."""
        try:
            with db.engine.begin() as conn:
                conn.execute(update(CacheState).values(seq=CacheState.seq + 1))
        except Exception as exc:
            log.warning("an invalidation could not be counted: %s", exc)
            return
        if reached_cache:
            cache_backend.backend().inc(COUNTER_KEY)  # Redis INCR: atomic across processes


def install(app):
    """Give a Redis cache the epoch prefix; returns the CacheEpoch, or None (file cache)."""
    if app.config.get("CACHE_TYPE") != cache_backend.REDIS_CACHE_TYPE:
        return None
    epoch = CacheEpoch(app)
    app.config["CACHE_KEY_PREFIX"] = epoch.key_prefix  # cachelib accepts a callable
    return epoch


def invalidate(apply):
    """Run `apply()`, the cache writes of one invalidation (after a write committed), and
    count it (see the module docstring). Never raises for the cache: each Redis command is
    retried once (cache_backend.py); an invalidation that still cannot reach Redis is logged
    and left to the epoch, which moves when Redis is back."""
    failures = cache_backend.failures()
    apply()
    reached = cache_backend.failures() == failures
    if not reached:
        log.warning("an invalidation did not reach the cache; the cache epoch will leave "
                    "the entries it would have replaced behind")
    epoch = current_app.extensions.get("cache_epoch")
    if epoch is not None:
        epoch.count_invalidation(reached)
