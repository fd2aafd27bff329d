"""Migration 0015: accounts, and every owned transaction in one (SQLite and PostgreSQL).

At revision 0014 the rows have owners and currencies but no accounts. The upgrade gives each
owner a default checking account per currency of their rows and moves every row into it;
rows with no owner keep none. The downgrade drops the column and the table, keeping every row.
"""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from finance_app.extensions import db
from tests.isolation.matrix_ledger import allow_unowned_rows
from tests.migrations.test_migration_chain import (  # noqa: F401 (empty_db_app: a fixture)
    ACCOUNTS,
    LIST_INDEXES,
    NOW,
    accounted,
    add_account_at_head,
    columns,
    current_revision,
    empty_db_app,
    ledger,
    owned,
    sqlite_fk_violations,
    transactions_t,
    users_t,
)


def build_at_0014(app):
    """ann: EUR rows only; ben: EUR and GBP rows; cy: no rows; and two rows with no owner
    (user_id made nullable, as before revision 3). Returns {name: user id}."""
    upgrade(revision=LIST_INDEXES)
    with db.engine.begin() as conn:
        ids = {name: conn.execute(sa.insert(users_t).returning(users_t.c.id), dict(
            email=f"{name}@example.com", password_hash="scrypt:x", cohort="general",
            is_admin=False, created_at=NOW)).scalar_one() for name in ("ann", "ben", "cy")}

        def rows(owner, currency, days):
            return [dict(date=date(2024, 11, d), amount=Decimal(f"-{d}.5{len(currency)}"),
                         currency=currency, description=f"{owner} {currency} {d}",
                         created_at=NOW, user_id=owner and ids[owner]) for d in days]

        conn.execute(sa.insert(owned(transactions_t)), [
            *rows("ann", "EUR", range(1, 4)), *rows("ben", "EUR", range(1, 3)),
            *rows("ben", "GBP", range(3, 6)),
        ])
    allow_unowned_rows(app)  # as the route matrix does, on the 0014 schema
    with db.engine.begin() as conn:
        conn.execute(sa.insert(owned(transactions_t)), [
            *rows(None, "EUR", range(7, 9))])
    return ids


def accounts_now():
    """{(owner, name): (kind, currency, opening balance)}"""
    with db.engine.connect() as conn:
        return {(r.user_id, r.name): (r.kind, r.currency, Decimal(r.opening_balance))
                for r in conn.execute(sa.text(
                    "SELECT user_id, name, kind, currency, opening_balance FROM accounts"))}


def rows_by_account():
    """{description: (owner, account's owner, account's currency)} (None for no account)."""
    with db.engine.connect() as conn:
        return {r.description: (r.user_id, r.owner, r.currency) for r in conn.execute(sa.text(
            "SELECT t.description, t.user_id, a.user_id AS owner, a.currency FROM transactions t "
            "LEFT JOIN accounts a ON a.id = t.account_id"))}


def test_upgrade_gives_each_owner_an_account_per_currency_and_downgrade_drops_them(
        empty_db_app):
    ids = build_at_0014(empty_db_app)
    before = ledger()
    assert "account_id" not in columns("transactions")

    upgrade(revision=ACCOUNTS)
    assert current_revision() == ACCOUNTS
    assert ledger() == before
    zero = Decimal("0")
    assert accounts_now() == {
        (ids["ann"], "Main account"): ("checking", "EUR", zero),
        (ids["ben"], "Main account (EUR)"): ("checking", "EUR", zero),
        (ids["ben"], "Main account (GBP)"): ("checking", "GBP", zero),
    }
    # Each owned row is in its owner's account of its own currency; unowned rows in none.
    placed = rows_by_account()
    for description, (owner, account_owner, currency) in placed.items():
        if owner is None:
            assert (account_owner, currency) == (None, None), description
        else:
            assert (account_owner, currency) == (owner, description.split()[1]), description
    assert sum(owner is None for owner, _, _ in placed.values()) == 2
    assert sqlite_fk_violations() == []

    downgrade(revision=LIST_INDEXES)
    assert current_revision() == LIST_INDEXES
    assert "account_id" not in columns("transactions")
    assert "accounts" not in sa.inspect(db.engine).get_table_names()
    assert ledger() == before
    assert sqlite_fk_violations() == []

    upgrade(revision=ACCOUNTS)  # and up again: the same accounts
    assert ledger() == before and len(accounts_now()) == 3


def test_at_head_a_row_needs_an_account_of_its_own_owner(empty_db_app):
    ids = build_at_0014(empty_db_app)
    upgrade()
    with db.engine.begin() as conn:
        cys = add_account_at_head(conn, ids["cy"])
        ann = conn.execute(sa.text("SELECT id FROM accounts WHERE user_id = :u"),
                           {"u": ids["ann"]}).scalar_one()
    row = dict(date=date(2025, 1, 2), amount=Decimal("-1.00"), currency="EUR",
               description="cy's", created_at=NOW, user_id=ids["cy"])
    refused = [dict(row, account_id=ann),   # another owner's account
               dict(row, account_id=None)]  # an owned row with no account
    for values in refused:
        with pytest.raises(IntegrityError):
            with db.engine.begin() as conn:
                conn.execute(sa.insert(accounted(transactions_t)), values)
    with pytest.raises(IntegrityError):  # moved into another owner's account
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE transactions SET account_id = :a WHERE user_id = :u"),
                         {"a": cys, "u": ids["ann"]})
    with pytest.raises(IntegrityError):  # an account with rows cannot go
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM accounts WHERE id = :a"), {"a": ann})
    with db.engine.begin() as conn:  # in the owner's own account it is fine
        conn.execute(sa.insert(accounted(transactions_t)), dict(row, account_id=cys))
        # Deleting a user takes their accounts and rows with them.
        conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": ids["ann"]})
    assert {owner for owner, _ in accounts_now()} == {ids["ben"], ids["cy"]}
    assert sqlite_fk_violations() == []
