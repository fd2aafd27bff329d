"""scope(), the guard, the escape hatch, owner stamping and 404 on others' rows."""
import logging

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from finance_app.extensions import db
from finance_app.isolation import IsolationViolation, scope, sign_in, unscoped
from finance_app.isolation.visibility import rollout_bucket
from finance_app.models import GuardEvent, Transaction, User
from tests.conftest import make_app, set_isolation, write_definition
from tests.isolation.conftest import add_probe_routes

ALL_ROWS = sorted(f"{n} {w}" for n in ("alice", "bob", "carol", "admin") for w in ("coffee", "salary"))


def test_scope_restricts_to_the_user_when_isolated(probe_app, people):
    set_isolation(probe_app, ["staff"])
    body = people.client("alice").get("/api/_probe/scoped").json
    assert body == {"isolation": True, "rows": ["alice coffee", "alice salary"]}
    assert people.client("alice").get("/api/_probe/count").json == {"count": 2}


def rows_of(*names):
    return sorted(f"{n} {w}" for n in names for w in ("coffee", "salary"))


def test_scope_is_the_shared_ledger_when_not_isolated(probe_app, people):
    set_isolation(probe_app, ["staff"])  # alice and admin isolated: their rows are theirs alone
    body = people.client("carol").get("/api/_probe/scoped").json
    assert body == {"isolation": False, "rows": rows_of("bob", "carol")}
    assert people.client("carol").get("/api/_probe/count").json == {"count": 4}


def test_the_shared_ledger_is_everything_while_nobody_is_isolated(probe_app, people):
    set_isolation(probe_app, [])
    assert people.client("carol").get("/api/_probe/scoped").json["rows"] == ALL_ROWS


def test_owners_isolated_by_percentage_leave_the_shared_ledger(probe_app, people):
    with probe_app.app_context():
        buckets = dict(db.session.execute(select(User.email, User.rollout_bucket)).all())
    # Stored when each user was created, as the SDK computes it.
    assert buckets == {f"{name}@example.com": rollout_bucket(uid)
                       for name, uid in people.ids.items()}
    # A percentage that takes bob's bucket and not carol's (their buckets differ).
    bob, carol = buckets["bob@example.com"], buckets["carol@example.com"]
    percent = bob if bob < carol else carol
    isolated = "bob" if bob < carol else "carol"
    viewer = "carol" if isolated == "bob" else "bob"
    set_isolation(probe_app, ["staff"], percent)
    assert people.client(isolated).get("/api/_probe/scoped").json == {
        "isolation": True, "rows": rows_of(isolated)}
    assert people.client(viewer).get("/api/_probe/scoped").json == {
        "isolation": False, "rows": rows_of(viewer)}


def test_each_request_follows_the_rule_of_its_time(probe_app, people):
    # Statements are cached by shape: the rule's values must still reach every request.
    carol = people.client("carol")
    for cohorts, visible in ((["staff"], rows_of("bob", "carol")),
                             (["staff", "beta"], rows_of("carol")),
                             ([], ALL_ROWS),
                             (["beta"], rows_of("admin", "alice", "carol"))):
        set_isolation(probe_app, cohorts)
        assert carol.get("/api/_probe/scoped").json["rows"] == visible, cohorts


def test_a_definition_the_app_cannot_translate_fails_closed(probe_app, people):
    write_definition(probe_app, {
        "name": "USE_USER_ISOLATION", "type": "release", "project": "default",
        "enabled": True, "impressionData": False, "strategies": [
            {"name": "flexibleRollout", "constraints": [
                {"contextName": "cohort", "operator": "IN", "values": ["staff"],
                 "inverted": False, "caseInsensitive": False}],
             "parameters": {"rollout": "100", "stickiness": "default",
                            "groupId": "USE_USER_ISOLATION"}},
            # Added in Unleash's own UI: SQL cannot know a request's address.
            {"name": "remoteAddress", "parameters": {"IPs": "10.0.0.1"}, "constraints": []},
        ]})
    with probe_app.app_context():
        state = probe_app.extensions["flags"].isolation_state()
    assert state["translatable"] is False and "remoteAddress" in state["untranslatable_reason"]
    # Carol is not isolated, yet sees only her own rows: whose rows are private is unknown.
    assert people.client("carol").get("/api/_probe/scoped").json == {
        "isolation": False, "rows": rows_of("carol")}
    assert people.client("alice").get("/api/_probe/scoped").json["rows"] == rows_of("alice")


def test_guard_raises_on_a_deliberately_unscoped_query(probe_app, people):
    set_isolation(probe_app, ["staff"])
    with pytest.raises(IsolationViolation, match="transactions"):
        people.client("alice").get("/api/_probe/unscoped")


@pytest.mark.parametrize("cohorts", [["staff"], []], ids=["some-isolated", "none-isolated"])
def test_guard_refuses_unscoped_reads_on_the_shared_ledger_too(probe_app, people, cohorts):
    set_isolation(probe_app, cohorts)
    with pytest.raises(IsolationViolation, match="transactions"):
        people.client("carol").get("/api/_probe/unscoped")


def _in_request_as(app, user_id):
    ctx = app.test_request_context("/api/anything")
    ctx.push()
    sign_in(db.session.get(User, user_id))
    return ctx


