"""Flag evaluation through the Unleash SDK (`UnleashClient`), on one of two backends.

- Embedded (default): the SDK runs offline on definitions the app stores in the
  `flag_definitions` table. A `BaseCache` that reads that table hands them to the SDK, whose
  offline connector reloads it every FLAG_REFRESH_SECONDS in a background thread, so every
  process and host sharing the database sees a change within that interval and no request
  ever queries the database for a flag.
- Remote (`UNLEASH_URL`): the SDK polls a real Unleash server with a backend token; changes go
  through Unleash's Admin API with UNLEASH_ADMIN_TOKEN. A new process waits for its first
  poll (FLAG_STARTUP_TIMEOUT_SECONDS at most) before it evaluates; last-known definitions
  persist in a FileCache under the instance folder and serve a restarted process whose first
  poll failed or is late.

Either way an unknown USE_USER_ISOLATION evaluates to ON (fail closed), and the client is
created lazily in the process that uses it (after a gunicorn fork). The SDK is used through
`unleash_sdk.py` alone. Each process reports its own last successful load of definitions
(`health()`: the SDK's polls on the remote backend, its reloads on the embedded one).

The emergency lock is the EMERGENCY_DATA_LOCK flag or the override in the app's database
(`lock_override.py`), which every process reads in the background like the definitions.
The flag is a kill switch, evaluated with no user in its context: the SDK evaluates it once
per load of definitions, not per request, so a data request costs one SDK evaluation
(USE_USER_ISOLATION).

Every change of a definition is a read-modify-write under one lock of the app's database
(`serialised_change`), which every worker and host shares: concurrent changes never lose one
another's update, whichever backend holds the definitions.
"""
import json
import logging
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
from sqlalchemy import select

from ..extensions import db
from ..models import FlagDefinition
from .change_lock import after_commit, change_in_progress, serialised_change
from .lock_override import LockOverride
from .unleash_sdk import PersistentCache, ReadThroughCache, SdkClient
from .visibility import rule_for, rule_from_payload

log = logging.getLogger(__name__)

ISOLATION_FLAG = "USE_USER_ISOLATION"
LOCK_FLAG = "EMERGENCY_DATA_LOCK"
COHORT_CONTEXT_FIELD = "cohort"

# What an unknown flag means: isolation fails closed; the lock is only on when asked for.
UNKNOWN_FLAG_DEFAULTS = {ISOLATION_FLAG: True, LOCK_FLAG: False}


class FlagServiceError(RuntimeError):
    """The flag service refused or could not be reached for a change."""


# --- definitions in Unleash's client-API shape ---------------------------------------------

def isolation_feature(cohorts=(), percent=0):
    """USE_USER_ISOLATION enabled for `cohorts`, plus `percent`% of everyone else (sticky)."""
    cohorts = sorted(set(cohorts))
    percent = int(percent)
    strategies = []
    if cohorts:
        strategies.append({
            "name": "flexibleRollout",
            "parameters": {"rollout": "100", "stickiness": "default", "groupId": ISOLATION_FLAG},
            "constraints": [{
                "contextName": COHORT_CONTEXT_FIELD, "operator": "IN", "values": cohorts,
                "caseInsensitive": False, "inverted": False,
            }],
        })
    if percent > 0:
        strategies.append({
            "name": "flexibleRollout",
            "parameters": {"rollout": str(percent), "stickiness": "userId",
                           "groupId": ISOLATION_FLAG},
            "constraints": [],
        })
    # A feature with no strategy is on for everyone in Unleash: with nothing to enable, the
    # feature is defined but switched off, which keeps the shared ledger for all.
    return _feature(ISOLATION_FLAG, enabled=bool(strategies), strategies=strategies)


def lock_feature(on):
    strategies = [{"name": "default", "parameters": {}, "constraints": []}] if on else []
    return _feature(LOCK_FLAG, enabled=bool(on), strategies=strategies, type_="kill-switch")


def _feature(name, enabled, strategies, type_="release"):
    return {"name": name, "type": type_, "project": "default", "enabled": enabled,
            "impressionData": False, "strategies": strategies}


