"""Legacy schema: users and one shared ledger (transactions and import batches have no owner).

This is what an existing install has before the isolation rollout.

Revision ID: 0001_legacy
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_legacy"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("cohort", sa.String(64), nullable=False, server_default="general"),
        sa.Column("is_admin", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("auth_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_batches"),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("merchant", sa.String(200)),
        sa.Column("category", sa.String(100)),
        sa.Column("import_batch_id", sa.Integer()),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transactions"),
        sa.ForeignKeyConstraint(
            ["import_batch_id"], ["import_batches.id"],
            name="fk_transactions_import_batch_id_import_batches", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_transactions_import_batch_id", "transactions", ["import_batch_id"])
    op.create_index("ix_transactions_fingerprint", "transactions", ["fingerprint"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "flag_definitions",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_flag_definitions"),
    )
    op.create_table(
        "guard_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("endpoint", sa.String(200)),
        sa.Column("models", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_guard_events"),
    )
    op.create_index("ix_guard_events_created_at", "guard_events", ["created_at"])


def downgrade():
    op.drop_table("guard_events")
    op.drop_table("flag_definitions")
    op.drop_table("api_tokens")
    op.drop_table("transactions")
    op.drop_table("import_batches")
    op.drop_table("users")
