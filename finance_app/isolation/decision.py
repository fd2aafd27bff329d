"""The one isolation decision per request.

`isolation_on()` evaluates USE_USER_ISOLATION once for the signed-in principal and memoises it
on `g`: queries, cache keys and the response all follow that decision even if the flag flips
mid-request. With no principal the answer is ON, so nothing anonymous can see shared rows.
`visibility_rule()` is the same definitions as SQL (who else is isolated), also once per
request.
"""
from flask import current_app, g

from ..observability import metrics
from .lock_override import stored_override
from .principal import current_principal


def flag_service():
    return current_app.extensions["flags"]


def isolation_on():
    if "isolation_on" not in g:
        principal = current_principal()
        g.deciding_isolation = True
        try:
            decision = (True if principal is None
                        else flag_service().isolation_for(principal.id, principal.cohort))
        finally:
            g.pop("deciding_isolation")
        g.isolation_on = decision
        metrics.decided(principal, decision)
    return g.isolation_on


def deciding_isolation():
    """Whether this request is making its decision right now: the flag client's first use
    in a process reads the definitions from the database, and those statements must not ask
    for the decision they are part of (db_wall.py)."""
    return g.get("deciding_isolation", False)


def visibility_rule():
    """Who USE_USER_ISOLATION isolates, as SQL (visibility.py): whose rows the shared ledger
    must leave out."""
    if "visibility_rule" not in g:
        g.visibility_rule = flag_service().visibility_rule()
    return g.visibility_rule


def data_lock_engaged():
    """The emergency lock: by configuration, by the override in the app's database, or by
    the EMERGENCY_DATA_LOCK flag — each as this process knows it, never read per request."""
    if "data_lock" not in g:
        flags = flag_service()
        g.data_lock = (bool(current_app.config.get("EMERGENCY_DATA_LOCK"))
                       or flags.lock_override.engaged() or flags.lock_on())
    return g.data_lock


def lock_sources():
    """What holds the emergency lock now, read afresh (the dashboard, ops commands and lock
    changes): the override as the database holds it, the flag as the flag service holds it
    (or as this process last loaded it while the service cannot be reached), and the
    setting of this process's environment."""
    return {"override": stored_override(), "flag": flag_service().lock_flag_on(),
            "config": bool(current_app.config.get("EMERGENCY_DATA_LOCK"))}
