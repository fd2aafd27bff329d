"""The shared cache's epoch and invalidation count (isolation/cache_epoch.py): a Redis
flushed or restored from an older snapshot is noticed and left behind.

Revision ID: 0011_cache_epoch
Revises: 0010_two_sided_isolation
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_cache_epoch"
down_revision = "0010_two_sided_isolation"
branch_labels = None
depends_on = None


def upgrade():
    state = op.create_table(
        "cache_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_cache_state"),
    )
    op.bulk_insert(state, [{"id": 1, "epoch": 0, "seq": 0}])


def downgrade():
    op.drop_table("cache_state")