def isolation_state(feature):
    """The dashboard's reading of a definition (or None): enabled cohorts, percentage, whether
    everyone is isolated, and whether the app can translate it into SQL (visibility.py)."""
    return {"defined": feature is not None, **rule_for(feature).state()}


def lock_state(feature):
    return bool(feature and feature.get("enabled"))


# --- backends -----------------------------------------------------------------------------

def _ignore_definitions(payload):
    pass


class SyncRecord:
    """This process's loads of flag definitions from their source: when the last one
    succeeded, and the last failure since. A new record comes with each client, so each
    process (after a fork too) reports its own; the dashboard shows the one that answered.

    A load is overdue when none succeeded for three refresh intervals plus the request
    timeout: the background job has stalled or its source is failing.
    """

    def __init__(self, what, patience_seconds):
        self.what = what
        self.patience = patience_seconds
        self.started = _now()
        self.last = None
        self.error = None

    def succeeded(self):
        self.last, self.error = _now(), None

    def failed(self, error):
        self.error = str(error)

    def seconds_without_load(self):
        """Since the last successful load, or since the record started if none has been."""
        return (_now() - (self.last or self.started)).total_seconds()

    def report(self):
        """last_sync, its age, whether it is overdue, the process, and the problem if any."""
        now = _now()
        overdue = self.seconds_without_load() > self.patience
        problem = self.error
        if overdue:
            since = _iso(self.last) or "this process started"
            problem = f"no successful {self.what} since {since}" + (
                f": {self.error}" if self.error else "")
        return {"last_sync": _iso(self.last),
                "sync_age_seconds": round((now - self.last).total_seconds(), 1)
                if self.last else None,
                "sync_overdue": overdue, "process": os.getpid(), "problem": problem}


def _patience(config):
    return 3 * config["FLAG_REFRESH_SECONDS"] + config["FLAG_STARTUP_TIMEOUT_SECONDS"]


class EmbeddedBackend:
    """Definitions in the `flag_definitions` table. The SDK's offline job reads them every
    FLAG_REFRESH_SECONDS in its own thread, so no request ever queries the database for a
    flag; every payload it loads also goes to `on_definitions` (the SQL visibility rule)."""

    name = "embedded"

    def __init__(self, app, engine, on_definitions=_ignore_definitions):
        self.app = app
        self.engine = engine
        self.on_definitions = on_definitions
        self.sync = None

    def make_client(self, on_load):
        self.sync = SyncRecord("read of the flag_definitions table", _patience(self.app.config))
        return SdkClient(ReadThroughCache(self._read_payload),
                         app_name=self.app.config["UNLEASH_APP_NAME"],
                         refresh_interval=self.app.config["FLAG_REFRESH_SECONDS"],
                         on_load=on_load)

    def _read_payload(self):
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(FlagDefinition.definition)).scalars().all()
        except Exception as exc:  # keep serving the last state the engine holds
            self.sync.failed(exc)
            log.warning("flag definitions could not be read: %s", exc)
            return None
        self.sync.succeeded()
        payload = json.dumps({"version": 2, "features": [json.loads(r) for r in rows]})
        self.on_definitions(payload)
        return payload

    def start(self, client):
        client.start(poll=False)

    def refresh(self, client, wait_seconds=None, expect=None):
        # The database write has committed, so one reload serves it.
        client.reload()

    def read_feature(self, name):
        stmt = select(FlagDefinition.definition).where(FlagDefinition.name == name)
        if change_in_progress():  # read-modify-write: the read is in the change's transaction
            row = db.session.execute(stmt).scalar()
        else:
            with self.engine.connect() as conn:
                row = conn.execute(stmt).scalar()
        return json.loads(row) if row else None

    def write_feature(self, feature):
        """Only inside `serialised_change` (FlagService._change): it commits the write."""
        row = db.session.get(FlagDefinition, feature["name"])
        if row is None:
            db.session.add(FlagDefinition(name=feature["name"], definition=json.dumps(feature)))
        else:
            row.definition = json.dumps(feature)
            row.updated_at = datetime.now(timezone.utc)

    def health(self):
        sync = self.sync.report()
        problem = sync.pop("problem")
        return {"backend": self.name, "ok": problem is None, **sync, "error": problem}


