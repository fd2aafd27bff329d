"""The list's total comes from the cache, per namespace and generation: a page asked for again
(or another page, or another sort) runs no count, and no write, cohort move, flag change or
account deletion ever leaves a stale total behind. Without a cache it is counted each time.

Every total is compared with a fresh count of the rows the viewer may see, read straight
from the database. Isolated: Iris and the admin (staff). Shared ledger: Sam and Sue
(general) and Bob (beta, until beta is isolated). On SQLite and PostgreSQL with the file
cache, and on PostgreSQL with Redis.
"""
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from finance_app import cache_backend
from finance_app.cache_backend import REDIS_CACHE_TYPE
from finance_app.extensions import cache, db
from finance_app.isolation import unscoped
from finance_app.isolation.cache_keys import iter_cache_keys
from finance_app.models import Transaction, User
from tests.admin.support import REASON, enable
from tests.charts.ledger import sql_statements
from tests.conftest import (PASSWORD, add_transactions, add_user, app_on_fresh_database, login,
                            set_isolation)
from tests.ingest.test_import import upload
from tests.support.services import REDIS_URL, port_open, require

OWNERS = {"iris": "staff", "sam": "general", "sue": "general", "bob": "beta"}
CATEGORIES = ("Food", "Rent", None)

# query string, which transactions it keeps
FILTERS = [
    ("", lambda tx: True),
    ("category=Food", lambda tx: tx.category == "Food"),
    ("category=Rent", lambda tx: tx.category == "Rent"),
    ("month=2024-03", lambda tx: (tx.date.year, tx.date.month) == (2024, 3)),
    ("q=COFFEE&min=-50", lambda tx: "coffee" in tx.description.lower() and tx.amount >= -50),
]


def template(owner, rows):
    return [(date(2024, 2 + i % 2, 1 + i), f"-{10 * (i + 1)}.00",
             f"{owner} {('coffee', 'rent', 'bus')[i % 3]} {i}", None, CATEGORIES[i % 3])
            for i in range(rows)]


class Ledger:
    def __init__(self, app):
        self.app = app
        self.isolated = {"staff"}
        self.ids = {name: add_user(app, f"{name}@example.com", cohort)
                    for name, cohort in OWNERS.items()}
        self.ids["admin"] = add_user(app, "admin@example.com", "staff", is_admin=True)
        set_isolation(app, self.isolated)
        for n, (name, uid) in enumerate(self.ids.items()):
            add_transactions(app, uid, template(name, 6 + n))  # every owner a different count
        self.clients = {name: login(app.test_client(), f"{name}@example.com")
                        for name in self.ids}

    def total(self, viewer, query=""):
        response = self.clients[viewer].get(f"/api/transactions?{query}")
        assert response.status_code == 200, response.text
        return response.json["total"]

    def fresh_total(self, viewer, keep=lambda tx: True):
        """The rows `viewer` may see that `keep` keeps, counted from the database as it is."""
        with self.app.app_context(), unscoped("test: the count to compare with"):
            cohorts = dict(db.session.execute(select(User.id, User.cohort)).all())
            rows = db.session.execute(select(Transaction)).scalars().all()
        viewer_id = self.ids[viewer]
        if cohorts[viewer_id] in self.isolated:
            owners = {viewer_id}
        else:
            owners = {uid for uid, cohort in cohorts.items() if cohort not in self.isolated}
        return sum(1 for tx in rows if tx.user_id in owners and keep(tx))

    def check(self, viewers=None):
        """Every viewer's total under every filter is the fresh count (and is cached now)."""
        totals = {}
        for viewer in viewers or self.clients:
            for query, keep in FILTERS:
                totals[viewer, query] = self.total(viewer, query)
                assert totals[viewer, query] == self.fresh_total(viewer, keep), (viewer, query)
        return totals


