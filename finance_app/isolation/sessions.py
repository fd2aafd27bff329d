"""Server-side sessions: signing in starts one; signing out, "sign out everywhere" and a
password change end them (the row and its cached record), so every copy of an ended
session's cookie is anonymous on its next request. Deleting an account ends its sessions
through the foreign key (`auth.service.delete_account` drops their cached records).

A session lasts at most the session cookie's lifetime (`PERMANENT_SESSION_LIFETIME`) from
sign-in; a user's sessions past it are deleted when that user signs in again.
"""
import secrets

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from ..extensions import db
from ..models import UserSession, utcnow
from .principal import (
    SignedIn,
    current_principal,
    current_session_id,
    forget_sessions,
    hash_secret,
    principal_for,
    remember_session,
)
from .scoping import on_behalf_of, scope


def sign_in(user):
    """Start a new session for `user`, who has just proved who they are (ending the
    session this browser had, if any)."""
    sign_out()
    session_id = secrets.token_urlsafe(32)
    session_hash, signed_in_at = hash_secret(session_id), utcnow()
    with on_behalf_of(user.id):
        db.session.add(UserSession(user_id=user.id, session_hash=session_hash,
                                   created_at=signed_in_at))
        db.session.commit()
    record = remember_session(session_hash, user.id, signed_in_at)
    login_user(SignedIn(principal_for(user.id), session_id, record["signed_in_at"]))
    g.pop("isolation_on", None)  # decided for the anonymous visitor, if at all
    _delete_expired_sessions(user.id)


def sign_out():
    """End this request's session, if it has one, and clear the cookie."""
    session_id, principal = current_session_id(), current_principal()
    if session_id is not None:
        _end_sessions(principal.id, [hash_secret(session_id)])
    logout_user()
    session.clear()
    g.pop("isolation_on", None)


def end_other_sessions():
    """End every session of this request's user but the current one; returns how many.

    Pending changes of the caller commit in the same transaction (a password change and the
    end of the sessions signed in with the old password are one)."""
    principal, session_id = current_principal(), current_session_id()
    mine = select(UserSession.session_hash).where(UserSession.user_id == principal.id)
    if session_id is not None:
        mine = mine.where(UserSession.session_hash != hash_secret(session_id))
    hashes = db.session.execute(scope(mine)).scalars().all()
    _end_sessions(principal.id, hashes)
    return len(hashes)


def _end_sessions(user_id, session_hashes):
    # Sessions are personal whatever the isolation flag: always filtered by owner.
    db.session.execute(scope(delete(UserSession).where(
        UserSession.user_id == user_id, UserSession.session_hash.in_(session_hashes))))
    db.session.commit()
    forget_sessions(session_hashes)


def _delete_expired_sessions(user_id):
    cutoff = utcnow() - current_app.permanent_session_lifetime
    db.session.execute(scope(delete(UserSession).where(
        UserSession.user_id == user_id, UserSession.created_at < cutoff)))
    db.session.commit()
