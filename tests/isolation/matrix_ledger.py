"""The route matrix's ledger: a row of every kind of owner, and signed-in viewers.

Owners (see `route_matrix.OWNERS`): the People fixture's alice (staff), bob (beta), carol
(general) and admin (staff); dora (general), whom only the percentage rollout isolates; and
rows with no owner, as a database before migration 0003 holds them. The flag enables cohort
`staff` plus the percentage that reaches dora's rollout bucket and neither bob's nor carol's.

Each owner has, dated in MONTH: a coffee expense (the probed row) in an import batch of its
own, a salary, and an uncategorised bank fee; and a row of every other model of
`route_matrix.PLACEHOLDERS` (an empty account, a rule, a budget). The coffee's description
and merchant, the batch's file name and each placeholder row's marker name the owner, so a
leak shows as a marker in the response (`MARKERS`); every fee is a different power of two,
so a month's expenses say exactly whose rows went into them. The fees are in FEE_CURRENCY,
the other rows in the app's default currency: an aggregate that added two currencies
together would show too.
"""
import io
from datetime import date
from itertools import count

import mmh3
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.isolation.flags import ISOLATION_FLAG
from finance_app.models import Transaction
from tests.conftest import People, add_batch, add_transactions, add_user, csrf_token, login, \
    set_isolation
from tests.isolation.route_matrix import ISOLATED, MONTH, OWNERS, PLACEHOLDERS, UNOWNED

YEAR, MONTH_NO = map(int, MONTH.split("-"))
FEES = {"alice": "-1.00", "admin": "-2.00", "dora": "-4.00", "bob": "-8.00", "carol": "-16.00",
        UNOWNED: "-32.00"}
FEE_CURRENCY = "EUR"  # not the default (USD)
MERCHANT_OF = {name: f"{name.title()} Cafe" for name in OWNERS} | {UNOWNED: "Nobody Cafe"}
MARKERS = {name: (MERCHANT_OF[name], *(p.marker_of(name) for p in PLACEHOLDERS.values()))
           for name in OWNERS}
# The tables that hold rows with no owner here: those of every placeholder's model.
OWNED_TABLES = tuple(p.model.__tablename__ for p in PLACEHOLDERS.values())
# The People fixture's cohorts, and dora's.
COHORTS = {"alice": "staff", "admin": "staff", "bob": "beta", "carol": "general",
           "dora": "general"}


def rollout_bucket(user_id):
    """The user's bucket of the sticky percentage rollout, as the Unleash SDK computes it:
    the user is isolated by a rollout of P percent when bucket <= P."""
    return mmh3.hash(f"{ISOLATION_FLAG}:{user_id}", 0, signed=False) % 100 + 1


def allow_unowned_rows(app):
    """Drop NOT NULL from the owner columns of this test database (as it was before migration
    0003), so that it can hold rows with no owner. Tables of later revisions than the
    database's are left out."""
    with app.app_context(), db.engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        tables = [table for table in OWNED_TABLES if table in present]
        if conn.dialect.name == "postgresql":
            for table in tables:
                conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN user_id DROP NOT NULL")
            conn.commit()
            return
        # Batch mode rebuilds each table (copy, DROP, rename); with foreign keys on, the DROP
        # would cascade into the rows that reference it (see migrations/env.py). The pragma
        # is a no-op inside a transaction, hence the commits.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        try:
            operations = Operations(MigrationContext.configure(conn))
            for table in tables:
                with operations.batch_alter_table(table) as batch:
                    batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


