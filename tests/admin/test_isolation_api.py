"""Staged isolation through the admin API (embedded backend): per-cohort enable and disable,
the percentage, the lock, preflight verdicts and the red check that blocks unless forced,
the audit log and revert. The same scenario runs on a real Unleash in test_admin_scenario.py."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from finance_app.extensions import cache, db
from finance_app.models import User
from tests.admin.support import (
    REASON,
    add_guard_refusal,
    audit_count,
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
from tests.conftest import People
from tests.support.unleash_server import closed_port


def state(admin):
    s = isolation(admin)
    return s["cohorts"], s["percent"], s["lock"]


def test_enable_and_disable_a_cohort(app, people, admin):
    bob, carol = people.client("bob"), people.client("carol")
    assert seen_descriptions(bob) == shared_ledger()

    response = enable(admin, "beta")
    assert response.status_code == 200, response.text
    assert response.json["changed"] is True
    assert response.json["isolation"]["cohorts"] == ["beta", "staff"]
    event = response.json["event"]
    assert event["action"] == "cohort.isolation" and event["target"] == "beta"
    # The event keeps the flag's enabled cohorts too: the log replays the flag's history.
    assert event["before"] == {"enabled": False, "enabled_cohorts": ["staff"]}
    assert event["after"] == {"enabled": True, "enabled_cohorts": ["beta", "staff"]}
    assert event["actor"] == {"id": people.ids["admin"], "email": "admin@example.com"}
    assert event["reason"] == REASON
    assert cohort_rows(admin)["beta"]["isolation"] == "on"
    assert seen_descriptions(bob) == own_rows("bob")
    assert seen_descriptions(carol) == shared_ledger(isolated=("alice", "admin", "bob"))

    # Asking again changes nothing and records nothing.
    events = audit_count(app)
    again = enable(admin, "beta")
    assert again.status_code == 200 and again.json["changed"] is False
    assert again.json["event"] is None and audit_count(app) == events

    off = enable(admin, "beta", enabled=False)
    assert off.status_code == 200
    assert off.json["event"]["after"] == {"enabled": False, "enabled_cohorts": ["staff"]}
    assert seen_descriptions(bob) == shared_ledger()
    assert [e["summary"] for e in audit_log(admin)] == [
        "Disabled isolation for cohort beta", "Enabled isolation for cohort beta"]


def test_percentage_rollout(app, people, admin):
    response = admin.put("/api/admin/isolation/rollout", json={"percent": 30, "reason": REASON})
    assert response.status_code == 200, response.text
    assert response.json["event"]["before"] == {"percent": 0}
    assert response.json["event"]["after"] == {"percent": 30}
    assert state(admin) == (["staff"], 30, False)
    rows = cohort_rows(admin)
    assert (rows["beta"]["isolation"], rows["general"]["isolation"]) == ("partial", "partial")

    with app.app_context():  # sticky per user, and roughly the share asked for
        flags = app.extensions["flags"]
        chosen = [uid for uid in range(1, 401) if flags.isolation_for(uid, "general")]
        assert chosen == [uid for uid in range(1, 401) if flags.isolation_for(uid, "general")]
        assert 0.15 * 400 <= len(chosen) <= 0.45 * 400
        assert all(flags.isolation_for(uid, "staff") for uid in range(1, 50))

    down = admin.put("/api/admin/isolation/rollout", json={"percent": 0, "reason": REASON})
    assert down.status_code == 200 and state(admin) == (["staff"], 0, False)
    assert revert(admin, down.json["event"]["id"]).status_code == 201
    assert state(admin) == (["staff"], 30, False)


def test_emergency_lock(app, people, admin):
    carol = people.client("carol")
    response = admin.put("/api/admin/isolation/lock", json={"on": True, "reason": REASON})
    assert response.status_code == 200 and response.json["isolation"]["lock"] is True
    assert carol.get("/api/transactions").status_code == 503
    # The dashboard keeps working while data is locked.
    assert admin.get("/admin/flags").status_code == 200
    assert revert(admin, response.json["event"]["id"]).status_code == 201
    assert isolation(admin)["lock"] is False
    assert carol.get("/api/transactions").status_code == 200


CHANGES = [
    ("PUT", "/api/admin/isolation/cohorts/beta", {"enabled": True}),
    ("PUT", "/api/admin/isolation/rollout", {"percent": 10}),
    ("PUT", "/api/admin/isolation/lock", {"on": True}),
    ("POST", "/api/admin/cohorts", {"name": "pilot"}),
    ("POST", "/api/admin/cohorts/beta/users", {"emails": "carol@example.com"}),
    ("PUT", "/api/admin/users/{carol}/cohort", {"cohort": "beta"}),
]


@pytest.mark.parametrize("method, path, body", CHANGES, ids=lambda v: str(v)[:30])
def test_every_change_needs_a_reason(app, people, admin, method, path, body):
    before = (state(admin), cohort_rows(admin), audit_count(app))
    for reason in (None, "", "   ", 7, "x" * 501):
        sent = body if reason is None else body | {"reason": reason}
        response = admin.open(path.format(carol=people.ids["carol"]), method=method, json=sent)
        assert response.status_code == 422, reason
        assert response.json["error"]["field"] == "reason"
    assert (state(admin), cohort_rows(admin), audit_count(app)) == before
    # The same request with a reason is a change (so the refusals above were about it).
    sent = body | {"reason": REASON}
    response = admin.open(path.format(carol=people.ids["carol"]), method=method, json=sent)
    assert response.status_code < 300 and response.json["event"] is not None


def test_revert_needs_a_reason(app, admin):
    event = enable(admin, "beta").json["event"]
    for body in ({}, {"reason": " "}):
        response = admin.post(f"/api/admin/audit/{event['id']}/revert", json=body)
        assert response.status_code == 422 and response.json["error"]["field"] == "reason"
    assert state(admin)[0] == ["beta", "staff"]


@pytest.mark.parametrize("path, body, field", [
    ("/api/admin/isolation/cohorts/beta", {"enabled": "yes"}, "enabled"),
    ("/api/admin/isolation/cohorts/beta", {"enabled": 1}, "enabled"),
    ("/api/admin/isolation/cohorts/beta", {}, "enabled"),
    ("/api/admin/isolation/cohorts/beta", {"enabled": True, "force": "yes"}, "force"),
    ("/api/admin/isolation/rollout", {"percent": 101}, "percent"),
    ("/api/admin/isolation/rollout", {"percent": -1}, "percent"),
    ("/api/admin/isolation/rollout", {"percent": "30"}, "percent"),
    ("/api/admin/isolation/rollout", {"percent": 12.5}, "percent"),
    ("/api/admin/isolation/rollout", {"percent": True}, "percent"),
    ("/api/admin/isolation/lock", {"on": "true"}, "on"),
    ("/api/admin/isolation/lock", {"on": None}, "on"),
])
def test_bad_values_are_422_and_change_nothing(app, admin, path, body, field):
    before = (state(admin), audit_count(app))
    response = admin.put(path, json=body | {"reason": REASON})
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert (state(admin), audit_count(app)) == before


def test_not_json_and_unknown_cohort(app, admin):
    assert admin.put("/api/admin/isolation/lock", data="on").status_code == 400
    assert admin.put("/api/admin/isolation/rollout", json=[1, 2]).status_code == 400
    unknown = enable(admin, "nowhere")
    assert unknown.status_code == 404
    assert state(admin) == (["staff"], 0, False) and audit_count(app) == 0


def test_staged_changes_are_refused_while_everyone_is_isolated(app, people):
    """A fresh install: the flag is undefined, so isolation is on for everyone. Enabling one
    cohort would define the flag and switch isolation off for all the others."""
    admin = people.client("admin")
    assert isolation(admin)["defined"] is False and isolation(admin)["everyone"] is True
    for response in (enable(admin, "beta"), enable(admin, "beta", enabled=False),
                     admin.put("/api/admin/isolation/rollout",
                               json={"percent": 50, "reason": REASON})):
        assert response.status_code == 409
        assert response.json["error"]["code"] == "isolation_everywhere"
    assert isolation(admin)["defined"] is False and audit_count(app) == 0
    assert seen_descriptions(people.client("carol")) == own_rows("carol")
    # The lock is not a staged change.
    assert admin.put("/api/admin/isolation/lock",
                     json={"on": True, "reason": REASON}).status_code == 200


def test_preflight_report(app, people, admin):
    report = preflight(admin, "beta")
    assert report["cohort"] == "beta"
    # Staff is isolated: bob sees his and carol's rows today, and loses carol's; carol, who
    # stays on the shared ledger, loses his.
    assert report["users"] == [{"id": people.ids["bob"], "email": "bob@example.com",
                                "isolated_now": False, "isolated_after": True, "own_rows": 2,
                                "visible_rows": 4, "would_vanish": 2}]
    assert report["shared_ledger_after"] == {"users": 1, "rows_leaving": 2}
    assert checks(report) == {"translatable": "green", "unowned_rows": "green",
                              "not_null_migration": "green", "guard_refusals": "green",
                              "legacy_cache_keys": "green", "rows_vanish": "amber",
                              "others_lose_rows": "amber"}
    assert report["verdict"] == "amber"
    assert report["migration"]["not_null_applied"] is True
    assert report["migration"]["revision"] == report["migration"]["head"]
    assert report["unowned_rows"] == {"transactions": 0, "import_batches": 0}

    # Raising the percentage: only the users outside staff whose bucket is within it.
    with app.app_context():
        buckets = {u.email: u.rollout_bucket for u in db.session.execute(select(User)).scalars()}
    shared = {email: buckets[email] for email in ("bob@example.com", "carol@example.com")}
    percent = min(shared.values())
    expected = {email for email, bucket in shared.items() if bucket <= percent}
    raised = admin.get(f"/api/admin/isolation/preflight?percent={percent}").json
    assert {u["email"] for u in raised["users"] if u["isolated_after"]} == expected
    assert raised["shared_ledger_after"] == {"users": 2 - len(expected),
                                             "rows_leaving": 2 * len(expected)}
    assert admin.get("/api/admin/isolation/preflight?percent=101").status_code == 422

    # Staff is enabled already: its users see only their rows, nothing would vanish.
    staff = preflight(admin, "staff")
    assert {u["email"]: u["would_vanish"] for u in staff["users"]} == {
        "admin@example.com": 0, "alice@example.com": 0}
    assert staff["verdict"] == "green"

    # A cohort without users.
    admin.post("/api/admin/cohorts", json={"name": "pilot", "reason": REASON})
    empty = preflight(admin, "pilot")
    assert empty["users"] == [] and empty["verdict"] == "green"

    # No cohort: everyone a percentage rollout can reach (outside the enabled cohorts).
    rollout = preflight(admin)
    assert rollout["cohort"] is None
    assert [u["email"] for u in rollout["users"]] == ["bob@example.com", "carol@example.com"]


def test_preflight_query_validation(admin):
    assert admin.get("/api/admin/isolation/preflight?cohort=nowhere").status_code == 404
    response = admin.get("/api/admin/isolation/preflight?cohort=beta&verbose=1")
    assert response.status_code == 422 and response.json["error"]["field"] == "verbose"


def test_legacy_cache_keys_are_amber(app, people, admin):
    with app.app_context():
        cache.set("summary:2024-11", {"total": "1.00"})   # a legacy (shared) data key
        cache.set("user:1:summary:2024-11", {"total": "1.00"})  # namespaced: not counted
    report = preflight(admin, "staff")
    assert report["legacy_cache_keys"] == 1
    assert checks(report)["legacy_cache_keys"] == "amber" and report["verdict"] == "amber"


def test_guard_refusals_in_the_last_day_are_red_and_block_enabling(app, people, admin):
    add_guard_refusal(app, when=datetime.now(timezone.utc) - timedelta(hours=25))
    assert checks(preflight(admin, "beta"))["guard_refusals"] == "green"  # older than 24 h

    add_guard_refusal(app)
    report = preflight(admin, "beta")
    assert report["guard_refusals_24h"] == 1
    assert checks(report)["guard_refusals"] == "red" and report["verdict"] == "red"

    blocked = enable(admin, "beta")
    assert blocked.status_code == 409
    error = blocked.json["error"]
    assert error["code"] == "preflight_failed"
    assert [c["name"] for c in error["checks"]] == ["guard_refusals"]
    assert "force" in error["message"]
    assert state(admin) == (["staff"], 0, False) and audit_count(app) == 0
    bob = people.client("bob")
    assert seen_descriptions(bob) == shared_ledger()

    forced = enable(admin, "beta", force=True)
    assert forced.status_code == 200, forced.text
    assert forced.json["event"]["after"] == {"enabled": True, "forced_checks": ["guard_refusals"],
                                             "enabled_cohorts": ["beta", "staff"]}
    assert "forced past: guard_refusals" in forced.json["event"]["summary"]
    assert seen_descriptions(bob) == own_rows("bob")

    # Raising the percentage is held to the same checks; lowering it is not.
    raise_ = admin.put("/api/admin/isolation/rollout", json={"percent": 20, "reason": REASON})
    assert raise_.status_code == 409 and raise_.json["error"]["code"] == "preflight_failed"
    assert admin.put("/api/admin/isolation/rollout",
                     json={"percent": 20, "reason": REASON, "force": True}).status_code == 200
    assert admin.put("/api/admin/isolation/rollout",
                     json={"percent": 5, "reason": REASON}).status_code == 200
    # Disabling is always allowed: it returns users to the shared ledger they had.
    assert enable(admin, "beta", enabled=False).status_code == 200


def test_audit_log_is_newest_first_and_pages(app, people, admin):
    enable(admin, "beta")
    admin.put("/api/admin/isolation/rollout", json={"percent": 10, "reason": "second"})
    admin.put("/api/admin/isolation/lock", json={"on": True, "reason": "third"})
    log = audit_log(admin)
    assert [e["action"] for e in log] == ["lock", "rollout.percent", "cohort.isolation"]
    assert [e["reason"] for e in log] == ["third", "second", REASON]
    assert all(e["actor"]["email"] == "admin@example.com" for e in log)
    assert log[0]["created_at"] >= log[1]["created_at"] >= log[2]["created_at"]
    assert log[0]["created_at"].endswith("+00:00")
    page = admin.get("/api/admin/audit?limit=1&offset=1").json
    assert [e["id"] for e in page] == [log[1]["id"]]
    for bad in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
        assert admin.get(f"/api/admin/audit?{bad}").status_code == 422


def test_revert_each_kind_restores_the_state_before(app, people, admin):
    bob = people.client("bob")
    on = enable(admin, "beta").json["event"]
    pct = admin.put("/api/admin/isolation/rollout",
                    json={"percent": 40, "reason": REASON}).json["event"]
    lock = admin.put("/api/admin/isolation/lock", json={"on": True, "reason": REASON}).json["event"]
    assert state(admin) == (["beta", "staff"], 40, True)

    for event in (lock, pct, on):
        response = revert(admin, event["id"])
        assert response.status_code == 201, response.text
        new = response.json["event"]
        assert new["reverted_event_id"] == event["id"]
        assert (new["before"], new["after"]) == (
            {k: v for k, v in event["after"].items() if k != "forced_checks"}, event["before"])
        assert new["summary"].startswith(f"Revert of #{event['id']}: ")
    assert state(admin) == (["staff"], 0, False)
    assert seen_descriptions(bob) == shared_ledger()

    log = {e["id"]: e for e in audit_log(admin)}
    assert all(log[e["id"]]["reverted_by"] for e in (on, pct, lock))

    # Once only.
    again = revert(admin, on["id"])
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reverted"
    # A revert is an event too: reverting it redoes the change.
    redo = revert(admin, log[on["id"]]["reverted_by"])
    assert redo.status_code == 201
    assert state(admin)[0] == ["beta", "staff"]
    assert seen_descriptions(bob) == own_rows("bob")


def test_revert_refuses_when_the_target_changed_since(app, people, admin):
    first = enable(admin, "beta").json["event"]
    enable(admin, "beta", enabled=False)
    enable(admin, "general")
    events = audit_count(app)
    response = revert(admin, first["id"])
    assert response.status_code == 409 and response.json["error"]["code"] == "changed_since"
    assert state(admin)[0] == ["general", "staff"] and audit_count(app) == events
    # Another cohort's later change does not block: the revert touches its own target only.
    general = audit_log(admin)[0]
    enable(admin, "beta")
    assert revert(admin, general["id"]).status_code == 201
    assert state(admin)[0] == ["beta", "staff"]


def test_revert_of_a_disable_runs_preflight(app, people, admin):
    enable(admin, "beta")
    off = enable(admin, "beta", enabled=False).json["event"]
    add_guard_refusal(app)
    blocked = revert(admin, off["id"])
    assert blocked.status_code == 409 and blocked.json["error"]["code"] == "preflight_failed"
    assert state(admin)[0] == ["staff"]
    assert revert(admin, off["id"], force=True).status_code == 201
    assert state(admin)[0] == ["beta", "staff"]


def test_revert_unknown_event(admin):
    assert revert(admin, 424242).status_code == 404


def test_an_unreachable_flag_server_refuses_flag_changes_and_records_nothing(app_with):
    """Remote backend with the server down: flag changes answer 503 and nothing is kept;
    the dashboard still answers, with the state this process last loaded and why (the lock
    still works: tests/isolation/test_lock_override.py)."""
    app = app_with(UNLEASH_URL=f"http://127.0.0.1:{closed_port()}/api",
                   UNLEASH_ADMIN_TOKEN="*:*.unused", FLAG_STARTUP_TIMEOUT_SECONDS=1)
    admin = People(app).client("admin")
    overview = isolation(admin)
    assert "Unleash server unreachable" in overview["unreachable"]
    assert overview["backend"]["ok"] is False
    for response in (enable(admin, "beta"),
                     admin.put("/api/admin/isolation/rollout",
                               json={"percent": 10, "reason": REASON})):
        assert response.status_code == 503
        assert response.json["error"]["code"] == "flag_service_error"
    page = admin.get("/admin/flags")
    assert page.status_code == 200 and 'id="flags-unreachable"' in page.text
    assert audit_count(app) == 0
