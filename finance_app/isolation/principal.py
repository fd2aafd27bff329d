"""Who is asking: the principal (id, email, cohort, admin) of this request.

A steady-state request makes no database query for identity: the session holds the user id
and the auth version it signed in with, and the principal comes from the shared cache. The
cache entry is dropped whenever the user changes (cohort, password, deletion), so the change
takes effect on that user's next request. Bearer tokens map to a user id through the cache
the same way.
"""
import hashlib
import logging
from dataclasses import asdict, dataclass

from flask import current_app, g, request, session
from sqlalchemy import select

from ..errors import AppError
from ..extensions import cache, db
from ..models import ApiToken, User
from .escape import unscoped
from .keys import principal_key, token_key

log = logging.getLogger(__name__)

SESSION_USER_ID = "uid"
SESSION_AUTH_VERSION = "auth_v"


@dataclass(frozen=True)
class Principal:
    id: int
    email: str
    cohort: str
    is_admin: bool
    auth_version: int


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def current_principal():
    """The signed-in principal of this request, or None; resolved once per request."""
    if "principal" not in g:
        g.principal = _resolve()
    return g.principal


def _resolve():
    header = request.headers.get("Authorization")
    if header is not None:
        return _principal_from_bearer(header)
    user_id = session.get(SESSION_USER_ID)
    if user_id is None:
        return None
    principal = principal_for(user_id)
    if principal is None or principal.auth_version != session.get(SESSION_AUTH_VERSION):
        session.clear()  # the account is gone or its password changed since sign-in
        return None
    return principal


def _principal_from_bearer(header):
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError(401, "unauthorized", "Use 'Authorization: Bearer <token>'.")
    user_id = user_id_for_token(token.strip())
    principal = principal_for(user_id) if user_id else None
    if principal is None:
        raise AppError(401, "unauthorized", "This token is not valid (revoked or unknown).")
    return principal


def principal_for(user_id):
    key = principal_key(user_id)
    cached = cache.get(key)
    if cached is not None:
        return Principal(**cached)
    user = db.session.get(User, user_id)
    if user is None:
        return None
    principal = Principal(user.id, user.email, user.cohort, user.is_admin, user.auth_version)
    cache.set(key, asdict(principal), timeout=current_app.config["PRINCIPAL_CACHE_SECONDS"])
    return principal


def user_id_for_token(token):
    token_hash = hash_token(token)
    key = token_key(token_hash)
    user_id = cache.get(key)
    if user_id is not None:
        return user_id
    # Before identity is known there is no scope to apply: the token row is looked up by hash.
    with unscoped("bearer token lookup", quiet=True):
        user_id = db.session.execute(
            select(ApiToken.user_id).where(ApiToken.token_hash == token_hash)
        ).scalar()
    if user_id is not None:
        cache.set(key, user_id, timeout=current_app.config["PRINCIPAL_CACHE_SECONDS"])
    return user_id


def sign_in(user):
    session.clear()
    session[SESSION_USER_ID] = user.id
    session[SESSION_AUTH_VERSION] = user.auth_version
    g.pop("principal", None)
    g.pop("isolation_on", None)


def sign_out():
    session.clear()
    g.pop("principal", None)


def forget_principal(user_id):
    """Drop the cached principal: the user's next request sees the change (or the deletion)."""
    cache.delete(principal_key(user_id))


def forget_tokens(token_hashes):
    cache.delete_many(*[token_key(h) for h in token_hashes])