def counts(statements):
    """The list's count statements among `statements`."""
    flat = (" ".join(s.lower().split()) for s in statements)
    return [s for s in flat if s.startswith("select count(*)") and "from transactions" in s]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-redis",
                                     marks=[pytest.mark.postgres, pytest.mark.redis])])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        yield Ledger(request.getfixturevalue("app"))
        return
    overrides = {}
    if request.param == "postgres-redis":
        require("Redis", port_open("127.0.0.1", 6379))
        overrides = dict(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}:")
    with app_on_fresh_database(tmp_path, "postgres", **overrides) as app:
        assert (app.config["CACHE_TYPE"] == REDIS_CACHE_TYPE) == bool(overrides)
        yield Ledger(app)
        if overrides:  # the shared Redis keeps nothing of ours
            with app.app_context():
                keys = list(iter_cache_keys())
                if keys:
                    cache.delete_many(*keys)


@pytest.mark.parametrize("viewer", ["iris", "sam"], ids=["isolated", "shared-ledger"])
def test_a_page_asked_again_runs_no_count_and_filters_keep_their_own(ledger, viewer):
    with sql_statements(ledger.app) as seen:
        everything = ledger.total(viewer)
        assert len(counts(seen)) == 1
        # The same page, the next page, another sort, the web page: one entry for them all.
        assert ledger.total(viewer) == everything
        assert ledger.total(viewer, "limit=2&offset=2&sort=amount") == everything
        page = ledger.clients[viewer].get("/transactions?sort=date")
        assert page.status_code == 200 and f"{everything} transactions" in page.text
        assert len(counts(seen)) == 1
        # Another filter is another entry, with its own total.
        food = ledger.total(viewer, "category=Food")
        assert len(counts(seen)) == 2
        assert ledger.total(viewer, "category=Food&offset=1") == food
        assert len(counts(seen)) == 2
    assert everything == ledger.fresh_total(viewer)
    assert food == ledger.fresh_total(viewer, lambda tx: tx.category == "Food")
    assert 0 < food < everything


def test_the_count_key_is_short_and_only_the_filters_make_it(app):
    from finance_app.transactions.service import Filters

    key = Filters(q="x" * 200, category="Food").count_key()
    assert key.startswith("count:") and len(key) == len("count:") + 64
    assert Filters(q="x" * 200, category="Food", sort="amount", limit=5, offset=10,
                   ).count_key() == key
    assert Filters(category="Food").count_key() != Filters(category="Rent").count_key()
    assert Filters(min="-5").count_key() != Filters(max="-5").count_key()


def test_a_create_is_counted_at_once(ledger):
    ledger.check()
    new = {"date": "2024-03-20", "amount": "-3.00", "description": "sam coffee", "category": "Food"}
    assert ledger.clients["sam"].post("/api/transactions", json=new).status_code == 201
    after = ledger.check()
    assert after["sue", ""] == ledger.fresh_total("sue") and after["iris", ""] == 6
    assert ledger.clients["iris"].post("/api/transactions", json=new).status_code == 201
    assert ledger.check()["iris", "category=Food"] == 3


def test_an_edit_moves_a_row_between_category_totals(ledger):
    before = ledger.check()
    with ledger.app.app_context(), unscoped("test: a row of sam's"):
        sams_food = db.session.execute(select(Transaction.id).where(
            Transaction.user_id == ledger.ids["sam"], Transaction.category == "Food")
        ).scalars().first()
    # Sue edits Sam's row (the shared ledger lets her): both see it move at once.
    assert ledger.clients["sue"].patch(f"/api/transactions/{sams_food}",
                                       json={"category": "Rent"}).status_code == 200
    after = ledger.check()
    for viewer in ("sam", "sue", "bob"):
        assert after[viewer, "category=Food"] == before[viewer, "category=Food"] - 1
        assert after[viewer, "category=Rent"] == before[viewer, "category=Rent"] + 1
    # A suggestion accepted is an edit too (suggest/service.accept).
    iris_food = ledger.clients["iris"].get("/api/transactions?category=Food").json["items"][0]
    accepted = ledger.clients["iris"].post(f"/api/suggestions/{iris_food['id']}/accept",
                                           json={"category": "Rent"})
    assert accepted.status_code == 200, accepted.text
    assert ledger.check(["iris"])["iris", "category=Food"] == before["iris", "category=Food"] - 1


