"""The migration chain (DESIGN §4) on SQLite and PostgreSQL.

1. legacy schema; 2. nullable owner + FK ON DELETE CASCADE + indexes; 3. owner NOT NULL,
refused while unowned rows remain. Every step must keep the ledger (row count, sum of
amounts, each row's amount) and every step must downgrade.

Rows are written with plain SQL: below head the ORM models (which describe head) do not
match the schema.
"""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from finance_app.extensions import db
from tests.conftest import app_on_fresh_database

LEGACY, NULLABLE, NOT_NULL = "0001_legacy", "0002_owner_nullable", "0003_owner_not_null"
IMPORT_MAPPINGS, ADMIN_TABLES = "0004_import_mappings", "0005_admin_cohorts_audit"
FINGERPRINT_INDEX, SINGLE_OWNER_BATCHES = "0006_fingerprint_per_owner", "0007_single_owner_batches"
SESSIONS, APP_SETTINGS = "0008_sessions_and_ids", "0009_app_settings"
TWO_SIDED, CACHE_EPOCH = "0010_two_sided_isolation", "0011_cache_epoch"
ROW_LEVEL_SECURITY, METRIC_SAMPLES = "0012_row_level_security", "0013_metric_samples"
LIST_INDEXES, ACCOUNTS = "0014_list_indexes", "0015_accounts"
RULES, BUDGETS = "0016_rules", "0017_budgets"
# Every revision, oldest first.
CHAIN = (LEGACY, NULLABLE, NOT_NULL, IMPORT_MAPPINGS, ADMIN_TABLES, FINGERPRINT_INDEX,
         SINGLE_OWNER_BATCHES, SESSIONS, APP_SETTINGS, TWO_SIDED, CACHE_EPOCH, ROW_LEVEL_SECURITY,
         METRIC_SAMPLES, LIST_INDEXES, ACCOUNTS, RULES, BUDGETS)
HEAD = CHAIN[-1]
OWNED_TABLES = ("import_batches", "transactions")
APP_TABLES = {"users", "import_batches", "transactions", "api_tokens", "flag_definitions",
              "guard_events", "import_mappings", "cohorts", "audit_events", "user_sessions",
              "app_settings", "cache_state", "metric_samples", "accounts", "budgets", "rules"}
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=timezone.utc)

