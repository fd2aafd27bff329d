"""The second wall (PostgreSQL row-level security, isolation/db_wall.py) stands alone.

- Every owned table carries the policies, and a new owned table gets them from the next
  upgrade with no code of its own; the check fails on an owned table that lacks them.
- With `scope()` and the guard switched off (a test build: every feature's `scope` replaced
  by a pass-through, the guard's listener removed), the route matrix still finds no
  cross-user row, for reads and writes — and neither do a raw `text()` query and a Core
  statement on a plain connection inside a request.
- Requests run as the wall's role with their own principal; ops code, `unscoped()` and
  pooled connections after a request run as the login role, with nothing carried over.
"""
import sys
import threading

import pytest
import sqlalchemy as sa
from flask import jsonify, request
from flask_migrate import upgrade
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from finance_app.extensions import db
from finance_app.isolation import scope, unscoped
from finance_app.isolation import scoping
from finance_app.isolation.db_wall import POLICIES, WALL_ROLE, owned_table_names
from finance_app.models import Transaction
from tests.conftest import add_user, app_on_fresh_database, login
from tests.isolation.conftest import probe_route
from tests.isolation.matrix_ledger import MARKERS, MatrixLedger
from tests.isolation.route_matrix import OWNERS, SEES, VIEWERS
from tests.isolation.test_route_matrix import PROBED, PROBES

pytestmark = pytest.mark.postgres


def tables_without_the_wall(app):
    """Owned tables of the models (and any table with a user_id) missing RLS or a policy."""
    with app.app_context(), db.engine.connect() as conn:
        owned = scoping.owned_tables() | set(owned_table_names(conn))
        secured = set(conn.execute(text(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relkind = 'r'")).scalars())
        policies = set(conn.execute(text(
            "SELECT tablename, policyname FROM pg_policies WHERE :role = ANY(roles)"),
            {"role": WALL_ROLE}).all())
    return sorted(t for t in owned
                  if t not in secured or any((t, name) not in policies for name in POLICIES))


def test_every_owned_table_has_the_policies(postgres_app):
    assert scoping.owned_tables() >= {"transactions", "import_batches", "import_mappings",
                                      "api_tokens", "user_sessions", "budgets"}
    assert tables_without_the_wall(postgres_app) == []


def test_an_owned_table_without_policies_is_found_and_the_next_upgrade_covers_it(postgres_app):
    with postgres_app.app_context(), db.engine.begin() as conn:
        # A made-up owned table (budgets, the example this used, is a real one now).
        conn.execute(text("CREATE TABLE savings_goals (id serial PRIMARY KEY, "
                          "user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE)"))
    assert tables_without_the_wall(postgres_app) == ["savings_goals"]
    with postgres_app.app_context():
        upgrade()  # at head already: no migration runs, the wall is brought up to date
    assert tables_without_the_wall(postgres_app) == []


def test_the_next_upgrade_replaces_the_wall_functions_of_an_earlier_release(postgres_app):
    """A database walled by an earlier release (its per-user function, 25 us a user and
    statement) gets this release's functions from the next `flask db upgrade`."""
    retired = "finance_owner_shared(jsonb, integer, text, integer)"
    add_user(postgres_app, "erin@example.com", "staff")
    with postgres_app.app_context(), db.engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION finance_owner_shared(rule jsonb, uid integer, "
                          "cohort text, bucket integer) RETURNS boolean LANGUAGE sql "
                          "AS 'SELECT false'"))
        conn.execute(text("CREATE OR REPLACE FUNCTION finance_shared_owners() RETURNS SETOF "
                          "integer LANGUAGE sql AS 'SELECT id FROM users WHERE false'"))
    with postgres_app.app_context():
        upgrade()
    with postgres_app.app_context(), db.engine.begin() as conn:
        assert conn.execute(text("SELECT to_regprocedure(:f)"), {"f": retired}).scalar() is None
        conn.execute(text("SELECT set_config('finance.rule', :rule, true)"),
                     {"rule": '{"translatable": true, "alternatives": []}'})  # nobody isolated
        shared = set(conn.execute(text("SELECT finance_shared_owners()")).scalars())
        everyone = set(conn.execute(text("SELECT id FROM users")).scalars())
    assert shared == everyone and everyone


# --- the wall alone ---------------------------------------------------------------------------

def pass_through(stmt):
    """`scope()` switched off: the statement as it was (marked, as scope() marks it)."""
    return stmt.execution_options(**{scoping.SCOPED: True})


@pytest.fixture
def wall_alone(monkeypatch):
    """`scope()` and the guard off in every module of the app, for this test."""
    real_scope = scoping.scope
    patched = [name for name, module in list(sys.modules.items())
               if name.startswith("finance_app") and getattr(module, "scope", None) is real_scope]
    for name in patched:
        monkeypatch.setattr(sys.modules[name], "scope", pass_through)
    assert {"finance_app.isolation.scoping", "finance_app.transactions.service"} <= set(patched)
    event.remove(Session, "do_orm_execute", scoping._guard)
    yield
    event.listen(Session, "do_orm_execute", scoping._guard)


def add_raw_probes(app):
    """Reads and writes that neither scope() nor the guard would ever see."""
    def route(rule, methods=("GET",)):
        return probe_route(app, rule, methods=methods)

    @route("/api/_raw/text")
    def raw_text():
        rows = db.session.execute(text("SELECT description, merchant FROM transactions")).all()
        return jsonify(rows=[list(r) for r in rows])

    @route("/api/_raw/core")
    def raw_core():
        transactions = Transaction.__table__
        with db.engine.connect() as conn:
            rows = conn.execute(select(transactions.c.description, transactions.c.merchant)).all()
        return jsonify(rows=[list(r) for r in rows])

    @route("/api/_raw/text", methods=("POST",))
    def raw_text_write():
        changed = db.session.execute(text(
            "UPDATE transactions SET category = :category"), {"category": request.json["to"]})
        db.session.commit()
        return jsonify(changed=changed.rowcount)

    @route("/api/_raw/core", methods=("DELETE",))
    def raw_core_delete():
        with db.engine.begin() as conn:
            changed = conn.execute(sa.delete(Transaction.__table__))
        return jsonify(changed=changed.rowcount)

    @route("/api/_raw/insert-for", methods=("POST",))
    def raw_insert_for_another():
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO transactions (user_id, date, amount, description) "
                              "VALUES (:owner, DATE '2024-11-01', -1, 'planted')"),
                         {"owner": request.json["owner"]})
        return jsonify(ok=True)

    @route("/api/_raw/whoami")
    def whoami():
        row = db.session.execute(text(
            "SELECT current_user, current_setting('finance.viewer', true)")).one()
        with unscoped("test: the escape hatch"):
            escaped = db.session.execute(text("SELECT current_user")).scalar()
        again = db.session.execute(text("SELECT current_user")).scalar()
        return jsonify(role=row[0], viewer=row[1], escaped=escaped, again=again)

    return app


