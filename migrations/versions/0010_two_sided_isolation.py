"""Two-sided isolation: each user's rollout bucket, so SQL can tell who is isolated.

The shared ledger leaves out the rows of isolated owners, decided in SQL from the flag
definition (finance_app/isolation/visibility.py). A percentage rollout isolates a user when
their bucket — murmur3 of "USE_USER_ISOLATION:<id>", as the Unleash SDK computes it — is
within the percentage; SQL databases have no murmur3, so the bucket is stored per user.
Bucket 0 means "not computed yet" and counts as inside every percentage (fails closed); the
app computes it for each new user in the same transaction.

Revision ID: 0010_two_sided_isolation
Revises: 0009_app_settings
"""
import sqlalchemy as sa
from alembic import op

from finance_app.isolation.visibility import rollout_bucket

revision = "0010_two_sided_isolation"
down_revision = "0009_app_settings"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("rollout_bucket", sa.SmallInteger(), nullable=False,
                                   server_default="0"))
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer),
                     sa.column("rollout_bucket", sa.SmallInteger))
    ids = bind.execute(sa.select(users.c.id).order_by(users.c.id)).scalars().all()
    update = (sa.update(users).where(users.c.id == sa.bindparam("user_id"))
              .values(rollout_bucket=sa.bindparam("bucket")))
    for start in range(0, len(ids), BATCH):
        bind.execute(update, [{"user_id": uid, "bucket": rollout_bucket(uid)}
                              for uid in ids[start:start + BATCH]])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("rollout_bucket")