class MatrixLedger:
    def __init__(self, app):
        self.app = app
        allow_unowned_rows(app)
        people = People(app)
        self.emails = {name: f"{name}@example.com" for name in people.ids}
        self.ids = dict(people.ids)
        # {placeholder: {owner: the id of the owner's row of it}}
        self.owned = {"row": {name: ids[0] for name, ids in people.rows.items()},
                      "batch": dict(people.batches)}
        dora, self.percent = self._add_user_isolated_by_rollout_only(outside=("bob", "carol"))
        self.ids["dora"], self.emails["dora"] = dora
        self.ids[UNOWNED] = None
        for name in ("dora", UNOWNED):
            self._add_coffee_and_salary(name)
        for name, fee in FEES.items():
            add_transactions(app, self.ids[name], [
                (date(YEAR, MONTH_NO, 10), fee, "bank fee", None, None, FEE_CURRENCY)])
        # After the rows, which go into each owner's main accounts: the placeholder accounts
        # stay empty (deletable).
        for placeholder, entry in PLACEHOLDERS.items():
            if entry.make is not None:
                self.owned[placeholder] = {name: entry.make(self, name, self.ids[name])
                                           for name in OWNERS}
        set_isolation(app, ["staff"], self.percent)
        self._check_flag_isolates_the_owners_it_should()
        self._clients, self._csrf = {}, {}

    def _add_user_isolated_by_rollout_only(self, outside):
        """A general-cohort user whose rollout bucket is below those of the users `outside`,
        and the percentage that reaches exactly that bucket. Users are made the app's way, so
        ids are the database's: candidates are added until one's bucket fits (the others stay
        as users without rows)."""
        ceiling = min(rollout_bucket(self.ids[name]) for name in outside)
        assert ceiling > 1, f"{outside} fall in rollout bucket 1: no percentage leaves them out"
        for n in count(1):
            email = f"dora{n}@example.com"
            user_id = add_user(self.app, email, COHORTS["dora"])
            if rollout_bucket(user_id) < ceiling:
                return (user_id, email), rollout_bucket(user_id)

    def _add_coffee_and_salary(self, name):
        """The rows the People fixture gives each of its users, for `name`."""
        ids = add_transactions(self.app, self.ids[name], [
            (date(YEAR, MONTH_NO, 3), "-12.50", f"{name} coffee", MERCHANT_OF[name], "Coffee"),
            (date(YEAR, MONTH_NO, 20), "2500.00", f"{name} salary", f"{name.title()} Corp",
             "Salary"),
        ])
        self.owned["row"][name] = ids[0]
        self.owned["batch"][name] = add_batch(self.app, self.ids[name], f"{name}-statement.csv",
                                              ids[:1])

    def add_row(self, row):
        """Store an owned row as it is (its owner set, or None); its id."""
        with self.app.app_context(), unscoped("test fixture"):
            db.session.add(row)
            db.session.commit()
            return row.id

    def _check_flag_isolates_the_owners_it_should(self):
        """The flag itself (the SDK) isolates exactly the owners `OWNERS` calls isolated."""
        flags = self.app.extensions["flags"]
        users = [name for name in OWNERS if name != UNOWNED]
        actual = {name: flags.isolation_for(self.ids[name], COHORTS[name]) for name in users}
        assert actual == {name: OWNERS[name] == ISOLATED for name in users}

    # --- viewers -------------------------------------------------------------------------

    def client(self, name):
        """`name`'s signed-in test client (one per viewer and test)."""
        if name not in self._clients:
            self._clients[name] = login(self.app.test_client(), self.emails[name])
        return self._clients[name]

    def csrf(self, name):
        # From the settings page: an auth page, so it also answers under the emergency lock.
        if name not in self._csrf:
            self._csrf[name] = csrf_token(self.client(name), "/settings")
        return self._csrf[name]

    def request(self, name, route, path):
        """Send `route`'s request (body, form with a CSRF token, CSV upload) to `path`."""
        data = None
        if route.form is not None:
            data = dict(route.form, csrf_token=self.csrf(name))
        if route.upload is not None:
            data = dict(data or {}, file=(io.BytesIO(route.upload.encode()), "matrix.csv"))
        return self.client(name).open(path, method=route.method, json=route.body, data=data)

    def path(self, route, owner):
        """`route`'s path probing `owner`'s row of each placeholder it names."""
        return route.url(**{name: ids[owner] for name, ids in self.owned.items()})

    # --- what the database holds ------------------------------------------------------------

    def _owned_by(self, model, owner):
        user_id = self.ids[owner]
        return model.user_id.is_(None) if user_id is None else model.user_id == user_id

    def state(self, owner):
        """Everything `owner` has: their rows of each placeholder's model (transactions
        first), every column, as plain values."""
        with self.app.app_context():
            return tuple(
                [tuple(r) for r in db.session.execute(
                    select(*p.model.__table__.columns).where(self._owned_by(p.model, owner))
                    .order_by(p.model.id)).all()]
                for p in PLACEHOLDERS.values())

    def everything(self):
        return {owner: self.state(owner) for owner in OWNERS}

    def reference_rows(self, owners):
        """The rows of `owners` as (date, amount, description, merchant, category, currency)
        tuples, the input of the analytics reference in tests/charts/ledger.py."""
        with self.app.app_context():
            return [(day, str(amount), description, merchant, category, currency)
                    for owner in owners
                    for day, amount, description, merchant, category, currency
                    in db.session.execute(
                        select(Transaction.date, Transaction.amount, Transaction.description,
                               Transaction.merchant, Transaction.category, Transaction.currency)
                        .where(self._owned_by(Transaction, owner)).order_by(Transaction.id))]

    def owners_of(self, marker):
        """The owners of the rows, of any placeholder's model, whose marker is `marker`."""
        with self.app.app_context():
            return [owner for p in PLACEHOLDERS.values()
                    for owner in db.session.execute(select(p.model.user_id).where(
                        getattr(p.model, p.marker) == marker)).scalars()]

    def isolate_cohort(self, cohort):
        """Enable one more cohort, keeping staff and the percentage."""
        set_isolation(self.app, ["staff", cohort], self.percent)

    def lock(self):
        with self.app.app_context():
            self.app.extensions["flags"].set_lock(True)

