"""The emergency lock's override: one row of the app's own database (`app_settings`).

The lock is needed most when something is wrong, and that includes the flag service: with
the remote backend the EMERGENCY_DATA_LOCK flag lives in Unleash, and while Unleash was
unreachable the lock could only be engaged through the environment and a restart. So the
app's own lock commands (`flask isolation lock`, the dashboard) always write this override,
in the database every process needs anyway to serve any data: engaging the lock never
depends on a second service. The flag is still honoured — an operator may flip it in
Unleash's UI — and lifting the lock lifts both (`admin/changes.py`); the
EMERGENCY_DATA_LOCK setting of the environment stays what it is.

Each process reads the row when it first asks, then in a background thread every
FLAG_REFRESH_SECONDS, never per request: every worker and host sharing the database follows
a change within that interval. A read that fails keeps the last value read (before the
first read succeeds, the override is off: a process that cannot read the database serves
no data anyway).
"""
import logging

from sqlalchemy import inspect, select

from ..extensions import db
from ..models import AppSetting
from .per_process import PerProcess

log = logging.getLogger(__name__)

SETTING = "emergency_data_lock"
ON, OFF = "on", "off"


def stored_override():
    """The override as the database holds it, read in the session's transaction (inside a
    serialised change: under the change lock). Off on an install mid-upgrade, before
    `app_settings` exists (migration 0009)."""
    if not inspect(db.session.connection()).has_table(AppSetting.__tablename__):
        return False
    row = db.session.get(AppSetting, SETTING)
    return row is not None and row.value == ON


def store_override(on):
    """Inside a serialised change (it commits the row)."""
    row = db.session.get(AppSetting, SETTING)
    if row is None:
        db.session.add(AppSetting(key=SETTING, value=ON if on else OFF))
    else:
        row.value = ON if on else OFF


class LockOverride:
    """This process's reading of the override, refreshed in the background."""

    def __init__(self, engine, interval_seconds):
        self._engine = engine
        self._engaged = False
        self._failing = False
        self._background = PerProcess("lock-override", interval_seconds)

    def engaged(self):
        self._background.ensure_started(start=self.reload, tick=self.reload)
        return self._engaged

    def reload(self):
        try:
            with self._engine.connect() as conn:
                value = conn.execute(
                    select(AppSetting.value).where(AppSetting.key == SETTING)).scalar()
        except Exception as exc:  # keep the last value read; say so once per outage
            if not self._failing:
                log.warning("the emergency lock override could not be read: %s", exc)
            self._failing = True
            return
        self._failing = False
        self._engaged = value == ON

    def close(self):
        """Stop this process's background reads (the next `engaged()` starts them again)."""
        self._background.stop()
