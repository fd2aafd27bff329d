"""Flag evaluation through the Unleash SDK (`UnleashClient`), on one of two backends.

- Embedded (default): the SDK runs offline on definitions the app stores in the
  `flag_definitions` table. A `BaseCache` that reads that table hands them to the SDK, whose
  offline connector reloads it every FLAG_REFRESH_SECONDS in a background thread, so every
  process and host sharing the database sees a change within that interval and no request
  ever queries the database for a flag.
- Remote (`UNLEASH_URL`): the SDK polls a real Unleash server with a backend token; changes go
  through Unleash's Admin API with UNLEASH_ADMIN_TOKEN. Last-known definitions persist in a
  FileCache under the instance folder and are served from the first request after a restart.

Either way an unknown USE_USER_ISOLATION evaluates to ON (fail closed), and the client is
created lazily in the process that uses it (after a gunicorn fork).
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
from UnleashClient import UnleashClient
from UnleashClient.cache import BaseCache, FileCache
from UnleashClient.constants import FEATURES_URL
from UnleashClient.utils import InstanceAllowType

from ..models import FlagDefinition

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
    """Read enabled cohorts and the percentage back from a feature definition (or None)."""
    if feature is None:
        return {"defined": False, "cohorts": [], "percent": 0, "everyone": True}
    cohorts, percent, everyone = set(), 0, False
    if feature.get("enabled"):
        strategies = feature.get("strategies") or []
        if not strategies:
            everyone = True
        for strategy in strategies:
            constraints = strategy.get("constraints") or []
            rollout = int((strategy.get("parameters") or {}).get("rollout", 100))
            cohort_values = [
                value for c in constraints
                if c.get("contextName") == COHORT_CONTEXT_FIELD and c.get("operator") == "IN"
                and not c.get("inverted") for value in c.get("values", [])
            ]
            if cohort_values and rollout == 100:
                cohorts.update(cohort_values)
            elif not constraints and strategy.get("name") in ("flexibleRollout", "gradualRolloutUserId"):
                percent = max(percent, rollout)
            elif not constraints and strategy.get("name") == "default":
                everyone = True
    return {"defined": True, "cohorts": sorted(cohorts), "percent": 100 if everyone else percent,
            "everyone": everyone}


def lock_state(feature):
    return bool(feature and feature.get("enabled"))


# --- backends -----------------------------------------------------------------------------

class DatabaseDefinitionsCache(BaseCache):
    """The SDK's cache, answering the feature payload from the `flag_definitions` table.

    Only the SDK's background reload calls `get(FEATURES_URL)`; request threads evaluate on
    the engine's in-memory state.
    """

    bootstrapped = True

    def __init__(self, engine):
        self._engine = engine
        self._other = {}
        self.last_sync = None
        self.last_error = None

    def set(self, key, value):
        self._other[key] = value

    def mset(self, data):
        self._other.update(data)

    def get(self, key, default=None):
        if key != FEATURES_URL:
            return self._other.get(key, default)
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(FlagDefinition.definition)).scalars().all()
        except Exception as exc:  # keep serving the last state the engine holds
            self.last_error = str(exc)
            log.warning("flag definitions could not be read: %s", exc)
            return default
        self.last_sync = datetime.now(timezone.utc)
        self.last_error = None
        return json.dumps({"version": 2, "features": [json.loads(r) for r in rows]})

    def exists(self, key):
        return key == FEATURES_URL or key in self._other

    def destroy(self):
        self._other.clear()


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, app, engine):
        self.app = app
        self.engine = engine
        self.cache = DatabaseDefinitionsCache(engine)

    def make_client(self):
        return UnleashClient(
            url="http://embedded.invalid", app_name=self.app.config["UNLEASH_APP_NAME"],
            refresh_interval=self.app.config["FLAG_REFRESH_SECONDS"],
            disable_metrics=True, disable_registration=True, cache=self.cache,
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )

    def start(self, client):
        client.initialize_client(fetch_toggles=False)

    def read_feature(self, name):
        with self.engine.connect() as conn:
            row = conn.execute(
                select(FlagDefinition.definition).where(FlagDefinition.name == name)
            ).scalar()
        return json.loads(row) if row else None

    def write_feature(self, feature):
        from sqlalchemy.orm import Session

        with Session(self.engine) as session, session.begin():
            row = session.get(FlagDefinition, feature["name"])
            if row is None:
                session.add(FlagDefinition(name=feature["name"], definition=json.dumps(feature)))
            else:
                row.definition = json.dumps(feature)
                row.updated_at = datetime.now(timezone.utc)

    def health(self):
        return {"backend": self.name, "ok": self.cache.last_error is None,
                "last_sync": _iso(self.cache.last_sync), "error": self.cache.last_error}


class RemoteBackend:
    """A real Unleash server: the SDK polls its client API, changes use its Admin API."""

    name = "remote"

    def __init__(self, app):
        cfg = app.config
        self.app = app
        self.url = cfg["UNLEASH_URL"].rstrip("/")
        self.api_url = self.url if self.url.endswith("/api") else self.url + "/api"
        self.base_url = self.api_url[: -len("/api")]
        self.backend_token = cfg.get("UNLEASH_API_TOKEN")
        self.admin_token = cfg.get("UNLEASH_ADMIN_TOKEN")
        self.environment = cfg["UNLEASH_ENVIRONMENT"]
        self.project = cfg["UNLEASH_PROJECT"]
        self.timeout = cfg["FLAG_STARTUP_TIMEOUT_SECONDS"]
        self.cache_dir = Path(cfg["INSTANCE_DIR"]) / "unleash-cache"
        self.last_fetch = None

    def make_client(self):
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cache = FileCache(self.app.config["UNLEASH_APP_NAME"], directory=str(self.cache_dir))
        # Serve the last-known definitions from the first request, before the first poll.
        if cache.get(FEATURES_URL):
            cache.bootstrapped = True
        headers = {"Authorization": self.backend_token} if self.backend_token else {}
        return UnleashClient(
            url=self.api_url, app_name=self.app.config["UNLEASH_APP_NAME"],
            environment=self.environment, refresh_interval=self.app.config["FLAG_REFRESH_SECONDS"],
            request_timeout=self.timeout, request_retries=0, custom_headers=headers,
            disable_metrics=True, disable_registration=True, cache=cache,
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )

    def start(self, client):
        # The first poll runs in the background: start-up never waits on the flag server.
        def initialise():
            try:
                client.initialize_client()
                self.last_fetch = datetime.now(timezone.utc)
            except Exception as exc:
                log.warning("Unleash client could not start: %s", exc)

        threading.Thread(target=initialise, name="unleash-init", daemon=True).start()

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
        # Switch off first so that no intermediate state enables more than either end state.
        self._admin("POST", f"{env_path}/off")
        for strategy in env.get("strategies", []):
            self._admin("DELETE", f"{env_path}/strategies/{strategy['id']}")
        for strategy in feature["strategies"]:
            self._admin("POST", f"{env_path}/strategies", json=strategy)
        if feature["enabled"]:
            self._admin("POST", f"{env_path}/on")

    def health(self):
        try:
            ok = requests.get(f"{self.base_url}/health", timeout=self.timeout).ok
            error = None
        except requests.RequestException as exc:
            ok, error = False, str(exc)
        return {"backend": self.name, "ok": ok, "url": self.base_url,
                "last_sync": _iso(self.last_fetch), "error": error}


def _iso(moment):
    return moment.isoformat() if moment else None


# --- the per-process flag service ---------------------------------------------------------

class FlagService:
    """Evaluates flags and changes their definitions; one per app, one SDK client per process."""

    def __init__(self, app, backend):
        self.app = app
        self.backend = backend
        self._client = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def client(self):
        # Created in the process that evaluates: the SDK's threads do not survive a fork.
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    client = self.backend.make_client()
                    self.backend.start(client)
                    self._client, self._pid = client, os.getpid()
        return self._client

    def is_enabled(self, name, context=None):
        default = UNKNOWN_FLAG_DEFAULTS.get(name, False)
        return self.client.is_enabled(name, context or {}, fallback_function=lambda *_: default)

    def isolation_for(self, user_id, cohort):
        return self.is_enabled(
            ISOLATION_FLAG, {"userId": str(user_id), "properties": {COHORT_CONTEXT_FIELD: cohort}}
        )

    def lock_on(self):
        return self.is_enabled(LOCK_FLAG)

    # State API used by the dashboard and ops commands: same on both backends ----------------
    def isolation_state(self):
        return isolation_state(self.backend.read_feature(ISOLATION_FLAG))

    def set_isolation(self, cohorts, percent):
        self.backend.write_feature(isolation_feature(cohorts, percent))
        self.refresh()

    def enable_cohort(self, cohort, enabled=True):
        state = self.isolation_state()
        cohorts = set(state["cohorts"])
        cohorts = cohorts | {cohort} if enabled else cohorts - {cohort}
        self.set_isolation(cohorts, state["percent"])

    def set_percent(self, percent):
        if not 0 <= int(percent) <= 100:
            raise ValueError("percent must be between 0 and 100")
        self.set_isolation(self.isolation_state()["cohorts"], percent)

    def define_isolation_if_missing(self, cohorts=()):
        if self.backend.read_feature(ISOLATION_FLAG) is None:
            self.set_isolation(cohorts, 0)
            return True
        return False

    def lock_state(self):
        return lock_state(self.backend.read_feature(LOCK_FLAG))

    def set_lock(self, on):
        self.backend.write_feature(lock_feature(on))
        self.refresh()

    def health(self):
        return self.backend.health()

    def refresh(self, wait_seconds=None):
        """Make this process evaluate on the newest definitions now, not at the next poll."""
        client = self.client
        if isinstance(self.backend, EmbeddedBackend):
            # The SDK has no public "reload now"; its feature store is what the offline
            # connector calls on every tick, so calling it here is the same reload, sooner.
            client._store.load_from_cache()
            return
        deadline = time.monotonic() + (wait_seconds or 0)
        while True:
            try:
                client.connector._fetch_and_load()
                self.backend.last_fetch = datetime.now(timezone.utc)
                return
            except Exception:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        if self._client is not None and self._pid == os.getpid():
            self._client.destroy()
        self._client = None


def make_flag_service(app, engine):
    backend = RemoteBackend(app) if app.config.get("UNLEASH_URL") else EmbeddedBackend(app, engine)
    return FlagService(app, backend)
