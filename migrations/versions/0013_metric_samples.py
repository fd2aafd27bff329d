"""Per-minute, per-cohort counts of denials, refusals and errors, shared by every process
and host (observability/samples.py): the flag dashboard's last hour.

Revision ID: 0013_metric_samples
Revises: 0012_row_level_security
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_metric_samples"
down_revision = "0012_row_level_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "metric_samples",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "cohort", "kind", name="pk_metric_samples"),
    )


def downgrade():
    op.drop_table("metric_samples")
