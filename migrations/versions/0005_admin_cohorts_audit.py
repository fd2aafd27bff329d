"""The flag dashboard's own data: cohorts, and the audit log of every admin change.

Cohorts were only strings on users; the table lets a cohort exist before it has users. It is
seeded with every cohort users already have, plus the default `general`.

Revision ID: 0005_admin_cohorts_audit
Revises: 0004_import_mappings
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0005_admin_cohorts_audit"
down_revision = "0004_import_mappings"
branch_labels = None
depends_on = None

DEFAULT_COHORT = "general"


def upgrade():
    cohorts = op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cohorts"),
        sa.UniqueConstraint("name", name="uq_cohorts_name"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(254), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("reverted_event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(["reverted_event_id"], ["audit_events.id"],
                                name="fk_audit_events_reverted_event_id_audit_events"),
        # An event is reverted at most once, even by two admins clicking at the same time.
        sa.UniqueConstraint("reverted_event_id", name="uq_audit_events_reverted_event_id"),
    )
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"])

    bind = op.get_bind()
    names = set(bind.execute(sa.text("SELECT DISTINCT cohort FROM users")).scalars())
    names = sorted({name for name in names if name} | {DEFAULT_COHORT})
    now = datetime.now(timezone.utc)
    op.bulk_insert(cohorts, [{"name": name, "created_at": now} for name in names])


def downgrade():
    op.drop_index("ix_audit_events_created_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("cohorts")
