"""Import batches are single-owner: a transaction's batch belongs to the transaction's owner.

The rollout backfill can give one batch's rows to several owners (a `transaction_id,email`
map line overrides the batch's owner), and `import_batch_id` is ON DELETE CASCADE: undoing
the batch deleted the other owners' rows with it. First the existing data is repaired — each
other owner's rows of a mixed batch move to a new batch of that owner's own (same file name
and creation time) and the row counts are set to the rows each batch now holds — then the
single-column foreign key becomes (import_batch_id, user_id) → import_batches(id, user_id),
so the database refuses a transaction in another owner's batch and a cascade only ever
reaches the batch owner's rows.

The downgrade restores the single-column foreign key; the split batches stay (every row is
kept, each in a batch of its owner).

Revision ID: 0007_single_owner_batches
Revises: 0006_fingerprint_per_owner
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_single_owner_batches"
down_revision = "0006_fingerprint_per_owner"
branch_labels = None
depends_on = None

BATCH_FK = "fk_transactions_import_batch_id_import_batches"
BATCH_OWNER_FK = "fk_transactions_import_batch_id_user_id_import_batches"
BATCH_OWNER_KEY = "uq_import_batches_id_user_id"

batches_t = sa.table(
    "import_batches", sa.column("id", sa.Integer), sa.column("filename", sa.String),
    sa.column("row_count", sa.Integer), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer),
)
transactions_t = sa.table(
    "transactions", sa.column("id", sa.Integer), sa.column("import_batch_id", sa.Integer),
    sa.column("user_id", sa.Integer),
)


def upgrade():
    _split_mixed_batches(op.get_bind())
    with op.batch_alter_table("import_batches") as batch:
        batch.create_unique_constraint(BATCH_OWNER_KEY, ["id", "user_id"])
    with op.batch_alter_table("transactions") as batch:
        batch.drop_constraint(BATCH_FK, type_="foreignkey")
        batch.create_foreign_key(BATCH_OWNER_FK, "import_batches",
                                 ["import_batch_id", "user_id"], ["id", "user_id"],
                                 ondelete="CASCADE")


def _split_mixed_batches(conn):
    """Move each other owner's rows of a mixed batch into a new batch of that owner's own."""
    batch_owner = (sa.select(batches_t.c.user_id)
                   .where(batches_t.c.id == transactions_t.c.import_batch_id).scalar_subquery())
    strays = conn.execute(
        sa.select(transactions_t.c.import_batch_id, transactions_t.c.user_id)
        .where(transactions_t.c.import_batch_id.is_not(None),
               transactions_t.c.user_id != batch_owner)
        .distinct().order_by(transactions_t.c.import_batch_id, transactions_t.c.user_id)
    ).all()
    for batch_id, owner in strays:
        original = conn.execute(sa.select(batches_t.c.filename, batches_t.c.created_at)
                                .where(batches_t.c.id == batch_id)).one()
        new_id = conn.execute(sa.insert(batches_t).values(
            filename=original.filename, created_at=original.created_at, row_count=0,
            user_id=owner).returning(batches_t.c.id)).scalar_one()
        conn.execute(sa.update(transactions_t).values(import_batch_id=new_id).where(
            transactions_t.c.import_batch_id == batch_id, transactions_t.c.user_id == owner))
        _count_rows(conn, new_id)
    for batch_id in sorted({batch_id for batch_id, _ in strays}):
        _count_rows(conn, batch_id)


def _count_rows(conn, batch_id):
    rows = (sa.select(sa.func.count()).select_from(transactions_t)
            .where(transactions_t.c.import_batch_id == batch_id).scalar_subquery())
    conn.execute(sa.update(batches_t).values(row_count=rows).where(batches_t.c.id == batch_id))


def downgrade():
    with op.batch_alter_table("transactions") as batch:
        batch.drop_constraint(BATCH_OWNER_FK, type_="foreignkey")
        batch.create_foreign_key(BATCH_FK, "import_batches", ["import_batch_id"], ["id"],
                                 ondelete="CASCADE")
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_constraint(BATCH_OWNER_KEY, type_="unique")
