"""Accounts: every owned transaction belongs to one account of its owner.

Creates `accounts` (owned: name, kind, currency, opening balance), adds
`transactions.account_id` and moves the existing rows into a default account per owner and
currency: "Main account", or "Main account (GBP)" for each currency when an owner has rows in
several. Then the database holds it: the foreign key (account_id, user_id) → accounts(id,
user_id) refuses a row in another owner's account, and a check refuses an owned row without
an account. Import mappings remember the account a file layout went into.
Rows with no owner (a database before revision 3 holds them; the route matrix
makes some) keep no account: there is no owner to give one.

The downgrade drops the column and the table (the rows stay, without their accounts).

Revision ID: 0015_accounts
Revises: 0014_list_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_accounts"
down_revision = "0014_list_indexes"
branch_labels = None
depends_on = None

ACCOUNT_OWNER_FK = "fk_transactions_account_id_user_id_accounts"
ACCOUNT_WHEN_OWNED = "ck_transactions_account_when_owned"
ACCOUNT_INDEX = "ix_transactions_account_id_date_id"
MAPPING_ACCOUNT_FK = "fk_import_mappings_account_id_accounts"
DEFAULT_NAME = "Main account"

accounts_t = sa.table(
    "accounts", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("name", sa.String), sa.column("kind", sa.String), sa.column("currency", sa.String),
    sa.column("opening_balance", sa.Numeric(12, 2)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
transactions_t = sa.table(
    "transactions", sa.column("user_id", sa.Integer), sa.column("currency", sa.String),
    sa.column("account_id", sa.Integer),
)


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("opening_balance", sa.Numeric(12, 2), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_accounts_user_id_users",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("user_id", "name", name="uq_accounts_user_id_name"),
        sa.UniqueConstraint("id", "user_id", name="uq_accounts_id_user_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
    _default_accounts(op.get_bind())
    with op.batch_alter_table("import_mappings",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(MAPPING_ACCOUNT_FK, "accounts", ["account_id"], ["id"],
                                 ondelete="SET NULL")
    # SQLite rebuilds the table: keep its AUTOINCREMENT (ids never reused, revision 8).
    with op.batch_alter_table("transactions",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.create_foreign_key(ACCOUNT_OWNER_FK, "accounts", ["account_id", "user_id"],
                                 ["id", "user_id"])
        batch.create_check_constraint(op.f(ACCOUNT_WHEN_OWNED),
                                      "account_id IS NOT NULL OR user_id IS NULL")
        batch.create_index(ACCOUNT_INDEX, ["account_id", "date", "id"])


def _default_accounts(conn):
    """One checking account per (owner, currency) of the owned rows; each row moves into its
    owner's account of its currency."""
    currency = sa.func.upper(transactions_t.c.currency)
    pairs = conn.execute(
        sa.select(transactions_t.c.user_id, currency).where(transactions_t.c.user_id.is_not(None))
        .distinct().order_by(transactions_t.c.user_id, currency)).all()
    currencies = {}
    for owner, code in pairs:
        currencies.setdefault(owner, []).append(code)
    now = sa.func.current_timestamp()
    for owner, codes in currencies.items():
        for code in codes:
            name = DEFAULT_NAME if len(codes) == 1 else f"{DEFAULT_NAME} ({code})"
            conn.execute(sa.insert(accounts_t).values(
                user_id=owner, name=name, kind="checking", currency=code, opening_balance=0,
                created_at=now))
    account = (sa.select(accounts_t.c.id)
               .where(accounts_t.c.user_id == transactions_t.c.user_id,
                      accounts_t.c.currency == currency)
               .scalar_subquery())
    conn.execute(sa.update(transactions_t).values(account_id=account)
                 .where(transactions_t.c.user_id.is_not(None)))


def downgrade():
    with op.batch_alter_table("transactions",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index(ACCOUNT_INDEX)
        batch.drop_constraint(op.f(ACCOUNT_WHEN_OWNED), type_="check")
        batch.drop_constraint(ACCOUNT_OWNER_FK, type_="foreignkey")
        batch.drop_column("account_id")
    with op.batch_alter_table("import_mappings",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(MAPPING_ACCOUNT_FK, type_="foreignkey")
        batch.drop_column("account_id")
    op.drop_table("accounts")
