"""USE_USER_ISOLATION per cohort and percentage, one decision per request, fail closed."""
import time

from finance_app.auth.service import change_cohort
from finance_app.extensions import db
from finance_app.isolation.flags import ISOLATION_FLAG
from finance_app.models import User
from tests.conftest import make_app, set_isolation


def me(client):
    return client.get("/api/me").json


def test_fresh_install_is_isolated_for_everyone(app, people):
    """No definition at all: the flag is unknown, which means isolation ON."""
    with app.app_context():
        assert app.extensions["flags"].isolation_state()["defined"] is False
    for name in ("alice", "bob", "carol"):
        assert me(people.client(name))["isolation"] is True


def test_per_cohort_decisions(app, people):
    set_isolation(app, ["staff"])
    assert me(people.client("alice"))["isolation"] is True     # staff
    assert me(people.client("admin"))["isolation"] is True     # staff
    assert me(people.client("bob"))["isolation"] is False      # beta
    assert me(people.client("carol"))["isolation"] is False    # general
    set_isolation(app, ["staff", "beta"])
    assert me(people.client("bob"))["isolation"] is True
    assert me(people.client("carol"))["isolation"] is False


def test_defined_with_no_cohort_keeps_everyone_on_the_shared_ledger(app, people):
    set_isolation(app, [])
    for name in ("alice", "bob", "carol"):
        assert me(people.client(name))["isolation"] is False


def test_percentage_rollout_is_sticky_per_user(app):
    flags = app.extensions["flags"]
    with app.app_context():
        flags.set_isolation([], 30)
        first = {uid: flags.isolation_for(uid, "general") for uid in range(1, 401)}
        again = {uid: flags.isolation_for(uid, "general") for uid in range(1, 401)}
        assert first == again
        share = sum(first.values()) / len(first)
        assert 0.15 < share < 0.45
        flags.set_percent(60)
        wider = {uid: flags.isolation_for(uid, "general") for uid in range(1, 401)}
        # Raising the percentage only adds users: nobody isolated at 30% goes back.
        assert all(wider[uid] for uid, on in first.items() if on)
        assert sum(wider.values()) > sum(first.values())
        assert flags.isolation_state() == {"defined": True, "cohorts": [], "percent": 60,
                                           "everyone": False, "translatable": True,
                                           "untranslatable_reason": None}


def test_unknown_flag_means_isolation_on(app):
    flags = app.extensions["flags"]
    with app.app_context():
        flags.set_lock(False)  # definitions exist, but not this flag
        assert flags.is_enabled(ISOLATION_FLAG, {"userId": "7"}) is True
        assert flags.isolation_for(7, "general") is True
        assert flags.is_enabled("SOME_OTHER_UNKNOWN_FLAG") is False


def test_decision_does_not_change_when_flag_flips_mid_request(probe_app, people):
    set_isolation(probe_app, [])
    carol = people.client("carol")
    body = carol.get("/api/_probe/flip?cohort=general").json
    assert body["first"] is False and body["second"] is False
    assert body["before"] == body["after"]
    assert "alice coffee" in body["after"]  # still the shared ledger for this request
    # The next request follows the new definition.
    assert me(carol)["isolation"] is True
    assert carol.get("/api/_probe/scoped").json["rows"] == ["carol coffee", "carol salary"]


def test_cohort_change_takes_effect_on_next_request(app, people):
    set_isolation(app, ["staff"])
    carol = people.client("carol")
    assert me(carol)["isolation"] is False
    with app.app_context():
        change_cohort(db.session.get(User, people.ids["carol"]), "staff")
    assert me(carol) == {**me(carol), "cohort": "staff", "isolation": True}


def test_definitions_persist_across_restarts(app, tmp_path):
    set_isolation(app, ["beta"], 10)
    restarted = make_app(tmp_path)
    try:
        with restarted.app_context():
            flags = restarted.extensions["flags"]
            assert flags.isolation_state()["cohorts"] == ["beta"]
            assert flags.isolation_for(1, "beta") is True
            assert flags.isolation_for(1, "staff") is (flags.isolation_for(1, "general"))
    finally:
        restarted.extensions["flags"].close()


def test_another_process_sees_a_change_within_its_refresh_interval(app, tmp_path):
    """A second app on the same database stands in for another worker or host."""
    set_isolation(app, [])
    other = make_app(tmp_path, FLAG_REFRESH_SECONDS=1)
    try:
        with other.app_context():
            flags = other.extensions["flags"]
            assert flags.isolation_for(1, "staff") is False
            set_isolation(app, ["staff"])
            deadline = time.monotonic() + 5
            while not flags.isolation_for(1, "staff") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert flags.isolation_for(1, "staff") is True
    finally:
        other.extensions["flags"].close()
