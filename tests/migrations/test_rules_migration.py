"""Migration 0016: the rules table (SQLite and PostgreSQL): one rule per owner and text,
gone with its owner, behind the row-level security wall on PostgreSQL, and downgraded
without touching the ledger."""
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from finance_app.extensions import db
from finance_app.isolation.db_wall import walled_table_names
from tests.migrations.test_migration_chain import (  # noqa: F401 (empty_db_app: a fixture)
    CHAIN,
    accounted,
    add_account_at_head,
    NOW,
    RULES,
    current_revision,
    empty_db_app,
    ledger,
    transactions_t,
    users_t,
)

# The revision just before the rules migration.
BEFORE = CHAIN[CHAIN.index(RULES) - 1]

rules_t = sa.table(
    "rules", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("field", sa.String), sa.column("pattern", sa.String),
    sa.column("category", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
)


def add_user(conn, name):
    return conn.execute(sa.insert(users_t).returning(users_t.c.id), dict(
        email=f"{name}@example.com", password_hash="scrypt:x", cohort="general",
        is_admin=False, created_at=NOW)).scalar_one()


def rule(user_id, pattern="tesco", category="Groceries"):
    return dict(user_id=user_id, field="merchant", pattern=pattern, category=category,
                created_at=NOW)


def rule_count():
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(rules_t)).scalar()


def test_rules_upgrade_and_downgrade(empty_db_app):
    upgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        alice, bob = add_user(conn, "alice"), add_user(conn, "bob")
        conn.execute(sa.insert(accounted(transactions_t)), [dict(
            date=NOW.date(), amount=1, currency="EUR", description="TESCO 1", created_at=NOW,
            user_id=alice, account_id=add_account_at_head(conn, alice))])

    upgrade(revision=RULES)
    assert current_revision() == RULES
    with db.engine.begin() as conn:
        conn.execute(sa.insert(rules_t), [rule(alice), rule(bob)])  # the same text, two owners
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.insert(rules_t), rule(alice, category="Food"))  # alice's text again
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            assert "rules" in walled_table_names(conn)
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": bob})
    assert rule_count() == 1  # bob's rule went with him

    before = ledger()
    downgrade(revision=BEFORE)
    assert current_revision() == BEFORE
    assert "rules" not in sa.inspect(db.engine).get_table_names()
    assert ledger() == before
    upgrade(revision=RULES)
    assert rule_count() == 0
