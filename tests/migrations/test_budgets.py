"""Migration 0017: the budgets table (SQLite and PostgreSQL), up and down.

The database itself keeps one budget per owner, category and month — the repeating one
(month NULL) included, which a plain unique key would not (NULLs are distinct in it) —
refuses an amount of 0 or less, and deletes a user's budgets with the user.
"""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from finance_app.extensions import db
from tests.migrations.test_migration_chain import (  # noqa: F401 (empty_db_app: a fixture)
    BUDGETS,
    CHAIN,
    NOW,
    current_revision,
    empty_db_app,
    users_t,
)

# The revision just before the budgets migration.
BEFORE = CHAIN[CHAIN.index(BUDGETS) - 1]

budgets_t = sa.table(
    "budgets", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("category", sa.String), sa.column("amount", sa.Numeric(12, 2)),
    sa.column("currency", sa.String), sa.column("month", sa.Date),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
NOVEMBER = date(2024, 11, 1)


def add_user(conn, name):
    return conn.execute(sa.insert(users_t).returning(users_t.c.id), dict(
        email=f"{name}@example.com", password_hash="scrypt:x", cohort="general",
        is_admin=False, created_at=NOW)).scalar_one()


def add_budget(user_id, category="Coffee", amount="50.00", month=None):
    with db.engine.begin() as conn:
        conn.execute(sa.insert(budgets_t), dict(
            user_id=user_id, category=category, amount=Decimal(amount), currency="EUR",
            month=month, created_at=NOW))


def budgets():
    with db.engine.connect() as conn:
        return conn.execute(sa.select(budgets_t.c.user_id, budgets_t.c.category,
                                      budgets_t.c.amount, budgets_t.c.month)
                            .order_by(budgets_t.c.id)).all()


def test_budgets_table_keeps_one_budget_per_category_and_month(empty_db_app):
    upgrade(revision=BUDGETS)
    with db.engine.begin() as conn:
        alice, bob = add_user(conn, "alice"), add_user(conn, "bob")
    add_budget(alice)                      # repeating
    add_budget(alice, month=NOVEMBER)      # November's own: a different budget
    add_budget(bob)                        # another owner's repeating one
    add_budget(alice, category="Tea")
    for duplicate in (dict(), dict(month=NOVEMBER)):
        with pytest.raises(IntegrityError):
            add_budget(alice, amount="60.00", **duplicate)
    for amount in ("0.00", "-1.00"):
        with pytest.raises(IntegrityError):
            add_budget(alice, category="Rent", amount=amount)
    assert len(budgets()) == 4

    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": alice})
    assert [b.user_id for b in budgets()] == [bob]


def test_budgets_migration_downgrades_and_upgrades_again(empty_db_app):
    upgrade(revision=BUDGETS)
    with db.engine.begin() as conn:
        alice = add_user(conn, "alice")
    add_budget(alice)
    downgrade(revision=BEFORE)
    assert current_revision() == BEFORE
    assert "budgets" not in sa.inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:  # the rest of the database is untouched
        assert conn.execute(sa.select(sa.func.count()).select_from(users_t)).scalar() == 1
    upgrade(revision=BUDGETS)
    assert current_revision() == BUDGETS
    assert budgets() == []
    add_budget(alice, month=NOVEMBER)
    assert budgets() == [(alice, "Coffee", Decimal("50.00"), NOVEMBER)]
