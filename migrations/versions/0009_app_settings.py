"""App-wide settings the admin chooses on the dashboard: a key/value table.

The first setting is the cohort sign-ups join (`signup_cohort`). Without a row the app keeps
its old behaviour (cohort `general`), so the upgrade changes nothing for anyone.

Revision ID: 0009_app_settings
Revises: 0008_sessions_and_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_app_settings"
down_revision = "0008_sessions_and_ids"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_app_settings"),
    )


def downgrade():
    op.drop_table("app_settings")
