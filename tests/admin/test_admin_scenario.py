"""The rollout scenario on both flag backends: the embedded one and a real unleash-server
(fixture `unleash_server`). Enable, disable, percentage, preflight (a red check that blocks
and force that overrides), the audit log and revert behave the same; the state shown is read
back from the backend, so a change made elsewhere (another host on the embedded backend,
Unleash's own Admin API on the remote one) shows up on the dashboard."""
import pytest

from finance_app.isolation.flags import COHORT_CONTEXT_FIELD, ISOLATION_FLAG
from tests.admin.support import (
    REASON,
    add_guard_refusal,
    audit_log,
    checks,
    cohort_rows,
    enable,
    isolation,
    own_rows,
    preflight,
    revert,
    seen_descriptions,
    shared_ledger,
)
from tests.conftest import People, make_app, set_isolation
from tests.support.unleash_server import admin as unleash_admin
from tests.support.unleash_server import build_app, reset_server

REMOTE = pytest.param("remote", marks=[pytest.mark.unleash, pytest.mark.postgres])


@pytest.fixture(params=["embedded", REMOTE])
def backend(request, tmp_path, migrated_sqlite):
    """(backend name, app, unleash server or None)."""
    if request.param == "embedded":
        yield "embedded", request.getfixturevalue("app"), None
        return
    server = request.getfixturevalue("unleash_server")
    reset_server(server)
    app = build_app(tmp_path, migrated_sqlite, server)
    yield "remote", app, server
    app.extensions["flags"].close()
    reset_server(server)


def test_rollout_scenario(backend):
    name, app, server = backend
    people = People(app)
    set_isolation(app, ["staff"])
    admin, bob, carol = (people.client(n) for n in ("admin", "bob", "carol"))

    health = isolation(admin)["backend"]
    assert health["backend"] == name and health["ok"] is True
    if server is not None:
        assert health["url"] == server.url
        assert server.url in admin.get("/admin/flags").text

    # Preflight, then enable beta: bob alone, carol still on the shared ledger without him.
    report = preflight(admin, "beta")
    assert report["verdict"] == "amber"
    assert [(u["email"], u["would_vanish"]) for u in report["users"]] == [("bob@example.com", 2)]
    on = enable(admin, "beta")
    assert on.status_code == 200, on.text
    assert cohort_rows(admin)["beta"]["isolation"] == "on"
    assert seen_descriptions(bob) == own_rows("bob")
    assert seen_descriptions(carol) == own_rows("carol")

    # The percentage.
    pct = admin.put("/api/admin/isolation/rollout", json={"percent": 30, "reason": REASON})
    assert pct.status_code == 200, pct.text
    assert isolation(admin)["percent"] == 30
    assert cohort_rows(admin)["general"]["isolation"] == "partial"

    # A red check blocks enabling general; force overrides it.
    add_guard_refusal(app)
    assert checks(preflight(admin, "general"))["guard_refusals"] == "red"
    blocked = enable(admin, "general")
    assert blocked.status_code == 409 and blocked.json["error"]["code"] == "preflight_failed"
    assert "general" not in isolation(admin)["cohorts"]
    forced = enable(admin, "general", force=True)
    assert forced.status_code == 200, forced.text
    assert seen_descriptions(carol) == own_rows("carol")

    # Disable beta: bob is back on the shared ledger, alone on it now that carol is isolated.
    off = enable(admin, "beta", enabled=False)
    assert off.status_code == 200
    assert seen_descriptions(bob) == own_rows("bob")
    assert seen_descriptions(carol) == own_rows("carol")

    log = audit_log(admin)
    assert [(e["action"], e["target"], e["after"]) for e in log] == [
        ("cohort.isolation", "beta", {"enabled": False,
                                      "enabled_cohorts": ["general", "staff"]}),
        ("cohort.isolation", "general", {"enabled": True, "forced_checks": ["guard_refusals"],
                                         "enabled_cohorts": ["beta", "general", "staff"]}),
        ("rollout.percent", "rollout", {"percent": 30}),
        ("cohort.isolation", "beta", {"enabled": True, "enabled_cohorts": ["beta", "staff"]}),
    ]
    assert {e["reason"] for e in log} == {REASON}

    # Revert, newest first: everything back to where the scenario started.
    for event in log:
        response = revert(admin, event["id"], force=True)
        assert response.status_code == 201, response.text
    state = isolation(admin)
    assert (state["cohorts"], state["percent"]) == (["staff"], 0)
    assert seen_descriptions(bob) == shared_ledger()
    assert seen_descriptions(carol) == shared_ledger()
    assert len(audit_log(admin)) == 8


def add_cohort_elsewhere(name, app, server, tmp_path, cohort):
    """Enable `cohort` without the dashboard: from another host sharing the database
    (embedded), or in Unleash itself through its Admin API (remote)."""
    if server is None:
        other_host = make_app(tmp_path)  # same database and instance folder
        try:
            with other_host.app_context():
                flags = other_host.extensions["flags"]
                state = flags.isolation_state()
                flags.set_isolation(state["cohorts"] + [cohort], state["percent"])
        finally:
            other_host.extensions["flags"].close()
        return
    feature_path = f"/projects/default/features/{ISOLATION_FLAG}"
    feature = unleash_admin(server, "GET", feature_path).json()
    strategy = next(e for e in feature["environments"]
                    if e["name"] == "development")["strategies"][0]
    unleash_admin(server, "POST", f"/context/{COHORT_CONTEXT_FIELD}/legal-values",
                  json={"value": cohort}).raise_for_status()
    strategy["constraints"][0]["values"].append(cohort)
    unleash_admin(server, "PUT",
                  f"{feature_path}/environments/development/strategies/{strategy['id']}",
                  json={k: strategy[k] for k in ("name", "parameters", "constraints")}
                  ).raise_for_status()


def test_a_change_made_elsewhere_shows_on_the_dashboard(backend, tmp_path):
    name, app, server = backend
    people = People(app)
    set_isolation(app, ["staff"])
    admin = people.client("admin")
    enabled = enable(admin, "beta").json["event"]

    add_cohort_elsewhere(name, app, server, tmp_path, "ops")

    assert isolation(admin)["cohorts"] == ["beta", "ops", "staff"]
    assert cohort_rows(admin)["ops"] == {"name": "ops", "users": [], "isolation": "on",
                                         "enabled": True}
    page = admin.get("/admin/flags").text
    assert 'data-cohort="ops"' in page

    # The dashboard's own event for beta is still revertable (beta was not touched) ...
    assert revert(admin, enabled["id"]).status_code == 201
    # ... and the cohort enabled elsewhere is kept by it.
    assert isolation(admin)["cohorts"] == ["ops", "staff"]