# Lightweight table descriptions, valid at every revision for the columns they name.
users_t = sa.table(
    "users", sa.column("id", sa.Integer), sa.column("email", sa.String),
    sa.column("password_hash", sa.String), sa.column("cohort", sa.String),
    sa.column("is_admin", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
)
batches_t = sa.table(
    "import_batches", sa.column("id", sa.Integer), sa.column("filename", sa.String),
    sa.column("row_count", sa.Integer), sa.column("created_at", sa.DateTime(timezone=True)),
)
transactions_t = sa.table(
    "transactions", sa.column("id", sa.Integer), sa.column("date", sa.Date),
    sa.column("amount", sa.Numeric(12, 2)), sa.column("currency", sa.String),
    sa.column("description", sa.String), sa.column("merchant", sa.String),
    sa.column("category", sa.String), sa.column("import_batch_id", sa.Integer),
    sa.column("fingerprint", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
)
tokens_t = sa.table(
    "api_tokens", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("name", sa.String), sa.column("token_hash", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
accounts_t = sa.table(
    "accounts", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("name", sa.String), sa.column("kind", sa.String), sa.column("currency", sa.String),
    sa.column("opening_balance", sa.Numeric(12, 2)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def owned(table):
    """`table` with its user_id column (revision 2 onwards)."""
    return sa.table(table.name, *[sa.column(c.name, c.type) for c in table.columns],
                    sa.column("user_id", sa.Integer))


def accounted(table):
    """Owned `table` with its account_id column too (transactions, revision 15 onwards)."""
    return sa.table(table.name, *[sa.column(c.name, c.type) for c in owned(table).columns],
                    sa.column("account_id", sa.Integer))


# --- fixtures and helpers ------------------------------------------------------------------

@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def empty_db_app(request, tmp_path):
    """An app on a fresh, empty database (no tables at all), inside an app context."""
    with app_on_fresh_database(tmp_path, request.param, migrate=False) as app:
        with app.app_context():
            assert _table_names() == set(), "the database must start empty"
            yield app


def _table_names():
    return set(sa.inspect(db.engine).get_table_names())


def current_revision():
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def script_directory():
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def columns(table):
    return {c["name"]: c for c in sa.inspect(db.engine).get_columns(table)}


def ledger():
    """What must survive every migration: count, sum, each row's amount and batch, batches."""
    with db.engine.connect() as conn:
        count, total = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(transactions_t.c.amount))
        ).one()
        rows = conn.execute(
            sa.select(transactions_t.c.id, transactions_t.c.amount,
                      transactions_t.c.import_batch_id).order_by(transactions_t.c.id)
        ).all()
        batches = conn.execute(sa.select(batches_t.c.id).order_by(batches_t.c.id)).scalars().all()
        users = conn.execute(sa.select(users_t.c.id).order_by(users_t.c.id)).scalars().all()
    return {"count": count, "sum": Decimal(total or 0).quantize(Decimal("0.01")),
            "rows": [tuple(r) for r in rows], "batches": batches, "users": users}


def insert_legacy_data(n_users=3, n_transactions=50, n_batches=2):
    """Users, import batches and transactions without owners (valid at every revision).

    Most transactions belong to an import batch, as imported rows do: a migration that
    recreates import_batches must not take them with it.
    """
    with db.engine.begin() as conn:
        conn.execute(sa.insert(users_t), [
            dict(id=i, email=f"user{i}@example.com", password_hash="scrypt:x", cohort="general",
                 is_admin=False, created_at=NOW)
            for i in range(1, n_users + 1)
        ])
        conn.execute(sa.insert(batches_t), [
            dict(id=b, filename=f"bank-{b}.csv", row_count=0, created_at=NOW)
            for b in range(1, n_batches + 1)
        ])
        rows = []
        for i in range(1, n_transactions + 1):
            # Cents everywhere, both signs, no two amounts alike.
            amount = Decimal(i * 7919 % 250000 - 125000) / 100 + Decimal("0.07")
            rows.append(dict(
                id=i, date=date(2024, 1, 1) + timedelta(days=i * 7), amount=amount,
                currency="EUR", description=f"legacy row {i}", merchant=f"Merchant {i % 9}",
                category=None, import_batch_id=(i % (n_batches + 1)) or None,
                fingerprint=f"{i:064x}", created_at=NOW,
            ))
        conn.execute(sa.insert(transactions_t), rows)
        # PostgreSQL: explicit ids do not advance the sequences; later inserts need them to.
        if conn.dialect.name == "postgresql":
            for table in ("users", "import_batches", "transactions"):
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"))
    return ledger()


def assign_owners():
    """What `flask isolation backfill` does, in SQL: a batch's rows go to the batch's owner."""
    with db.engine.begin() as conn:
        def ids(table):
            return conn.execute(sa.text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()

        user_ids, batch_ids = ids("users"), ids("import_batches")
        for i, batch_id in enumerate(batch_ids):
            owner = user_ids[i % len(user_ids)]
            conn.execute(sa.text("UPDATE import_batches SET user_id = :u WHERE id = :b"),
                         {"u": owner, "b": batch_id})
            conn.execute(sa.text("UPDATE transactions SET user_id = :u WHERE import_batch_id = :b"),
                         {"u": owner, "b": batch_id})
        conn.execute(sa.text("UPDATE transactions SET user_id = :u "
                             "WHERE user_id IS NULL AND MOD(id, 2) = 0"), {"u": user_ids[-1]})
        conn.execute(sa.text("UPDATE transactions SET user_id = :u WHERE user_id IS NULL"),
                     {"u": user_ids[0]})
        unowned = conn.execute(sa.text(
            "SELECT (SELECT COUNT(*) FROM transactions WHERE user_id IS NULL)"
            " + (SELECT COUNT(*) FROM import_batches WHERE user_id IS NULL)")).scalar()
    assert unowned == 0


def assert_owner_column(nullable):
    for table in OWNED_TABLES:
        cols = columns(table)
        assert "user_id" in cols, f"{table}.user_id missing"
        assert cols["user_id"]["nullable"] is nullable, f"{table}.user_id nullable"
        fks = [fk for fk in sa.inspect(db.engine).get_foreign_keys(table)
               if fk["constrained_columns"] == ["user_id"]]
        assert len(fks) == 1, fks
        assert fks[0]["referred_table"] == "users" and fks[0]["referred_columns"] == ["id"]
        assert (fks[0]["options"].get("ondelete") or "").upper() == "CASCADE"
    indexes = [ix["column_names"] for ix in sa.inspect(db.engine).get_indexes("transactions")]
    # A user's rows by date: (user_id, date), which revision 14 extends to (user_id, date, id).
    assert any(names[:2] == ["user_id", "date"] for names in indexes), indexes


def assert_no_owner_column():
    for table in OWNED_TABLES:
        assert "user_id" not in columns(table), f"{table}.user_id still there"
    indexes = [ix["column_names"] for ix in sa.inspect(db.engine).get_indexes("transactions")]
    assert not any("user_id" in names for names in indexes), indexes


def add_account_at_head(conn, user_id, name="Main account", currency="EUR"):
    """An account for `user_id` (revision 15 onwards: every owned row needs one); its id.
    `conn`: a connection, or the engine (a transaction of its own)."""
    if isinstance(conn, sa.engine.Engine):
        with conn.begin() as own:
            return add_account_at_head(own, user_id, name, currency)
    return conn.execute(sa.insert(accounts_t).returning(accounts_t.c.id), dict(
        user_id=user_id, name=name, kind="checking", currency=currency, opening_balance=0,
        created_at=NOW)).scalar_one()


def sqlite_fk_violations():
    """SQLite: rows whose parent is missing. Also checks that migrating (which turns foreign
    keys off on its connection) gave the pool back connections with foreign keys on."""
    if db.engine.dialect.name != "sqlite":
        return []
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        return conn.exec_driver_sql("PRAGMA foreign_key_check").all()


# --- tests ---------------------------------------------------------------------------------

def test_chain_is_legacy_nullable_not_null_then_later_tables(empty_db_app):
    scripts = script_directory()
    assert scripts.get_heads() == [HEAD]
    chain = [s.revision for s in scripts.walk_revisions("base", "heads")]
    assert chain == list(reversed(CHAIN))


def test_legacy_install_upgrades_after_backfill_and_round_trips(empty_db_app):
    upgrade(revision=LEGACY)
    assert current_revision() == LEGACY
    before = insert_legacy_data()
    assert before["count"] == 50 and len(before["batches"]) == 2 and len(before["users"]) == 3
    assert any(batch for _, _, batch in before["rows"])
    assert all(amount.as_tuple().exponent == -2 for _, amount, _ in before["rows"])

    # Unowned rows remain: revision 3 refuses, naming the command that fixes it.
    # (Flask-Migrate's `upgrade` logs the error and exits 1; the refusal is the context.)
    with pytest.raises(SystemExit) as refused:
        upgrade()
    assert refused.value.code == 1
    reason = refused.value.__context__
    assert reason is not None and type(reason).__name__ == "UnownedRowsRemain"
    message = str(reason)
    assert "flask isolation backfill" in message
    assert "50 rows in transactions" in message and "2 rows in import_batches" in message
    assert current_revision() == NULLABLE  # revision 2 stayed applied
    assert_owner_column(nullable=True)
    assert ledger() == before
    assert sqlite_fk_violations() == []

    assign_owners()
    upgrade()
    assert current_revision() == HEAD
    assert_owner_column(nullable=False)
    assert ledger() == before
    assert sqlite_fk_violations() == []
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(owned(transactions_t)), dict(
                date=date(2025, 1, 1), amount=Decimal("1.00"), currency="EUR",
                description="no owner", created_at=NOW, user_id=None))
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(owned(batches_t)), dict(
                filename="x.csv", row_count=0, created_at=NOW, user_id=None))
    assert ledger() == before

    downgrade(revision=LEGACY)
    assert current_revision() == LEGACY
    assert_no_owner_column()
    assert ledger() == before

    downgrade(revision="base")
    assert current_revision() is None
    assert _table_names() - {"alembic_version"} == set()

    upgrade()
    assert current_revision() == HEAD
    assert _table_names() >= APP_TABLES
    assert_owner_column(nullable=False)
    assert ledger()["count"] == 0


def test_fresh_database_upgrades_to_head_matching_the_models(empty_db_app):
    upgrade()  # empty: nothing unowned, so revision 3 does not refuse
    assert current_revision() == HEAD
    assert _table_names() == APP_TABLES | {"alembic_version"}
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    # Nothing ignored: schema at head and models agree exactly (tables, columns, types,
    # nullability, indexes, unique constraints, foreign keys).
    assert diff == []


def test_delete_user_cascades_at_head(empty_db_app):
    upgrade()
    if db.engine.dialect.name == "sqlite":
        # The app's connect hook turns foreign keys on for every pooled connection.
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with db.engine.begin() as conn:
        ids = {}
        for name in ("alice", "bob"):
            ids[name] = conn.execute(sa.insert(users_t).returning(users_t.c.id), dict(
                email=f"{name}@example.com", password_hash="scrypt:x", cohort="general",
                is_admin=False, created_at=NOW)).scalar_one()
            batch_id = conn.execute(sa.insert(owned(batches_t)).returning(sa.column("id")), dict(
                filename=f"{name}.csv", row_count=3, created_at=NOW, user_id=ids[name],
            )).scalar_one()
            account_id = add_account_at_head(conn, ids[name])
            conn.execute(sa.insert(accounted(transactions_t)), [dict(
                date=date(2025, 1, d), amount=Decimal(f"-{d}.25"), currency="EUR",
                description=f"{name} {d}", import_batch_id=batch_id if d <= 3 else None,
                created_at=NOW, user_id=ids[name], account_id=account_id)
                for d in range(1, 6)])
            conn.execute(sa.insert(tokens_t), dict(
                user_id=ids[name], name="api", token_hash=f"{name:0>64}", created_at=NOW))

    def owned_counts(user_id):
        with db.engine.connect() as conn:
            return {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} "
                                                "WHERE user_id = :u"), {"u": user_id}).scalar()
                    for table in ("transactions", "import_batches", "api_tokens", "accounts")}

    assert owned_counts(ids["alice"]) == {"transactions": 5, "import_batches": 1, "api_tokens": 1,
                                          "accounts": 1}
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": ids["alice"]})
    assert owned_counts(ids["alice"]) == {"transactions": 0, "import_batches": 0, "api_tokens": 0,
                                          "accounts": 0}
    assert owned_counts(ids["bob"]) == {"transactions": 5, "import_batches": 1, "api_tokens": 1,
                                        "accounts": 1}
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM transactions")).scalar() == 5
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar() == 1


