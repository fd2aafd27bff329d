"""Whether the dashboard's own tables exist yet.

An install in the middle of its upgrade (at 0002 while unowned rows are backfilled, before
0003 to 0005) still gets the dashboard read-only: cohorts as users carry them, the flag
state, and preflight — the report that says what blocks the upgrade. Changes need the audit
log, so they wait for `flask db upgrade`; sign-ups join cohort `general` until the settings
table (0009) is there.
"""
from sqlalchemy import inspect

from ..errors import AppError
from ..extensions import db

ADMIN_TABLES = {"cohorts", "audit_events", "app_settings"}


def admin_tables_ready():
    return ADMIN_TABLES <= set(inspect(db.engine).get_table_names())


def require_admin_tables():
    if not admin_tables_ready():
        raise AppError(503, "migration_pending", (
            "The flag dashboard's tables are not there yet (migrations 0005 and 0009): run "
            "`flask db upgrade` (after `flask isolation backfill` if it stops at 0002). "
            "Until then the dashboard only reads."))
