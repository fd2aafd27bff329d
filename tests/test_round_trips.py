"""Round trips to PostgreSQL, counted on the wire (tests/support/round_trips.py): a
read-only request spends one per statement that does work plus the transaction's end — no
pre-ping, no BEGIN or settings of their own (finance_app/postgres.py) — and the transactions
are the same as before."""
from datetime import date

import pytest
import sqlalchemy as sa

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import (PASSWORD, add_transactions, add_user, app_on_fresh_database,
                            set_isolation)
from tests.support.round_trips import RoundTripProxy
from tests.support.services import PG_ADMIN_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy():
    proxy = RoundTripProxy()
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_app(tmp_path, proxy):
    """An app on a new PostgreSQL database, reached through `proxy`. Its flag definitions
    are re-read only on request: a background reload would add round trips of its own."""
    with app_on_fresh_database(tmp_path, "postgres", through=proxy.proxied_url,
                               FLAG_REFRESH_SECONDS=3600) as app:
        yield app


@pytest.fixture
def erin(proxied_app):
    """Erin (staff) with one row: a client, and the headers of her bearer token."""
    uid = add_user(proxied_app, "erin@example.com", "staff")
    add_transactions(proxied_app, uid, [(date(2024, 11, 3), "-12.50", "erin coffee")])
    token = proxied_app.test_client().post(
        "/api/auth/tokens", json={"email": "erin@example.com", "password": PASSWORD}).json
    return proxied_app.test_client(), {"Authorization": f"Bearer {token['token']}"}


def list_once(client, headers):
    response = client.get("/api/transactions", headers=headers)
    assert response.status_code == 200, response.text
    assert [item["description"] for item in response.json["items"]] == ["erin coffee"]


def shown(seen):
    return "\n".join(f"{kind}: {' | '.join(sql)}" for kind, sql in seen["round_trips"])


@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "shared-ledger"])
def test_a_warm_list_request_makes_two_round_trips(proxied_app, proxy, erin, isolated):
    set_isolation(proxied_app, ["staff"] if isolated else [])
    client, headers = erin
    list_once(client, headers)  # counts the total into the cache

    with proxy.counting() as seen:
        list_once(client, headers)
    # 1. BEGIN, the row-level-security settings and the page, in one pipeline (one Sync);
    # 2. the ROLLBACK that returns the connection to the pool. The total comes from the
    # cache. Before: also a pre-ping, a BEGIN and the settings of their own, and the count (6).
    trips = seen["round_trips"]
    assert len(trips) == 2, shown(seen)
    (first_kind, first), last = trips
    assert first_kind == "S" and first[0] == "BEGIN" and "set_config('role'" in first[1], \
        shown(seen)
    assert len(first) == 3 and "ORDER BY transactions.date DESC" in first[2], shown(seen)
    assert last == ("Q", ["ROLLBACK"]), shown(seen)
    assert seen["bursts"] == 2  # the same count, read without parsing the protocol


def test_a_list_request_that_counts_makes_three_round_trips(proxied_app, proxy, erin):
    client, headers = erin
    list_once(client, headers)  # identity, flags and the connection warm
    with proxy.counting() as seen:  # another filter: its total is not cached yet
        response = client.get("/api/transactions?q=coffee", headers=headers)
    assert response.json["total"] == 1
    trips = seen["round_trips"]
    assert len(trips) == 3, shown(seen)
    (_, first), (_, page), last = trips
    assert first[0] == "BEGIN" and first[2].startswith("SELECT count(*)"), shown(seen)
    assert len(page) == 1 and "ORDER BY transactions.date DESC" in page[0], shown(seen)
    assert last == ("Q", ["ROLLBACK"]), shown(seen)


def test_a_dead_pooled_connection_is_replaced_without_a_ping(proxied_app, proxy, erin):
    client, headers = erin
    list_once(client, headers)
    name = sa.engine.make_url(proxied_app.config["SQLALCHEMY_DATABASE_URI"]).database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # What a restart or an idle timeout does to every connection in the pool; waits
        # (up to 5 s) until each backend has gone.
        ended = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
            "FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
            {"name": name}).scalar()
    admin.dispose()
    assert ended >= 1

    with proxy.counting() as seen:
        list_once(client, headers)
    # No statement was sent on a dead connection, and none to find out it was dead.
    assert all(sql not in ([";"], [""]) for _, sql in seen["round_trips"]), shown(seen)
    list_once(client, headers)


def test_a_transaction_is_still_one_database_transaction(proxied_app, proxy, erin):
    with proxied_app.app_context(), unscoped("test"):
        with db.engine.connect() as conn:
            uid = conn.execute(sa.text("SELECT id FROM users")).scalar_one()
            account = conn.execute(sa.text("SELECT id FROM accounts WHERE user_id = :u"),
                                   {"u": uid}).scalar_one()
            conn.rollback()
            xact = sa.text("SELECT pg_current_xact_id()::text")
            first = conn.execute(xact).scalar()
            assert conn.execute(xact).scalar() == first
            conn.rollback()
            assert conn.execute(xact).scalar() != first
            conn.rollback()

            # A write, a savepoint rolled back, a failure: all or nothing.
            def descriptions():
                return conn.execute(sa.text(
                    "SELECT array_agg(description ORDER BY id) FROM transactions")).scalar()

            conn.execute(sa.insert(Transaction.__table__).values(
                user_id=uid, account_id=account, date=date(2024, 11, 4), amount=1,
                description="kept only if all is", created_at=sa.func.now()))
            savepoint = conn.begin_nested()
            conn.execute(sa.text("UPDATE transactions SET description = 'undone'"))
            savepoint.rollback()
            assert descriptions() == ["erin coffee", "kept only if all is"]
            with pytest.raises(sa.exc.DBAPIError):
                conn.execute(sa.text("SELECT 1 / 0"))
            conn.rollback()
            assert descriptions() == ["erin coffee"]
            conn.rollback()

            # A server-side cursor (a streamed export) is declared inside the transaction.
            streamed = conn.execution_options(yield_per=2).execute(
                sa.text("SELECT n FROM generate_series(1, 5) AS n")).scalars()
            assert list(streamed) == [1, 2, 3, 4, 5]
            conn.rollback()

            # A transaction in which nothing ran ends without a round trip.
            conn.begin()
            with proxy.counting() as seen:
                conn.commit()
            assert seen["round_trips"] == []