def test_a_delete_is_counted_at_once(ledger):
    before = ledger.check()
    sams = ledger.clients["sam"].get("/api/transactions?q=sam").json["items"][0]
    assert ledger.clients["sue"].delete(f"/api/transactions/{sams['id']}").status_code == 204
    after = ledger.check()
    assert after["sue", ""] == before["sue", ""] - 1 and after["iris", ""] == before["iris", ""]


CSV = (b"Date,Description,Amount,Category\n"
       b"2024-03-05,Coffee beans,-9.00,Food\n2024-03-06,Coffee again,-4.00,Food\n"
       b"2024-04-01,April rent,-900.00,Rent\n")


@pytest.mark.parametrize("importer", ["iris", "sam"], ids=["isolated", "shared-ledger"])
def test_an_import_and_its_undo_are_counted_at_once(ledger, importer):
    before = ledger.check()
    imported = upload(ledger.clients[importer], CSV)
    assert imported.status_code == 201 and imported.json["imported"] == 3, imported.text
    after = ledger.check()
    assert after[importer, ""] == before[importer, ""] + 3
    assert after[importer, "month=2024-03"] == before[importer, "month=2024-03"] + 2
    undone = ledger.clients[importer].delete(f"/api/ingest/batches/{imported.json['batch_id']}")
    assert undone.status_code == 200
    assert ledger.check() == before


def test_a_cohort_move_isolating_a_user_drops_their_rows_from_the_shared_total(ledger):
    before = ledger.check()
    sams_rows = ledger.fresh_total("sam") - ledger.fresh_total("sue", lambda tx: tx.user_id
                                                              != ledger.ids["sam"])
    moved = ledger.clients["admin"].put(f"/api/admin/users/{ledger.ids['sam']}/cohort",
                                        json={"cohort": "staff", "reason": REASON})
    assert moved.status_code == 200, moved.text
    after = ledger.check()
    assert after["sue", ""] == before["sue", ""] - sams_rows
    assert after["sam", ""] == sams_rows
    # And back: Sam's rows are on the shared ledger again, Sam sees it again.
    back = ledger.clients["admin"].put(f"/api/admin/users/{ledger.ids['sam']}/cohort",
                                       json={"cohort": "general", "reason": REASON})
    assert back.status_code == 200, back.text
    assert ledger.check() == before


def test_isolating_a_cohort_drops_its_rows_from_the_shared_total(ledger):
    """A flag change moves no generation: the shared entry remembers the visibility rule it
    was built under, and another rule rebuilds it."""
    before = ledger.check()
    bobs_rows = ledger.fresh_total("bob", lambda tx: tx.user_id == ledger.ids["bob"])
    response = enable(ledger.clients["admin"], "beta", force=True)
    assert response.status_code in (200, 201), response.text
    ledger.isolated.add("beta")
    after = ledger.check()
    assert after["sue", ""] == before["sue", ""] - bobs_rows and after["bob", ""] == bobs_rows


def test_a_deleted_accounts_rows_leave_the_shared_total(ledger):
    before = ledger.check()
    sams_rows = ledger.fresh_total("sam", lambda tx: tx.user_id == ledger.ids["sam"])
    gone = ledger.clients["sam"].delete("/api/auth/account", json={"password": PASSWORD})
    assert gone.status_code in (200, 204), gone.text
    del ledger.clients["sam"]
    assert ledger.check()["sue", ""] == before["sue", ""] - sams_rows


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_without_a_cache_every_request_counts(tmp_path, backend):
    # Nothing listens on port 1: every cache call fails and is bypassed (cache_backend.py).
    with app_on_fresh_database(tmp_path, backend, REDIS_URL="redis://127.0.0.1:1/0",
                               CACHE_REDIS_TIMEOUT_SECONDS=0.2) as app:
        ledger = Ledger(app)
        with app.app_context():
            assert not cache_backend.reachable()
        with sql_statements(app) as seen:
            assert ledger.check(["sam", "iris"])
            assert len(counts(seen)) == 2 * len(FILTERS)
            assert ledger.total("sam") == ledger.fresh_total("sam")
            assert len(counts(seen)) == 2 * len(FILTERS) + 1
        new = {"date": "2024-03-20", "amount": "-3.00", "description": "sue bus"}
        assert ledger.clients["sue"].post("/api/transactions", json=new).status_code == 201
        ledger.check(["sam", "iris"])