def test_every_migration_downgrades_one_step_at_a_time(empty_db_app):
    chain = [s.revision for s in script_directory().walk_revisions("base", "heads")]
    assert chain == list(reversed(CHAIN))

    # Build an owned ledger at head the way a real install gets there.
    upgrade(revision=LEGACY)
    before = insert_legacy_data()
    upgrade(revision=NULLABLE)
    assign_owners()
    upgrade()
    assert current_revision() == HEAD

    # Down, one revision at a time, data present.
    for target in reversed(CHAIN[:-1]):
        downgrade(revision=target)
        assert current_revision() == target
        assert ledger() == before, f"ledger changed by the downgrade to {target}"
        assert sqlite_fk_violations() == []
    assert_no_owner_column()
    downgrade(revision="base")
    assert current_revision() is None
    assert _table_names() - {"alembic_version"} == set()

    # And up again, one at a time, with legacy data present from revision 1.
    upgrade(revision=LEGACY)
    assert current_revision() == LEGACY
    again = insert_legacy_data()
    assert again == before
    upgrade(revision=NULLABLE)
    assert current_revision() == NULLABLE
    assert_owner_column(nullable=True)
    assert ledger() == before
    assign_owners()
    upgrade(revision=NOT_NULL)
    assert current_revision() == NOT_NULL
    assert_owner_column(nullable=False)
    assert ledger() == before
    assert sqlite_fk_violations() == []

    # Revision 3 downgrades and re-upgrades with owners kept (no backfill needed again).
    downgrade(revision=NULLABLE)
    assert_owner_column(nullable=True)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT COUNT(*) FROM transactions WHERE user_id IS NULL")).scalar() == 0
    upgrade()
    assert current_revision() == HEAD
    assert ledger() == before


