"""Rules: "always file rows whose merchant (or description) contains X under category Y".

An owned table like any other: row-level security covers it after upgrade (ensure_wall).

Revision ID: 0016_rules
Revises: 0015_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_rules"
down_revision = "0015_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("pattern", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rules"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_rules_user_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("user_id", "field", "pattern", name="uq_rules_user_id_field_pattern"),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("rules")
