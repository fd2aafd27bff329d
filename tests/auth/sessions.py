"""Helpers for the session tests: the session cookie, replaying it, ageing sessions."""
from datetime import timedelta

from sqlalchemy import select

from finance_app.extensions import cache, db
from finance_app.isolation.keys import session_key
from finance_app.models import UserSession


def session_cookie(client):
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, cookie_value):
    """A new browser that presents a copy of a session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie_value)
    return client


def cookie_contents(app, cookie_value):
    return app.session_interface.get_signing_serializer(app).loads(cookie_value)


def session_hashes(app, user_id):
    with app.app_context():
        return set(db.session.execute(
            select(UserSession.session_hash).where(UserSession.user_id == user_id)).scalars())


def age_sessions(app, user_id, **delta):
    """Move the user's sign-ins back in time, in the database and out of the cache (as after
    a cache restart): the session check reads them from the database again."""
    with app.app_context():
        rows = db.session.execute(
            select(UserSession).where(UserSession.user_id == user_id)).scalars().all()
        for row in rows:
            row.created_at -= timedelta(**delta)
        db.session.commit()
        cache.delete_many(*[session_key(row.session_hash) for row in rows])
