"""Liveness and readiness probes (no sign-in, no user data)."""
import uuid

from flask import Blueprint, jsonify
from sqlalchemy import text

from ..extensions import cache, db
from ..isolation import PUBLIC, access

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@access(PUBLIC)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@access(PUBLIC)
def readyz():
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1")).scalar() == 1),
              "cache": _check(_cache_round_trip)}
    ready = all(c["ok"] for c in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _cache_round_trip():
    key, value = "_readyz", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    return cache.get(key) == value


def _check(probe):
    try:
        ok = bool(probe())
        return {"ok": ok} if ok else {"ok": False, "error": "unexpected answer"}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__ + ": " + str(exc)[:200]}
