"""Remembered CSV column mappings, per user and file layout.

Revision ID: 0004_import_mappings
Revises: 0003_owner_not_null
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_import_mappings"
down_revision = "0003_owner_not_null"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(64), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_mappings"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_import_mappings_user_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("user_id", "layout", name="uq_import_mappings_user_id_layout"),
    )


def downgrade():
    op.drop_table("import_mappings")