@pytest.fixture
def matrix(postgres_app, wall_alone):
    return MatrixLedger(add_raw_probes(postgres_app))


def visible_owners(viewer):
    """Whose rows the wall lets `viewer` reach: their own and those of their ledger."""
    return {o for o in OWNERS if o == viewer or OWNERS[o] in SEES[OWNERS[viewer]]}


def owners_shown(response):
    body = response.get_data(as_text=True)
    return {o for o in OWNERS if any(m in body for m in MARKERS[o])}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("route", PROBED, ids=str)
def test_route_matrix_holds_on_the_wall_alone(matrix, route, viewer):
    PROBES[route.shape](matrix, route, viewer)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("path", ["/api/_raw/text", "/api/_raw/core"])
def test_raw_and_core_reads_see_only_what_the_wall_admits(matrix, viewer, path):
    response = matrix.client(viewer).get(path)
    assert response.status_code == 200, response.text
    assert owners_shown(response) == visible_owners(viewer)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_raw_and_core_writes_change_only_what_the_wall_admits(matrix, viewer):
    reachable = visible_owners(viewer)
    before = matrix.everything()
    headers = {"X-CSRFToken": matrix.csrf(viewer)}
    client = matrix.client(viewer)
    assert client.post("/api/_raw/text", json={"to": "raw"}, headers=headers).status_code == 200
    after = matrix.everything()
    assert {o for o in OWNERS if after[o] != before[o]} == reachable
    assert client.delete("/api/_raw/core", headers=headers).status_code == 200
    gone = matrix.everything()
    assert {o for o in OWNERS if gone[o][0] == []} == reachable
    assert {o: gone[o] for o in OWNERS if o not in reachable} == \
        {o: before[o] for o in OWNERS if o not in reachable}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_row_can_be_planted_in_another_users_ledger(matrix, viewer):
    victim = "bob" if viewer == "alice" else "alice"
    before = matrix.state(victim)
    response = matrix.client(viewer).post("/api/_raw/insert-for",
                                          json={"owner": matrix.ids[victim]},
                                          headers={"X-CSRFToken": matrix.csrf(viewer)})
    # The policy refuses the row; the refusal is answered like an unknown row, and counted.
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert matrix.state(victim) == before


