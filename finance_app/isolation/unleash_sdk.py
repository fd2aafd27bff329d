"""The one module that uses the Unleash SDK (`UnleashClient`, written against 6.9.1).

The rest of the app calls `SdkClient` and the two caches below, never the SDK itself, and
`tests/isolation/test_unleash_sdk.py` pins what this module relies on, so an SDK upgrade
that changes it fails there instead of silently here.

Public SDK API wherever it does the job: the constructor's documented parameters,
`initialize_client`, `is_enabled` with `fallback_function`, `destroy`, and the cache
extension point (`BaseCache`, `FileCache`) with the keys the SDK stores under
(`constants.FEATURES_URL`, `constants.ETAG`). Successful polls are observed through
`custom_options`, the SDK's documented pass-through of `requests` parameters: a response
hook sees every answer to a poll, 304 included. Neither the cache nor the SDK's
`event_callback` would: unleash-server (8.x) sends no ETag with a 304, so the SDK stores
nothing, and its FETCHED event is only emitted for a 200 — a server with nothing new would
look like a stalled poll.

Private SDK API, where the SDK offers nothing public (each use named, in `SdkClient`):
`_store.load_from_cache()` (reload the cache into the engine now: the offline job's step;
also wrapped, to call `on_load` after each load) and `_transport.fetch_features(etag)` +
`_store.apply_fetched(raw_state, etag)` (one poll now: the polling job's two steps, whose
fetch swallows every failure).
"""
import json
from urllib.parse import urlsplit

from UnleashClient import UnleashClient
from UnleashClient.cache import BaseCache, FileCache
from UnleashClient.constants import ETAG, FEATURES_URL
from UnleashClient.utils import InstanceAllowType

# The cache key the SDK keeps the features payload (client-API JSON text) under.
FEATURES_KEY = FEATURES_URL
# The SDK wants a URL even when it never fetches.
OFFLINE_URL = "http://embedded.invalid"
# What a poll that succeeded is answered with: new definitions, or none since the last ETag.
POLL_SUCCESS = (200, 304)
# Answers remembered between two loads of definitions (see SdkClient.is_enabled): at most
# this many, then forgotten all at once (a cap on memory, not an eviction policy).
MEMO_LIMIT = 10_000


def _ignore(*_):
    pass


class SdkClient:
    """One UnleashClient and the cache it was built on.

    `on_poll(succeeded, status)` is called for every answer the server gives a poll (the
    SDK's background polls and `poll()` alike) — not when no answer came at all.
    `on_load(client)` is called once the client is built (on its bootstrapped definitions,
    if any), then after every load of definitions into the engine: the background job's
    (offline reload or poll), `reload()` and `poll()`.
    """

    def __init__(self, cache, *, app_name, refresh_interval, url=OFFLINE_URL,
                 environment="default", request_timeout=30, headers=None, on_poll=_ignore,
                 on_load=_ignore):
        self.cache = cache

        def observe(response, *args, **kwargs):
            if urlsplit(response.url).path.endswith(FEATURES_URL):
                on_poll(response.status_code in POLL_SUCCESS, response.status_code)

        self._client = UnleashClient(
            url=url, app_name=app_name, environment=environment,
            refresh_interval=refresh_interval, request_timeout=request_timeout,
            # One attempt per poll: the next poll is the retry, and a change must not wait.
            request_retries=0, custom_headers=headers or {},
            custom_options={"hooks": {"response": observe}},
            disable_metrics=True, disable_registration=True, cache=cache,
            # One client per app and process; tests build many apps in one process.
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )
        # Private: the SDK announces no load after the first (its READY event comes once).
        # Every load goes through the store's `load_from_cache`, looked up on the store
        # each time (`apply_fetched` calls it) or when the background job starts, after
        # this: wrapped here, it tells `on_load` of them all.
        store = self._client._store
        load = store.load_from_cache
        self._answers = {}

        def load_then_tell():
            load()
            self._answers = {}  # answers of the definitions just replaced
            on_load(self)

        store.load_from_cache = load_then_tell
        on_load(self)

    def start(self, poll):
        """Start the SDK's background job: polling the server every refresh interval
        (`poll`, after a first poll made here), or reloading the cache (offline)."""
        self._client.initialize_client(fetch_toggles=poll)

    def is_enabled(self, name, context, default):
        """The flag for `context`; `default` only when the flag is unknown to the client.

        An answer is a function of the definitions and the context, so it is remembered
        until the next load of definitions (every refresh interval, and each reload or
        poll): a request then costs a dictionary lookup, not an evaluation in the engine
        (about 20-150 us, JSON both ways). Usage metrics are off (`disable_metrics`), so
        no count goes missing. The one thing that changes without a load is the clock: a
        date constraint (added in Unleash's own UI) takes effect up to one refresh interval
        late, as a change of the definitions does."""
        key = (name, default, _frozen(context))
        answers = self._answers  # the dictionary of this load, even if a reload swaps it
        answer = answers.get(key)
        if answer is None:
            answer = self._client.is_enabled(name, context, fallback_function=lambda *_: default)
            if len(answers) >= MEMO_LIMIT:
                answers.clear()
            answers[key] = answer
        return answer

    def reload(self):
        """Load the cache's features into the engine now, not at the next tick."""
        # Private: the SDK has no public reload; this is what its offline job calls.
        self._client._store.load_from_cache()

    def poll(self):
        """One poll now, exactly as the SDK's polling job makes it (conditional on the ETag,
        then applied into the cache and the engine). The features the client holds
        afterwards, by name; None when the fetch failed (the client keeps what it had)."""
        # Private: the SDK has no public fetch, and its job's fetch hides every failure.
        result = self._client._transport.fetch_features(self.cache.get(ETAG, ""))
        if result.raw_state is None and not result.not_modified:
            return None
        self._client._store.apply_fetched(result.raw_state, result.etag)
        return self.features()

    def features(self):
        """The definitions the client holds (its cache's payload), by name."""
        payload = self.cache.get(FEATURES_KEY)
        features = (json.loads(payload).get("features") or []) if payload else []
        return {feature["name"]: feature for feature in features}

    def close(self):
        self._client.destroy()


def _frozen(value):
    """A context (nested dicts of strings) as a hashable key."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


class ReadThroughCache(BaseCache):
    """An SDK cache whose features payload comes from `read_payload()` each time the SDK
    loads it — the offline job, every refresh interval, in its own thread; `SdkClient.reload`
    — and never from a request. `read_payload` returns the client-API JSON text, or None
    when its source cannot be read (the engine then keeps what it has). Bootstrapped: the
    client answers from it before it starts."""

    bootstrapped = True

    def __init__(self, read_payload):
        self._read_payload = read_payload
        self._other = {}

    def set(self, key, value):
        self._other[key] = value

    def mset(self, data):
        self._other.update(data)

    def get(self, key, default=None):
        if key != FEATURES_KEY:
            return self._other.get(key, default)
        payload = self._read_payload()
        return default if payload is None else payload

    def exists(self, key):
        return key == FEATURES_KEY or key in self._other

    def destroy(self):
        self._other.clear()


class PersistentCache(FileCache):
    """The SDK's file cache: the last definitions fetched stay on disk and bootstrap the
    next client (after a restart, when its first poll fails or is late). Every
    features payload the SDK loads also goes to `on_payload`."""

    def __init__(self, name, directory, on_payload):
        super().__init__(name, directory=str(directory))
        self.on_payload = on_payload
        self.bootstrapped = self.get(FEATURES_KEY) is not None

    def get(self, key, default=None):
        value = super().get(key, default)
        if key == FEATURES_KEY and value:
            self.on_payload(value)
        return value
