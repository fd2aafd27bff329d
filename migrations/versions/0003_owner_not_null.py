"""Make user_id NOT NULL on owned tables.

Refuses, with the command that fixes it, while any row has no owner. Each migration runs in
its own transaction, so revision 2 stays applied when this one refuses.

Revision ID: 0003_owner_not_null
Revises: 0002_owner_nullable
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_owner_not_null"
down_revision = "0002_owner_nullable"
branch_labels = None
depends_on = None

OWNED_TABLES = ("import_batches", "transactions")

REFUSAL = (
    "Refusing to make user_id NOT NULL: {counts} still have no owner. "
    "Assign them first with `flask isolation backfill --owner EMAIL` "
    "(or `--map FILE`), then run `flask db upgrade` again. "
    "The database stays at revision 0002_owner_nullable."
)


class UnownedRowsRemain(RuntimeError):
    pass


def upgrade():
    bind = op.get_bind()
    counts = {
        table: bind.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE user_id IS NULL")).scalar()
        for table in OWNED_TABLES
    }
    unowned = {table: n for table, n in counts.items() if n}
    if unowned:
        described = ", ".join(f"{n} rows in {table}" for table, n in unowned.items())
        raise UnownedRowsRemain(REFUSAL.format(counts=described))
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)


def downgrade():
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
