"""Row-level security on PostgreSQL: the second wall behind scope() (isolation/db_wall.py).

The role `finance_app` (owns no table, subject to the policies) that requests run as, its
grants, and on every owned table RLS with policies admitting exactly what scope() admits.
Needs a login role with CREATEROLE, or the role created beforehand by a DBA (README).
Nothing on SQLite, which has no row-level security.

Revision ID: 0012_row_level_security
Revises: 0011_cache_epoch
"""
from alembic import op

from finance_app.isolation.db_wall import create_role, ensure_wall, remove_wall

revision = "0012_row_level_security"
down_revision = "0011_cache_epoch"
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    create_role(connection)
    ensure_wall(connection)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    remove_wall(connection)
