"""`flask isolation status`: where an install stands in the rollout.

Each part is gathered on its own: a part that cannot be read (no tables yet, Redis or the
Unleash server down) says why, and the others are still shown.
"""
from collections import Counter
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..extensions import db
from ..isolation.cache_keys import legacy_data_keys
from ..isolation.decision import flag_service, lock_sources
from ..isolation.flags import ISOLATION_FLAG, FlagServiceError
from ..isolation.scoping import guard_refusals_since, owned_tables
from . import schema

REFUSALS_WINDOW = timedelta(hours=24)


def gather_status(now=None):
    now = now or datetime.now(timezone.utc)
    status = {}
    for name, read in (("revision", _revision), ("owners", _owners), ("flag", _flag),
                       ("cohorts", _cohorts), ("backend", _backend), ("lock", lock_sources),
                       ("legacy_cache_keys", _legacy_cache_keys),
                       ("guard_refusals", lambda: guard_refusals_since(now - REFUSALS_WINDOW))):
        try:
            status[name] = read()
        except Exception as exc:  # report it and carry on: status is what ops read in trouble
            status[name] = Unavailable(exc)
    db.session.rollback()  # a failed read must not leave the session's transaction aborted
    return status


class Unavailable:
    def __init__(self, exc):
        self.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def __str__(self):
        return f"unavailable ({self.reason})"


def _revision():
    return {"current": schema.current_revision(), "heads": schema.head_revisions(),
            "database": schema.database_label()}


def _owners():
    """Per owned table: rows, and rows without an owner (None: no owner column yet)."""
    present = schema.table_names()
    counts = {}
    with schema.engine().connect() as conn:
        for table in sorted(owned_tables() & present):
            total = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
            unowned = (conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE user_id IS NULL"))
                       .scalar() if schema.has_owner_column(table) else None)
            counts[table] = (total, unowned)
    return counts


def _flag():
    return flag_service().isolation_state()


def _cohorts():
    """Users per cohort; cohorts without users too once revision 5 keeps them in a table."""
    users = schema.users
    with schema.engine().connect() as conn:
        counts = Counter(dict(conn.execute(
            sa.select(users.c.cohort, sa.func.count()).group_by(users.c.cohort)).all()))
        if "cohorts" in schema.table_names():
            for name in conn.execute(sa.text("SELECT name FROM cohorts")).scalars():
                counts.setdefault(name, 0)
    return counts


def _backend():
    flags = flag_service()
    try:
        flags.refresh()  # one real read of the definitions, so health is current
    except FlagServiceError:
        pass  # health() reports what is wrong
    return flags.health()


def _legacy_cache_keys():
    return sum(1 for _ in legacy_data_keys())


def cohort_state(cohort, flag):
    if not flag["defined"]:
        return "isolated (flag undefined: fails closed)"
    if flag["everyone"] or cohort in flag["cohorts"]:
        return "isolated"
    if flag["percent"]:
        return f"shared ledger, {flag['percent']}% of its users isolated"
    return "shared ledger"


def describe_status(status):
    lines = []
    revision = status["revision"]
    if isinstance(revision, Unavailable):
        lines.append(f"Migration revision: {revision}")
    else:
        heads = ", ".join(revision["heads"])
        where = ("at head" if revision["current"] in revision["heads"]
                 else "no tables: run `flask db upgrade`" if revision["current"] is None
                 else "behind head: `flask db upgrade`")
        lines += [f"Database: {revision['database']}",
                  f"Migration revision: {revision['current'] or 'none'} (head {heads}; {where})"]

    owners = status["owners"]
    lines.append("Unowned rows:")
    if isinstance(owners, Unavailable):
        lines.append(f"  {owners}")
    elif not owners:
        lines.append("  no owned tables yet")
    else:
        for table, (total, unowned) in owners.items():
            shown = (f"{unowned} of {total}" if unowned is not None
                     else f"all {total} (no owner column yet: revision 1)")
            lines.append(f"  {table:<16} {shown}")
        if any(unowned for _, unowned in owners.values()):
            lines.append("  assign them: `flask isolation backfill --owner EMAIL` (or --map FILE), "
                         "then `flask db upgrade`")

    flag, cohorts = status["flag"], status["cohorts"]
    if isinstance(flag, Unavailable):
        lines.append(f"{ISOLATION_FLAG}: {flag}")
    else:
        enabled = ", ".join(flag["cohorts"]) or "none"
        state = "not defined (isolation ON for everyone)" if not flag["defined"] else (
            f"cohorts enabled: {enabled}; percentage rollout: {flag['percent']}%")
        lines.append(f"{ISOLATION_FLAG}: {state}")
    lines.append("Cohorts:")
    if isinstance(cohorts, Unavailable):
        lines.append(f"  {cohorts}")
    else:
        enabled = set() if isinstance(flag, Unavailable) else set(flag["cohorts"])
        named = sorted(set(cohorts) | enabled)
        for cohort in named:
            users = cohorts.get(cohort, 0)
            state = "?" if isinstance(flag, Unavailable) else cohort_state(cohort, flag)
            lines.append(f"  {cohort:<12} {users:>6} user{'s' if users != 1 else ' '}   {state}")

    backend = status["backend"]
    if isinstance(backend, Unavailable):
        lines.append(f"Flag backend: {backend}")
    else:
        error = str(backend.get("error") or "unreachable").splitlines()[0]
        health = "ok" if backend["ok"] else f"NOT OK ({error})"
        where = f" at {backend['url']}" if backend.get("url") else ""
        lines.append(f"Flag backend: {backend['backend']}{where}, {health}, "
                     f"last sync {backend.get('last_sync') or 'never'}")

    lock = status["lock"]
    if isinstance(lock, Unavailable):
        lines.append(f"Emergency data lock: {lock}")
    else:
        on = lock["override"] or lock["flag"] or lock["config"]
        why = " (EMERGENCY_DATA_LOCK setting)" if lock["config"] else ""
        lines.append(f"Emergency data lock: {'ON' + why if on else 'off'}")

    lines.append(f"Legacy cache keys: {status['legacy_cache_keys']}")
    lines.append(f"Guard refusals in the last 24 h: {status['guard_refusals']}")
    return lines