class RemoteBackend:
    """A real Unleash server: the SDK polls its client API, changes use its Admin API.

    A change holds the app database's change lock around its Admin API read and write, so
    changes made through the app never lose one another's update. A change made in Unleash's
    own UI (or by another app on the same server) at the same moment is outside that lock:
    Unleash has no compare-and-set on a feature's strategies.
    """

    name = "remote"

    def __init__(self, app, on_definitions=_ignore_definitions):
        cfg = app.config
        self.app = app
        self.on_definitions = on_definitions
        self.url = cfg["UNLEASH_URL"].rstrip("/")
        self.api_url = self.url if self.url.endswith("/api") else self.url + "/api"
        self.base_url = self.api_url[: -len("/api")]
        self.backend_token = cfg.get("UNLEASH_API_TOKEN")
        self.admin_token = cfg.get("UNLEASH_ADMIN_TOKEN")
        self.environment = cfg["UNLEASH_ENVIRONMENT"]
        self.project = cfg["UNLEASH_PROJECT"]
        self.timeout = cfg["FLAG_STARTUP_TIMEOUT_SECONDS"]
        self.cache_dir = Path(cfg["INSTANCE_DIR"]) / "unleash-cache"
        self.sync = None
        self._started = threading.Event()

    def make_client(self, on_load):
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.sync = SyncRecord("poll", _patience(self.app.config))
        # Last-known definitions are served from the first request, before the first poll.
        cache = PersistentCache(self.app.config["UNLEASH_APP_NAME"], self.cache_dir,
                                on_payload=self.on_definitions)
        headers = {"Authorization": self.backend_token} if self.backend_token else {}
        return SdkClient(
            cache, url=self.api_url, app_name=self.app.config["UNLEASH_APP_NAME"],
            environment=self.environment, refresh_interval=self.app.config["FLAG_REFRESH_SECONDS"],
            request_timeout=self.timeout, headers=headers, on_poll=self._polled,
            on_load=on_load)

    def _polled(self, succeeded, status):
        """Every answer to a poll, the SDK's own background ones included."""
        if succeeded:
            self.sync.succeeded()
        else:
            self.sync.failed(f"Unleash answered a poll with HTTP {status}")

    def start(self, client):
        # The first poll runs in the background, and this process waits for it no longer
        # than FLAG_STARTUP_TIMEOUT_SECONDS: start-up never waits longer on the flag server,
        # yet a process just started (a new worker, a host joining the load balancer)
        # answers its first requests on what the server serves, not on the unknown-flag
        # defaults or on last-known definitions older than the server's.
        started = self._started = threading.Event()

        def initialise():
            try:
                client.start(poll=True)
            except Exception as exc:
                log.warning("Unleash client could not start: %s", exc)
            finally:
                started.set()

        threading.Thread(target=initialise, name="unleash-init", daemon=True).start()
        started.wait(self.timeout)

    def refresh(self, client, wait_seconds=None, expect=None):
        """Fetch now; with `expect` (a definition just written), until the server serves it.

        Unleash's client API lags its Admin API: it answers from a snapshot per revision, and
        a scheduler advances the revision about once a second. So right after a write the
        old definition (or a half-written one) can still be served.
        """
        if expect is not None and wait_seconds is None:
            wait_seconds = self.timeout
        deadline = time.monotonic() + (wait_seconds or 0)
        # Let the background first poll finish (bounded by the request timeout): its answer
        # may predate a change just made and must not land after ours.
        self._started.wait(self.timeout + 1)
        while True:
            served = client.poll()
            if served is not None and (expect is None or _same_definition(
                    served.get(expect["name"]), expect)):
                return
            if time.monotonic() >= deadline:
                if served is None:
                    raise FlagServiceError(f"flags could not be fetched from {self.api_url} "
                                           "(see the UnleashClient log); this process keeps "
                                           "its last definitions")
                # The change is saved; every process picks it up at its next poll.
                log.warning("Unleash does not serve the new %s yet", expect["name"])
                return
            time.sleep(0.2)

    # Admin API ----------------------------------------------------------------------------
    def _admin(self, method, path, **kwargs):
        if not self.admin_token:
            raise FlagServiceError("UNLEASH_ADMIN_TOKEN is not set; flag changes are disabled")
        try:
            response = requests.request(
                method, f"{self.api_url}/admin{path}", timeout=self.timeout,
                headers={"Authorization": self.admin_token}, **kwargs,
            )
        except requests.RequestException as exc:
            raise FlagServiceError(f"Unleash server unreachable: {exc}") from exc
        if response.status_code == 404 and method == "GET":
            return None
        if response.status_code >= 400:
            raise FlagServiceError(
                f"Unleash refused {method} {path}: {response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else None

    def _feature_path(self, name):
        return f"/projects/{self.project}/features/{name}"

    def read_feature(self, name):
        body = self._admin("GET", self._feature_path(name))
        if body is None:
            return None
        env = next((e for e in body.get("environments", []) if e["name"] == self.environment), None)
        if env is None:
            return None
        strategies = [
            {"name": s["name"], "parameters": s.get("parameters") or {},
             "constraints": s.get("constraints") or []}
            for s in env.get("strategies", []) if not s.get("disabled")
        ]
        return _feature(name, enabled=bool(env.get("enabled")), strategies=strategies,
                        type_=body.get("type", "release"))

    def write_feature(self, feature):
        name = feature["name"]
        path = self._feature_path(name)
        current = self._admin("GET", path)
        if current is None:
            self._admin("POST", f"/projects/{self.project}/features",
                        json={"name": name, "type": feature["type"]})
            current = self._admin("GET", path)
        env_path = f"{path}/environments/{self.environment}"
        env = next((e for e in current.get("environments", []) if e["name"] == self.environment), {})
        self._allow_cohorts(feature)
        # Clients can be served any intermediate state. Both flags fail closed (isolation on,
        # lock on), so no intermediate state may enable less than either end state: switch off
        # only when off is the end state, and add the new strategies before deleting the old
        # ones (the union enables more than both; deleting the last strategy would switch the
        # environment off, and switching on an environment without strategies adds a 100%
        # rollout).
        if not feature["enabled"]:
            self._admin("POST", f"{env_path}/off")
        for strategy in feature["strategies"]:
            self._admin("POST", f"{env_path}/strategies", json=strategy)
        for strategy in env.get("strategies", []):
            self._admin("DELETE", f"{env_path}/strategies/{strategy['id']}")
        if feature["enabled"]:
            self._admin("POST", f"{env_path}/on")

    def _allow_cohorts(self, feature):
        """Make every cohort the feature names a legal value of the `cohort` context field.

        Unleash refuses (400) a constraint value outside the field's legal values, once it
        has any; a field that does not exist is accepted but leaves the UI without the list.
        """
        cohorts = {value for strategy in feature["strategies"]
                   for c in strategy.get("constraints") or []
                   if c["contextName"] == COHORT_CONTEXT_FIELD for value in c["values"]}
        if not cohorts:
            return
        field = self._admin("GET", f"/context/{COHORT_CONTEXT_FIELD}")
        if field is None:
            self._admin("POST", "/context", json={
                "name": COHORT_CONTEXT_FIELD, "description": "finance_app user cohort",
                "legalValues": [{"value": value} for value in sorted(cohorts)]})
            return
        legal = {v["value"] for v in field.get("legalValues") or []}
        if not legal:  # no list: every value is legal
            return
        for value in sorted(cohorts - legal):
            self._admin("POST", f"/context/{COHORT_CONTEXT_FIELD}/legal-values",
                        json={"value": value})

    def health(self):
        """Whether the server answers now, and this process's last successful poll."""
        try:
            response = requests.get(f"{self.base_url}/health", timeout=self.timeout)
            unreachable = None if response.ok else f"its /health answered {response.status_code}"
        except requests.RequestException as exc:
            unreachable = str(exc)
        sync = self.sync.report()
        problems = [p for p in (unreachable, sync.pop("problem")) if p]
        return {"backend": self.name, "ok": not problems, "url": self.base_url, **sync,
                "error": "; ".join(problems) or None}


def _now():
    return datetime.now(timezone.utc)


def _iso(moment):
    return moment.isoformat() if moment else None


def _same_definition(served, written):
    """Whether the server serves what was written (it adds fields such as `variants`)."""
    if served is None or bool(served.get("enabled")) != written["enabled"]:
        return False
    if not written["enabled"]:
        return True

    def key(strategy):
        constraints = [{k: c.get(k) for k in ("contextName", "operator", "inverted",
                                              "caseInsensitive")} | {"values": sorted(c["values"])}
                       for c in strategy.get("constraints") or []]
        return json.dumps([strategy["name"], strategy.get("parameters") or {}, constraints],
                          sort_keys=True)

    return sorted(map(key, served.get("strategies") or [])) == sorted(
        map(key, written["strategies"]))


# --- the per-process flag service ---------------------------------------------------------

class FlagService:
    """Evaluates flags and changes their definitions; one per app, one SDK client per process."""

    def __init__(self, app, engine, make_backend):
        self.app = app
        self._client = None
        self._pid = None
        self._lock = threading.Lock()
        # Until the SDK has loaded definitions it answers the unknown flag (isolated), and so
        # does the rule.
        self._rule = rule_for(None)
        # The lock flag as the SDK evaluated it at its last load of definitions.
        self._lock_flag = UNKNOWN_FLAG_DEFAULTS[LOCK_FLAG]
        # The backend hands every payload it gives the SDK to the rule as well.
        self.backend = make_backend(self._definitions_loaded)
        self.lock_override = LockOverride(engine, app.config["FLAG_REFRESH_SECONDS"])

    @property
    def client(self):
        # Created in the process that evaluates: the SDK's threads do not survive a fork.
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    client = self.backend.make_client(on_load=self._evaluate_lock)
                    self.backend.start(client)
                    self._client, self._pid = client, os.getpid()
        return self._client

    def is_enabled(self, name, context=None):
        return self.client.is_enabled(name, context or {}, UNKNOWN_FLAG_DEFAULTS.get(name, False))

    def isolation_for(self, user_id, cohort):
        return self.is_enabled(
            ISOLATION_FLAG, {"userId": str(user_id), "properties": {COHORT_CONTEXT_FIELD: cohort}}
        )

    def _definitions_loaded(self, payload):
        try:
            self._rule = rule_from_payload(payload)
        except (ValueError, AttributeError) as exc:  # the engine keeps its state; so do we
            log.warning("flag definitions could not be read for the visibility rule: %s", exc)

    def visibility_rule(self):
        """Who USE_USER_ISOLATION isolates, as SQL, for the definitions the SDK evaluates."""
        self.client  # noqa: B018 - creating the client loads the definitions
        return self._rule

    def _evaluate_lock(self, client):
        # Its context names no user, so its answer holds for every request until the next
        # load, which comes within FLAG_REFRESH_SECONDS (or at once after a change here).
        # Asked of the SDK once it holds the definitions, not read from their JSON: a
        # definition edited in Unleash's UI means what the SDK makes of it.
        # `client`, not `self.client`: this runs while the client is being created too.
        self._lock_flag = client.is_enabled(LOCK_FLAG, {}, UNKNOWN_FLAG_DEFAULTS[LOCK_FLAG])

    def lock_on(self):
        """The EMERGENCY_DATA_LOCK flag as this process evaluated it at its last load of
        definitions."""
        self.client  # noqa: B018 - creating the client loads the definitions
        return self._lock_flag

    # State API used by the dashboard and ops commands: same on both backends ----------------
    def isolation_state(self):
        return isolation_state(self.backend.read_feature(ISOLATION_FLAG))

    def loaded_isolation_state(self):
        """The isolation state as this process last loaded it: what the dashboard shows
        while the backend cannot be read."""
        return isolation_state(self.client.features().get(ISOLATION_FLAG))

    def isolation_rule(self):
        """The visibility rule of the definition the backend holds now (the dashboard's and
        preflight's view; requests use `visibility_rule`, what this process evaluates).
        While the flag service cannot be reached, the rule this process evaluates: changes
        read `isolation_state()` first, which refuses then."""
        try:
            return rule_for(self.backend.read_feature(ISOLATION_FLAG))
        except FlagServiceError:
            return self.visibility_rule()

    def set_isolation(self, cohorts, percent):
        self._change(ISOLATION_FLAG, lambda current: isolation_feature(cohorts, percent))

    def enable_cohort(self, cohort, enabled=True):
        def change(current):
            state = isolation_state(current)
            cohorts = set(state["cohorts"])
            cohorts = cohorts | {cohort} if enabled else cohorts - {cohort}
            return isolation_feature(cohorts, state["percent"])

        self._change(ISOLATION_FLAG, change)

    def set_percent(self, percent):
        if not 0 <= int(percent) <= 100:
            raise ValueError("percent must be between 0 and 100")
        self._change(ISOLATION_FLAG, lambda current: isolation_feature(
            isolation_state(current)["cohorts"], percent))

    def define_isolation_if_missing(self, cohorts=()):
        defined = self._change(ISOLATION_FLAG, lambda current: (
            isolation_feature(cohorts, 0) if current is None else None))
        return defined is not None

    def lock_state(self):
        """The EMERGENCY_DATA_LOCK flag as the backend holds it."""
        return lock_state(self.backend.read_feature(LOCK_FLAG))

    def lock_flag_on(self):
        """The EMERGENCY_DATA_LOCK flag as the backend holds it or, while the flag service
        cannot be reached, as this process last loaded it."""
        try:
            return self.lock_state()
        except FlagServiceError:
            return self.lock_on()

    def set_lock(self, on):
        self._change(LOCK_FLAG, lambda current: lock_feature(on))

    def _change(self, name, change):
        """Read-modify-write flag `name` under the change lock; the definition written, or None.

        `change(current definition or None)` returns the new definition, or None to leave it.
        Embedded: the read and the write are one transaction of the app's database. Remote:
        the lock is held around the Admin API read and write (see RemoteBackend).
        """
        with serialised_change():
            feature = change(self.backend.read_feature(name))
            if feature is not None:
                self.backend.write_feature(feature)
                after_commit(lambda: self._follow(feature))
        return feature

    def _follow(self, feature):
        """After a change commits: evaluate on it in this process now, not at the next poll."""
        try:
            self.refresh(expect=feature)
        except FlagServiceError as exc:  # the change is saved; the next poll brings it
            log.warning("flags not reloaded after a change: %s", exc)

    def health(self):
        """The backend's health and this process's last successful load of definitions."""
        self.client  # noqa: B018 - the client keeps the record of its loads
        return self.backend.health()

    def definitions_age_seconds(self):
        """How old the definitions this process evaluates are: seconds since its last
        successful load (since its client started, if none has been); None while this
        process has no client (it is not created for this: a background metric must not
        start the SDK in a process that serves no request)."""
        if self._client is None or self._pid != os.getpid():
            return None
        return self.backend.sync.seconds_without_load()

    def refresh(self, wait_seconds=None, expect=None):
        """Make this process evaluate on the newest definitions now, not at the next poll.

        Remote: retries a failed fetch for up to `wait_seconds`, then raises FlagServiceError;
        `expect` (a definition just written) waits until the server serves it.
        """
        self.backend.refresh(self.client, wait_seconds, expect)

    def close(self):
        self.lock_override.close()
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None


def make_flag_service(app, engine):
    if app.config.get("UNLEASH_URL"):
        return FlagService(app, engine,
                           lambda on_definitions: RemoteBackend(app, on_definitions))
    return FlagService(app, engine,
                       lambda on_definitions: EmbeddedBackend(app, engine, on_definitions))
