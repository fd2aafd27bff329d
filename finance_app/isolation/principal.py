"""Who is asking: the principal (id, email, cohort, admin) of this request.

Flask-Login carries identity. A browser signs in to a server-side session: the cookie holds
`<user id>:<session id>` and the `user_loader` admits it only while the session's row in
`user_sessions` (kept by the hash of its id) exists and is younger than the cookie lifetime,
so ending a session (sign-out, a password change, "sign out everywhere", deleting the
account) takes effect on its next request, whatever copy of the cookie is replayed. A request
with `Authorization: Bearer <token>` is the token's (`request_loader`), whatever cookie it
also carries. Starting and ending sessions is `sessions.py`.

A steady-state request makes no database query for identity: sessions, tokens and principals
are read through the shared cache, and whatever ends a session or changes a user drops the
entries it affects, so the change holds on the next request in every worker. With the cache
unreachable every lookup is a miss (cache_backend.py): identity comes from the database.
"""
import hashlib
from dataclasses import asdict, dataclass, fields

from flask import current_app, g, request, session
from flask_login import UserMixin, current_user, login_fresh
from sqlalchemy import select

from ..errors import AppError
from ..extensions import cache, db, login_manager
from ..models import ApiToken, User, UserSession, as_utc, utcnow
from .cache_epoch import invalidate
from .escape import unscoped
from .keys import principal_key, session_key, token_key


@dataclass(frozen=True)
class Principal:
    id: int
    email: str
    cohort: str
    is_admin: bool


PRINCIPAL_FIELDS = {f.name for f in fields(Principal)}


class SignedIn(UserMixin):
    """Flask-Login's user: the principal, and how it signed in — a cookie session (its id and
    when its user signed in, in epoch seconds) or a bearer token (neither)."""

    def __init__(self, principal, session_id=None, signed_in_at=None):
        self.principal = principal
        self.session_id = session_id
        self.signed_in_at = signed_in_at

    def get_id(self):
        return f"{self.principal.id}:{self.session_id}"


def hash_secret(secret):
    """SHA-256 of a token or session id: only this is stored, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def current_principal():
    """The signed-in principal of this request, or None (Flask-Login loads it once a request)."""
    return getattr(current_user, "principal", None)


def loaded_principal():
    """The principal if this request has loaded it already, else None, without loading it:
    that asks the cache or the database, which a static file should not cost, nor a page
    saying the database is down. (Flask-Login keeps the user it loaded on `g`.)"""
    return getattr(g.get("_login_user"), "principal", None)


def current_session_id():
    """The id of this request's cookie session, or None (anonymous, or a bearer token)."""
    return getattr(current_user, "session_id", None)


def signed_in_with_token():
    return current_principal() is not None and current_session_id() is None


def signed_in_within(seconds):
    """Whether this request's cookie session signed in (with a password) less than `seconds`
    ago, from the browser and address it signed in from (Flask-Login's "fresh")."""
    if current_session_id() is None:
        return False
    return login_fresh() and utcnow().timestamp() - current_user.signed_in_at < seconds


@login_manager.user_loader
def _user_from_session(user_id):
    if request.headers.get("Authorization") is not None:
        return None  # a request that carries a token is the token's: see the request_loader
    owner, _, session_id = user_id.partition(":")
    record = session_record(session_id)
    principal = None
    if record is not None and str(record["user_id"]) == owner and not _expired(record):
        principal = principal_for(record["user_id"])
    if principal is None:
        # The session ended or the account is gone: drop the cookie's claim, so that the
        # browser's next requests do not look it up again.
        session.clear()
        return None
    return SignedIn(principal, session_id, record["signed_in_at"])


@login_manager.request_loader
def _user_from_bearer(req):
    header = req.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _refuse("Use 'Authorization: Bearer <token>'.")
    user_id = user_id_for_token(token.strip())
    principal = principal_for(user_id) if user_id else None
    if principal is None:
        _refuse("This token is not valid (revoked or unknown).")
    return SignedIn(principal)


def _refuse(message):
    # Anonymous for the rest of the request, so that the error page (which shows who is
    # signed in) renders instead of raising the same refusal again.
    login_manager._update_request_context_with_user()
    raise AppError(401, "unauthorized", message)


def _expired(record):
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return utcnow().timestamp() - record["signed_in_at"] > lifetime


def principal_for(user_id):
    key = principal_key(user_id)
    cached = cache.get(key)
    # An entry of another shape was written by an earlier release: built again.
    if isinstance(cached, dict) and cached.keys() == PRINCIPAL_FIELDS:
        return Principal(**cached)
    user = db.session.get(User, user_id)
    if user is None:
        return None
    principal = Principal(user.id, user.email, user.cohort, user.is_admin)
    cache.set(key, asdict(principal), timeout=current_app.config["PRINCIPAL_CACHE_SECONDS"])
    return principal


def user_id_for_token(token):
    token_hash = hash_secret(token)
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


def session_record(session_id):
    """{user_id, signed_in_at} of a session that has not been ended, or None."""
    session_hash = hash_secret(session_id)
    record = cache.get(session_key(session_hash))
    if record is not None:
        return record
    # Before identity is known there is no scope to apply: the session is looked up by hash.
    with unscoped("session lookup", quiet=True):
        row = db.session.execute(
            select(UserSession.user_id, UserSession.created_at)
            .where(UserSession.session_hash == session_hash)
        ).first()
    return None if row is None else remember_session(session_hash, *row)


def remember_session(session_hash, user_id, created_at):
    """Cache a session's record (its row exists); returns the record."""
    record = {"user_id": user_id, "signed_in_at": as_utc(created_at).timestamp()}
    cache.set(session_key(session_hash), record,
              timeout=current_app.config["PRINCIPAL_CACHE_SECONDS"])
    return record


def forget_principal(user_id):
    """Drop the cached principal: the user's next request sees the change (or the deletion)."""
    invalidate(lambda: cache.delete(principal_key(user_id)))


def forget_tokens(token_hashes):
    invalidate(lambda: cache.delete_many(*[token_key(h) for h in token_hashes]))


def forget_sessions(session_hashes):
    """Drop ended sessions' cached records (their rows are gone): their cookies stop working."""
    invalidate(lambda: cache.delete_many(*[session_key(h) for h in session_hashes]))