@pytest.mark.parametrize("make_stmt", [
    lambda: select(func.count(Transaction.id)),
    lambda: select(User.email).join(Transaction, Transaction.user_id == User.id),
    lambda: select(User).where(User.id.in_(select(Transaction.user_id))),
    lambda: select(aliased(Transaction)),
    lambda: update(Transaction).values(category="x"),
], ids=["aggregate", "join", "subquery", "alias", "bulk-update"])
def test_guard_catches_every_shape_of_unscoped_statement(app, people, make_stmt):
    set_isolation(app, ["staff"])
    with app.app_context():
        ctx = _in_request_as(app, people.ids["alice"])
        try:
            with pytest.raises(IsolationViolation):
                db.session.execute(make_stmt())
            db.session.rollback()
            with pytest.raises(IsolationViolation):
                db.session.get(Transaction, people.rows["bob"][0])
        finally:
            ctx.pop()


def test_scope_covers_joins_aliases_and_aggregates(app, people):
    set_isolation(app, ["staff"])
    with app.app_context():
        ctx = _in_request_as(app, people.ids["alice"])
        try:
            t2 = aliased(Transaction)
            pairs = db.session.execute(scope(
                select(Transaction.description, t2.description)
                .join(t2, t2.date == Transaction.date)
            )).all()
            assert pairs and all(a.startswith("alice") and b.startswith("alice") for a, b in pairs)
            total = db.session.execute(scope(select(func.sum(Transaction.amount)))).scalar()
            assert str(total) == "2487.50"
        finally:
            ctx.pop()


def test_escape_hatch_is_named_and_logged(app, people, caplog):
    set_isolation(app, ["staff"])
    with app.app_context():
        ctx = _in_request_as(app, people.ids["alice"])
        try:
            with caplog.at_level(logging.INFO), unscoped("admin aggregate: total rows"):
                total = db.session.execute(select(func.count(Transaction.id))).scalar()
            assert total == 8
            assert "unscoped access: admin aggregate: total rows" in caplog.text
            with pytest.raises(ValueError):
                with unscoped(""):
                    pass
        finally:
            ctx.pop()


def test_scope_with_no_signed_in_user_is_401_never_all_rows(probe_app, people):
    set_isolation(probe_app, [])
    response = probe_app.test_client().get("/api/_probe/public-scope")
    assert response.status_code == 401
    assert "rows" not in response.json


def test_production_refuses_and_counts(tmp_path, migrated_sqlite, people):
    prod = add_probe_routes(make_app(tmp_path, ISOLATION_GUARD_MODE="refuse",
                                     PROPAGATE_EXCEPTIONS=False))
    try:
        set_isolation(prod, ["staff"])
        client = people.client("alice")  # same database and session secret
        prod_client = prod.test_client()
        prod_client.set_cookie("session", client.get_cookie("session").value)
        response = prod_client.get("/api/_probe/unscoped")
        assert response.status_code == 500
        assert response.json["error"]["code"] == "isolation_refused"
        assert "alice" not in response.text and "bob" not in response.text
        with prod.app_context():
            events = db.session.execute(select(GuardEvent)).scalars().all()
            assert [(e.user_id, e.models) for e in events] == [(people.ids["alice"], "transactions")]
    finally:
        prod.extensions["flags"].close()


@pytest.mark.parametrize("cohorts", [["staff"], []], ids=["isolated", "shared-ledger"])
def test_creates_are_stamped_with_the_owner_whatever_the_flag(probe_app, people, cohorts):
    set_isolation(probe_app, cohorts)
    alice = people.client("alice")
    created = alice.post("/api/_probe/rows", json={"description": "stamped"})
    assert created.status_code == 201
    assert created.json["user_id"] == people.ids["alice"]
    with pytest.raises(IsolationViolation):
        alice.post("/api/_probe/rows", json={"user_id": people.ids["bob"]})


def test_others_rows_are_404_when_isolated(probe_app, people):
    set_isolation(probe_app, ["staff"])
    alice = people.client("alice")
    bob_row = people.rows["bob"][0]
    for response in (alice.get(f"/api/_probe/rows/{bob_row}"),
                     alice.patch(f"/api/_probe/rows/{bob_row}", json={"category": "Hacked"})):
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    # The same answer as for an id that does not exist: no existence oracle.
    missing = alice.get("/api/_probe/rows/999999")
    assert missing.status_code == 404
    own = alice.get(f"/api/_probe/rows/{people.rows['alice'][0]}")
    assert own.json == {"description": "alice coffee"}
    with probe_app.app_context():
        assert db.session.get(Transaction, bob_row).category == "Coffee"


def test_shared_ledger_reaches_shared_rows_but_never_isolated_ones(probe_app, people):
    set_isolation(probe_app, ["staff"])
    carol = people.client("carol")
    assert carol.get(f"/api/_probe/rows/{people.rows['bob'][0]}").json == {"description": "bob coffee"}
    alice_row = people.rows["alice"][0]
    for response in (carol.get(f"/api/_probe/rows/{alice_row}"),
                     carol.patch(f"/api/_probe/rows/{alice_row}", json={"category": "Hacked"})):
        assert response.status_code == 404
    with probe_app.app_context():
        assert db.session.get(Transaction, alice_row).category == "Coffee"


def test_owner_cannot_be_changed_from_a_request(app, people):
    set_isolation(app, [])
    with app.app_context():
        ctx = _in_request_as(app, people.ids["carol"])
        try:
            row = db.session.execute(
                scope(select(Transaction).where(Transaction.id == people.rows["carol"][0]))
            ).scalar_one()
            row.user_id = people.ids["alice"]
            with pytest.raises(IsolationViolation):
                db.session.commit()
            db.session.rollback()
        finally:
            ctx.pop()