def test_requests_run_as_the_wall_role_and_ops_as_the_login_role(matrix):
    login_role = matrix.app.config["SQLALCHEMY_DATABASE_URI"].split("//")[1].split("@")[0]
    response = matrix.client("carol").get("/api/_raw/whoami")
    assert response.json == {"role": WALL_ROLE, "viewer": str(matrix.ids["carol"]),
                             "escaped": login_role, "again": WALL_ROLE}
    # The pooled connection the request used carries nothing into ops code.
    with matrix.app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == login_role
        assert conn.execute(text("SELECT count(*) FROM transactions")).scalar() == \
            sum(len(matrix.state(o)[0]) for o in OWNERS)


def test_the_first_request_of_a_process_decides_behind_the_wall(postgres_app):
    """The flag client is made on a process's first decision and reads the definitions from
    the database then: that read, inside the request, must not wait for the decision it is
    part of (it once deadlocked on the client's lock)."""
    add_user(postgres_app, "first@example.com")
    assert postgres_app.extensions["flags"]._client is None
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(
        client=login(postgres_app.test_client(), "first@example.com")), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert "client" in outcome, "signing in hung: the decision waited for itself"
    assert outcome["client"].get("/api/transactions").status_code == 200


def test_the_dashboard_counts_every_guard_refusal_whoever_asks(postgres_app):
    """guard_events records who was refused, it is no one's ledger: no wall on it, so an
    admin's preflight (in the admin's own request, as the wall's role) counts them all."""
    from datetime import datetime, timezone

    from finance_app.models import GuardEvent
    from tests.conftest import People, set_isolation

    people = People(postgres_app)
    set_isolation(postgres_app, ["staff"])  # the admin is isolated
    with postgres_app.app_context(), db.engine.begin() as conn:
        assert "guard_events" not in owned_table_names(conn)
        conn.execute(GuardEvent.__table__.insert(), [
            {"user_id": people.ids["bob"], "endpoint": "x", "models": "transactions",
             "created_at": datetime.now(timezone.utc)},
            {"user_id": None, "endpoint": "y", "models": "transactions",
             "created_at": datetime.now(timezone.utc)}])
    response = people.client("admin").get("/api/admin/isolation/preflight?cohort=beta")
    assert response.status_code == 200, response.text
    assert response.json["guard_refusals_24h"] == 2


def test_mid_upgrade_requests_run_behind_the_application_wall_then_the_wall_engages(tmp_path):
    """Before migration 0012 the database has neither grants nor policies: requests run as
    the login role (scope() still filters) instead of failing; once the upgrade is done the
    wall engages on the next transaction, pooled connections included."""
    with app_on_fresh_database(tmp_path, "postgres", migrate=False) as app:
        with app.app_context():
            upgrade(revision="0011_cache_epoch")
        add_raw_probes(app)
        user_id = add_user(app, "mid@example.com")
        with app.app_context(), db.engine.begin() as conn:  # the ORM describes head
            conn.execute(text(
                "INSERT INTO transactions (user_id, date, amount, currency, description, "
                "created_at) VALUES (:u, DATE '2024-11-03', -1.00, 'EUR', "
                "'mid-upgrade coffee', now())"), {"u": user_id})
        # A scoped read of what revision 11 has (the list reads account_id, of revision 15).
        @probe_route(app, "/api/_probe/scoped-descriptions")
        def scoped_descriptions():
            return jsonify(db.session.execute(scope(select(Transaction.description)))
                           .scalars().all())

        client = login(app.test_client(), "mid@example.com")
        listed = client.get("/api/_probe/scoped-descriptions")
        assert listed.status_code == 200, listed.text
        assert listed.json == ["mid-upgrade coffee"]
        login_role = client.get("/api/_raw/whoami").json["role"]
        assert login_role != WALL_ROLE
        with app.app_context():
            upgrade()
        assert client.get("/api/_raw/whoami").json["role"] == WALL_ROLE
        assert client.get("/api/transactions").json["total"] == 1
