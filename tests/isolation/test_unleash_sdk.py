"""Contract tests for `isolation/unleash_sdk.py`, the one module that uses UnleashClient.

They pin what the adapter relies on — the names, the signatures and the behaviour — so an
SDK upgrade that changes any of it fails here instead of silently in production: loading a
bootstrapped cache, reloading it, the fallback for an unknown flag, the file cache that
survives a restart, and a poll against a real unleash-server applied into the engine and
observed, 200 and 304 alike.
"""
import ast
import inspect
import json
from pathlib import Path

import pytest
from UnleashClient._transport import FetchResult

import finance_app
from finance_app.isolation import unleash_sdk
from finance_app.isolation.unleash_sdk import PersistentCache, ReadThroughCache, SdkClient
from tests.support.unleash_server import admin, closed_port, eventually, reset_server

PACKAGE = Path(finance_app.__file__).parent
ADAPTER = Path(unleash_sdk.__file__)
SDK_PACKAGES = {"UnleashClient", "yggdrasil_engine"}
# UnleashClient's private parts (names other objects of the app do not use).
SDK_PRIVATE_ATTRIBUTES = {"_store", "_transport", "_evaluator", "_enricher", "_scheduler"}

FLAG = "CONTRACT_FLAG"


def feature(enabled=True, cohorts=("staff",)):
    return {"name": FLAG, "type": "release", "project": "default", "enabled": enabled,
            "impressionData": False, "strategies": [{
                "name": "flexibleRollout",
                "parameters": {"rollout": "100", "stickiness": "default", "groupId": FLAG},
                "constraints": [{"contextName": "cohort", "operator": "IN",
                                 "values": list(cohorts), "caseInsensitive": False,
                                 "inverted": False}]}]}


def payload(*features):
    return json.dumps({"version": 2, "features": list(features)})


def context(cohort):
    return {"userId": "7", "properties": {"cohort": cohort}}


def offline_client(read_payload, refresh_interval=60):
    return SdkClient(ReadThroughCache(read_payload), app_name="contract",
                     refresh_interval=refresh_interval)


@pytest.fixture
def closing():
    clients = []
    yield clients.append
    for client in clients:
        client.close()


# --- nothing else touches the SDK ------------------------------------------------------------

def test_only_the_adapter_uses_the_sdk():
    for path in PACKAGE.rglob("*.py"):
        if path == ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                modules = []
            assert not {m.split(".")[0] for m in modules} & SDK_PACKAGES, (
                f"{path.relative_to(PACKAGE)} imports the SDK: go through unleash_sdk.py")
            if isinstance(node, ast.Attribute):
                assert node.attr not in SDK_PRIVATE_ATTRIBUTES, (
                    f"{path.relative_to(PACKAGE)}:{node.lineno} reaches into .{node.attr}")


# --- the private SDK API the adapter uses: names and signatures ----------------------------

def test_the_private_sdk_api_the_adapter_uses_is_there(closing):
    client = offline_client(lambda: payload())
    closing(client)
    sdk = client._client  # the adapter's own attribute: the UnleashClient it wraps
    assert list(inspect.signature(sdk._store.load_from_cache).parameters) == []
    assert list(inspect.signature(sdk._store.apply_fetched).parameters) == ["raw_state", "etag"]
    assert list(inspect.signature(sdk._transport.fetch_features).parameters) == ["etag"]
    assert {"raw_state", "etag", "not_modified"} <= set(FetchResult._fields)


# --- behaviour, offline ------------------------------------------------------------------------

def test_a_bootstrapped_cache_answers_before_the_client_starts(closing):
    client = offline_client(lambda: payload(feature()))
    closing(client)
    assert client.is_enabled(FLAG, context("staff"), default=False) is True
    assert client.is_enabled(FLAG, context("general"), default=True) is False
    assert set(client.features()) == {FLAG}


