"""`unscoped(reason)`: the one named, logged escape hatch from scope() and the guard.

A leaf module: the guard, owner stamping and the principal lookups all ask it whether the
current code runs inside an escape, without importing each other.
"""
import logging
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger("finance_app.isolation")

_unscoped_reason = ContextVar("unscoped_reason", default=None)


@contextmanager
def unscoped(reason, quiet=False):
    """Run reads of owned rows without scope(): for admin aggregates and ops only."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    (log.debug if quiet else log.info)("unscoped access: %s", reason)
    token = _unscoped_reason.set(reason)
    try:
        yield
    finally:
        _unscoped_reason.reset(token)


def unscoped_reason():
    """Why the current code runs unscoped, or None when it does not."""
    return _unscoped_reason.get()
