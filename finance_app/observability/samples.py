"""The last hour of what matters for a rollout step, per cohort and minute, shared by every
process and host.

Prometheus counters hold each process's totals, not history. So each process also tallies
the events `metrics.py` samples — denials (401, 404, 429), guard and policy refusals, errors
(5xx) — per minute (UTC) and cohort in memory, and its background tick (`background.py`, never
a request) adds the tally to the `metric_samples` table, where the rows of every process and
host add up. Rows older than a day are pruned then. A flush that fails keeps its counts for
the next one (a day of them at most), saying so once per outage.
"""
import logging
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import MetricSample, as_utc, utcnow
from .metrics import (
    DENIED_401,
    DENIED_404,
    DENIED_429,
    ERROR_5XX,
    GUARD_REFUSAL,
    POLICY_REFUSAL,
    SAMPLE_KINDS,
)

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)
WINDOW_MINUTES = 60
KIND_LABELS = {DENIED_401: "401 sign-in needed", DENIED_404: "404 not found",
               DENIED_429: "429 too many requests", GUARD_REFUSAL: "guard refusals",
               POLICY_REFUSAL: "policy refusals", ERROR_5XX: "5xx errors"}
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _minute(moment):
    return moment.replace(second=0, microsecond=0)


class MinuteSamples:
    """This process's tally for one app, until its next flush."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = Counter()
        self._failing = False

    def add(self, cohort, kind):
        with self._lock:
            self._pending[(_minute(utcnow()), cohort, kind)] += 1

    def flush(self):
        """Add the tally to the table and prune it (in an app context)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            with db.engine.begin() as conn:
                conn.execute(_add_counts(conn.dialect.name), [
                    {"minute": minute, "cohort": cohort, "kind": kind, "count": count}
                    for (minute, cohort, kind), count in pending.items()])
                conn.execute(delete(MetricSample).where(MetricSample.minute < utcnow() - KEEP))
        except Exception as exc:
            self._keep(pending)
            if not self._failing:
                log.warning("per-minute samples could not be stored (kept for the next "
                            "try): %s", exc)
            self._failing = True
            return
        self._failing = False

    def _keep(self, pending):
        oldest = utcnow() - KEEP
        with self._lock:
            self._pending.update({key: count for key, count in pending.items()
                                  if key[0] >= oldest})


def _add_counts(dialect):
    """INSERT … ON CONFLICT DO UPDATE: a minute another process (or host) has begun is added
    to, in one statement."""
    table = MetricSample.__table__
    stmt = _INSERTS[dialect](table)
    return stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                      set_={"count": table.c.count + stmt.excluded.count})


def last_hour(now=None):
    """The last 60 minutes (UTC, oldest first) and, per cohort with any event in them, the
    count of each kind in each minute and over the hour; None on an install mid-upgrade
    (before the table's migration)."""
    if not inspect(db.session.connection()).has_table(MetricSample.__tablename__):
        return None
    first = _minute(now or utcnow()) - timedelta(minutes=WINDOW_MINUTES - 1)
    rows = db.session.execute(
        select(MetricSample.minute, MetricSample.cohort, MetricSample.kind,
               func.sum(MetricSample.count))
        .where(MetricSample.minute >= first, MetricSample.kind.in_(SAMPLE_KINDS))
        .group_by(MetricSample.minute, MetricSample.cohort, MetricSample.kind)).all()
    counts = {}
    for minute, cohort, kind, count in rows:
        index = int((as_utc(minute) - first).total_seconds() // 60)
        if index < WINDOW_MINUTES:
            series = counts.setdefault(cohort, {k: [0] * WINDOW_MINUTES for k in SAMPLE_KINDS})
            series[kind][index] += int(count)
    minutes = [(first + timedelta(minutes=i)).strftime("%H:%M") for i in range(WINDOW_MINUTES)]
    return {
        "minutes": minutes,
        "kinds": [{"key": kind, "label": KIND_LABELS[kind]} for kind in SAMPLE_KINDS],
        "cohorts": [_cohort(cohort, series, minutes) for cohort, series in sorted(counts.items())],
    }


def _cohort(cohort, series, minutes):
    """A cohort's counts: per kind and minute (the chart), over the hour, and the minutes
    with any event (the table)."""
    return {"cohort": cohort, "counts": series,
            "totals": {kind: sum(values) for kind, values in series.items()},
            "busy_minutes": [{"minute": label, "counts": {k: series[k][i] for k in SAMPLE_KINDS}}
                             for i, label in enumerate(minutes)
                             if any(series[k][i] for k in SAMPLE_KINDS)]}