def test_the_fallback_answers_only_for_an_unknown_flag(closing):
    client = offline_client(lambda: payload(feature(enabled=False)))
    closing(client)
    assert client.is_enabled(FLAG, context("staff"), default=True) is False  # known: off
    assert client.is_enabled("UNKNOWN", context("staff"), default=True) is True
    assert client.is_enabled("UNKNOWN", context("staff"), default=False) is False


def test_reload_loads_the_cache_now_and_none_keeps_the_last_state(closing):
    served = [payload(feature(cohorts=["staff"]))]
    client = offline_client(lambda: served[-1])
    closing(client)
    served.append(payload(feature(cohorts=["beta"])))
    client.reload()
    assert client.is_enabled(FLAG, context("beta"), default=False) is True
    assert client.is_enabled(FLAG, context("staff"), default=True) is False
    served.append(None)  # the source could not be read
    client.reload()
    assert client.is_enabled(FLAG, context("beta"), default=False) is True


def test_an_answer_is_evaluated_once_per_load_of_definitions(closing, monkeypatch):
    served = [payload(feature(cohorts=["staff"]))]
    client = offline_client(lambda: served[-1])
    closing(client)
    evaluated = []
    sdk_is_enabled = client._client.is_enabled  # the adapter's own attribute

    def counted(name, context, **kwargs):
        evaluated.append((name, context["properties"]["cohort"]))
        return sdk_is_enabled(name, context, **kwargs)

    monkeypatch.setattr(client._client, "is_enabled", counted)
    for _ in range(3):
        assert client.is_enabled(FLAG, context("staff"), default=False) is True
        assert client.is_enabled(FLAG, context("general"), default=False) is False
    assert evaluated == [(FLAG, "staff"), (FLAG, "general")]
    served.append(payload(feature(cohorts=["general"])))
    client.reload()  # new definitions: every answer is evaluated again
    assert client.is_enabled(FLAG, context("staff"), default=False) is False
    assert client.is_enabled(FLAG, context("general"), default=False) is True
    assert len(evaluated) == 4


def test_the_offline_job_reloads_the_cache_every_refresh_interval(closing):
    served = [payload(feature(cohorts=["staff"]))]
    client = offline_client(lambda: served[-1], refresh_interval=1)
    closing(client)
    client.start(poll=False)
    served.append(payload(feature(cohorts=["beta"])))
    eventually(lambda: client.is_enabled(FLAG, context("beta"), default=False))


def test_on_load_is_told_of_every_load_once_the_engine_holds_it(closing):
    served = [payload(feature(cohorts=["staff"]))]
    told = []  # what the engine answers for a beta user each time on_load is called

    def on_load(client):
        told.append(client.is_enabled(FLAG, context("beta"), default=False))

    client = SdkClient(ReadThroughCache(lambda: served[-1]), app_name="contract",
                       refresh_interval=1, on_load=on_load)
    closing(client)
    assert told == [False]  # built on the bootstrapped definitions
    served.append(payload(feature(cohorts=["beta"])))
    client.reload()
    assert told == [False, True]
    served.append(payload(feature(cohorts=["staff"])))
    client.start(poll=False)  # the offline job: a load now, then one every interval
    assert told == [False, True, False]
    served.append(payload(feature(cohorts=["beta"])))
    eventually(lambda: told[-1] is True)


def test_the_persistent_cache_bootstraps_the_next_client(tmp_path, closing):
    first = PersistentCache("contract", tmp_path, on_payload=lambda p: None)
    assert first.bootstrapped is False
    first.set(unleash_sdk.FEATURES_KEY, payload(feature()))  # as a poll stores it

    loaded = []
    restarted = SdkClient(PersistentCache("contract", tmp_path, on_payload=loaded.append),
                          app_name="contract", refresh_interval=60)
    closing(restarted)
    assert restarted.cache.bootstrapped is True
    assert restarted.is_enabled(FLAG, context("staff"), default=False) is True
    assert loaded and json.loads(loaded[-1])["features"][0]["name"] == FLAG


