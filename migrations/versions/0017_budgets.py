"""Budgets: an amount per category, for one month or repeating every month (issue 14).

An owned table like the others: user_id → users ON DELETE CASCADE, and the row-level
security policies of every owned table (`ensure_wall`, after the upgrade). A budget is
unique per owner, category and month; the repeating one (month NULL) per owner and category
through a partial unique index, since a unique key treats NULLs as distinct.

Revision ID: 0017_budgets
Revises: 0016_rules
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_budgets"
down_revision = "0016_rules"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "category", "month",
                            name="uq_budgets_user_id_category_month"),
        sa.CheckConstraint("amount > 0", name="ck_budgets_amount_positive"),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_budgets_user_id_category_repeating", "budgets",
                    ["user_id", "category"], unique=True,
                    sqlite_where=sa.text("month IS NULL"),
                    postgresql_where=sa.text("month IS NULL"))


def downgrade():
    op.drop_index("uq_budgets_user_id_category_repeating", table_name="budgets")
    op.drop_table("budgets")
