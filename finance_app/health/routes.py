"""Liveness and readiness probes (no sign-in, no user data).

`/readyz` answers `ready`, `degraded` (the cache is unavailable: requests are served from
the database) or `not ready` (503: the database is unavailable), each dependency as `ok` or
`unavailable`. It only reads — a SELECT 1 and a cache PING — so concurrent probes cannot
disturb one another, and it prints nothing about why: the reason goes to the log.
"""
import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from .. import cache_backend
from ..extensions import db
from ..isolation import PUBLIC, access

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

OK, UNAVAILABLE = "ok", "unavailable"


@bp.get("/healthz")
@access(PUBLIC)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@access(PUBLIC)
def readyz():
    checks = {"database": _check("database", _database_answers),
              "cache": _check("cache", cache_backend.reachable)}
    if checks["database"] != OK:
        return jsonify(status="not ready", checks=checks), 503
    return jsonify(status="ready" if checks["cache"] == OK else "degraded", checks=checks)


def _database_answers():
    try:
        return db.session.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.session.rollback()


def _check(name, probe):
    try:
        if probe():
            return OK
        log.warning("readiness: the %s is unavailable", name)
    except Exception as exc:
        log.warning("readiness: the %s is unavailable: %s", name, exc)
    return UNAVAILABLE