# --- behaviour, against a real unleash-server --------------------------------------------------

@pytest.fixture
def served_flag(unleash_server):
    """FLAG defined on the session's server, enabled for cohort staff; removed after."""
    reset_server(unleash_server)
    path = f"/projects/default/features/{FLAG}"
    admin(unleash_server, "DELETE", path)
    admin(unleash_server, "DELETE", f"/archive/{FLAG}")
    admin(unleash_server, "POST", "/projects/default/features",
          json={"name": FLAG, "type": "release"}).raise_for_status()
    strategy = feature()["strategies"][0]
    admin(unleash_server, "POST", f"{path}/environments/development/strategies",
          json=strategy).raise_for_status()
    admin(unleash_server, "POST", f"{path}/environments/development/on").raise_for_status()
    yield
    admin(unleash_server, "DELETE", path)
    admin(unleash_server, "DELETE", f"/archive/{FLAG}")


def polling_client(tmp_path, url, token, answers, refresh_interval=60, told=None):
    """`told`, if given, collects what the engine answers for a staff user at each load."""
    def on_load(client):
        if told is not None:
            told.append(client.is_enabled(FLAG, context("staff"), default=False))

    return SdkClient(PersistentCache("contract", tmp_path, on_payload=lambda p: None),
                     url=url, app_name="contract", environment="development",
                     refresh_interval=refresh_interval, request_timeout=5,
                     headers={"Authorization": token},
                     on_poll=lambda ok, status: answers.append((ok, status)), on_load=on_load)


@pytest.mark.unleash
@pytest.mark.postgres
def test_a_poll_is_applied_into_the_engine_and_observed(
        tmp_path, unleash_server, served_flag, closing):
    answers, told = [], []
    client = polling_client(tmp_path, unleash_server.api_url, unleash_server.backend_token,
                            answers, told=told)
    closing(client)
    assert told == [False]  # built with nothing cached: the flag is unknown
    # Unleash serves SDKs a snapshot that catches up within a few seconds of the change.
    eventually(lambda: FLAG in (client.poll() or {}), timeout=30)
    assert client.is_enabled(FLAG, context("staff"), default=False) is True
    assert told[-1] is True  # on_load is told of a poll once the engine holds it
    assert client.is_enabled(FLAG, context("general"), default=True) is False
    assert (True, 200) in answers

    # Nothing new: the server answers 304, the poll still succeeds and is still observed.
    eventually(lambda: FLAG in (client.poll() or {}) and answers[-1] == (True, 304))
    assert client.is_enabled(FLAG, context("staff"), default=False) is True


@pytest.mark.unleash
@pytest.mark.postgres
def test_the_background_polls_are_observed(tmp_path, unleash_server, served_flag, closing):
    answers, told = [], []
    client = polling_client(tmp_path, unleash_server.api_url, unleash_server.backend_token,
                            answers, refresh_interval=1, told=told)
    closing(client)
    client.start(poll=True)
    eventually(lambda: len(answers) >= 3)
    assert all(ok for ok, status in answers)
    eventually(lambda: client.is_enabled(FLAG, context("staff"), default=False), timeout=30)
    eventually(lambda: told[-1] is True)  # the background polls' loads are told too


@pytest.mark.unleash
@pytest.mark.postgres
def test_a_refused_or_failed_poll(tmp_path, unleash_server, closing):
    answers = []
    refused = polling_client(tmp_path / "refused", unleash_server.api_url, "not-a-token",
                             answers)
    closing(refused)
    assert refused.poll() is None
    assert answers == [(False, 401)]

    unreachable = polling_client(tmp_path / "down", f"http://127.0.0.1:{closed_port()}/api",
                                 unleash_server.backend_token, answers)
    closing(unreachable)
    assert unreachable.poll() is None  # no answer at all: nothing observed
    assert answers == [(False, 401)]
