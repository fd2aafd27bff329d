"""Every data cache key the app builds, and their invalidation, in one module.

Key names are spelled in `keys.py`. Data keys (anything built from owned rows) come only
from `ns_key`: `user:<id>:<key>` when the request's rows are personal (isolated, or a shared
ledger that fails closed to the viewer's own rows), plain `<key>` on the shared ledger.

Two things make an entry stale:
- a write moves the writer's namespace, the namespaces of the owners of the rows it
  touched, and the shared one to a new generation (so do cohort moves and account
  deletions); `cached()` ignores an entry built under an older generation, which works the
  same on Redis and on the file-system cache;
- on the shared ledger, a change of who is isolated: an entry remembers the digest of the
  visibility rule it was built under, and one built under another rule is rebuilt, so an
  aggregate that still counts a newly isolated user's rows is never served.
"""
import logging
import uuid

from flask import current_app

from .. import cache_backend
from ..extensions import cache
from ..observability import metrics
from .cache_epoch import invalidate
from .decision import isolation_on, visibility_rule
from .keys import DATA_KEY_KINDS, LEGACY_NAMESPACE, generation_key, is_legacy_data_key, user_namespace
from .principal import current_principal

log = logging.getLogger(__name__)

# Longer than any entry lives: a generation that expires only costs a rebuild, and keys a
# cache epoch left behind (cache_epoch.py) must not stay forever.
GENERATION_SECONDS = 7 * 24 * 3600


def _personal():
    """Whether this request's rows are the viewer's own only (never shared with others)."""
    return isolation_on() or not visibility_rule().translatable


def ns_key(key):
    """The cache key for `key` under this request's isolation decision."""
    if key.split(":", 1)[0] not in DATA_KEY_KINDS:
        raise ValueError(f"unregistered data key kind in {key!r}; add it to DATA_KEY_KINDS")
    if _personal():
        return f"{user_namespace(current_principal().id)}:{key}"
    return key


def namespace_of_request():
    return user_namespace(current_principal().id) if _personal() else LEGACY_NAMESPACE


def iter_cache_keys(batch=1000, starting_with=""):
    """Every key in the app's cache (without the backend's prefix) that starts with
    `starting_with`, without blocking it (cache_backend.py: SCAN on Redis, never KEYS)."""
    return cache_backend.cache_keys(starting_with, batch)


def legacy_data_keys():
    return (key for key in iter_cache_keys() if is_legacy_data_key(key))


def purge_legacy_data_keys(dry_run=False, batch=500):
    """Delete legacy data keys in batches; returns how many there were."""
    count, pending = 0, []
    for key in legacy_data_keys():
        count += 1
        pending.append(key)
        if len(pending) >= batch and not dry_run:
            cache.delete_many(*pending)
            pending.clear()
    if pending and not dry_run:
        cache.delete_many(*pending)
    return count


def cached(key, build, timeout=None):
    """Return the value cached under `ns_key(key)`, building (and storing) it when stale."""
    full_key = ns_key(key)
    generation_k = generation_key(namespace_of_request())
    # Personal rows do not depend on who else is isolated; the shared ledger does.
    rule = "" if _personal() else visibility_rule().digest
    generation, entry = cache.get_many(generation_k, full_key)
    hit = entry is not None and generation is not None and entry[:2] == (generation, rule)
    metrics.cache_looked_up(key.split(":", 1)[0], hit)
    if hit:
        return entry[2]
    if generation is None:
        generation = uuid.uuid4().hex
        cache.set(generation_k, generation, timeout=GENERATION_SECONDS)
    value = build()
    cache.set(full_key, (generation, rule, value),
              timeout=timeout or current_app.config["CACHE_DEFAULT_TIMEOUT"])
    return value


def invalidate_after_write(owner_ids=()):
    """Call after a write commits: the writer's, the owners' and the legacy namespace go stale."""
    principal = current_principal()
    invalidate_namespaces(set(owner_ids) | ({principal.id} if principal else set()))


def drop_user_namespace(user_id):
    """For a deleted account: its namespace goes (data keys and generation), and the legacy
    namespace goes stale, since shared-ledger aggregates counted the account's rows."""
    namespace = user_namespace(user_id)
    try:
        data_keys = list(iter_cache_keys(starting_with=f"{namespace}:"))
    except cache_backend.CacheUnavailable as exc:
        # Ids are never given again, so nobody reads them: they expire.
        log.warning("the deleted account's cached data is left to expire: %s", exc)
        data_keys = []
    cache.delete_many(generation_key(namespace), *data_keys)
    invalidate_namespaces(())  # counted there


def invalidate_namespaces(user_ids):
    """Make the given users' namespaces and the legacy one stale (ops code calls this
    directly: it has no request principal). Never raises for the cache (cache_epoch.invalidate)."""
    namespaces = {LEGACY_NAMESPACE} | {user_namespace(uid) for uid in user_ids if uid is not None}
    invalidate(lambda: cache.set_many({generation_key(ns): uuid.uuid4().hex for ns in namespaces},
                                      timeout=GENERATION_SECONDS))