def test_upgrading_a_legacy_install_keeps_the_shared_ledger(empty_db_app):
    """The flag gets defined with no cohort enabled: nobody is isolated until the team
    enables a cohort."""
    upgrade(revision="0001_legacy")
    insert_legacy_data()
    upgrade(revision="0002_owner_nullable")
    flags = empty_db_app.extensions["flags"]
    flags.refresh()
    assert flags.isolation_state() == {"defined": True, "cohorts": [], "percent": 0,
                                       "everyone": False, "translatable": True,
                                       "untranslatable_reason": None}
    assert flags.isolation_for(1, "general") is False


def test_a_fresh_install_leaves_the_flag_undefined_so_everyone_is_isolated(empty_db_app):
    upgrade()
    flags = empty_db_app.extensions["flags"]
    flags.refresh()
    assert flags.isolation_state()["defined"] is False
    assert flags.isolation_for(1, "general") is True


def test_two_sided_isolation_stores_each_users_sdk_rollout_bucket(empty_db_app):
    from finance_app.isolation.visibility import rollout_bucket

    upgrade(revision=LEGACY)
    before = insert_legacy_data(n_users=40)
    upgrade(revision=NULLABLE)
    assign_owners()
    upgrade(revision=FINGERPRINT_INDEX)
    assert "rollout_bucket" not in columns("users")
    upgrade(revision=TWO_SIDED)
    with db.engine.connect() as conn:
        buckets = dict(conn.execute(sa.text("SELECT id, rollout_bucket FROM users")).all())
    assert buckets == {uid: rollout_bucket(uid) for uid in before["users"]}
    downgrade(revision=FINGERPRINT_INDEX)
    assert "rollout_bucket" not in columns("users") and ledger() == before
