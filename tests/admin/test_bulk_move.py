"""A bulk move is one database transaction with one audit event: all or nothing.

Before, each user's new cohort was committed on its own, so a move interrupted midway left
128 of 400 users moved and no audit event. On SQLite and PostgreSQL.
"""
import pytest
from sqlalchemy import event, select

from finance_app.extensions import cache, db
from finance_app.isolation.keys import (
    LEGACY_NAMESPACE, generation_key, principal_key, user_namespace,
)
from finance_app.isolation.principal import principal_for
from finance_app.models import User
from tests.admin.support import REASON, audit_count, audit_log
from tests.conftest import add_user, app_on_fresh_database, login, set_isolation

USERS = 400


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def install(request, tmp_path):
    """An app with 400 users at corp.example (cohort general) and a signed-in admin."""
    if request.param == "sqlite":
        app = request.getfixturevalue("app")
        yield app, *_populate(app)
    else:
        with app_on_fresh_database(tmp_path, "postgres") as app:
            yield app, *_populate(app)


def _populate(app):
    with app.app_context():
        users = [User(email=f"user{i:03}@corp.example", password_hash="unused",
                      cohort="general") for i in range(USERS)]
        db.session.add_all(users)
        db.session.commit()
        ids = [u.id for u in users]
    add_user(app, "admin@example.com", "staff", is_admin=True)
    set_isolation(app, ["staff"])
    return ids, login(app.test_client(), "admin@example.com")


def cohorts_of(app, ids):
    with app.app_context():
        return set(db.session.execute(select(User.cohort).where(User.id.in_(ids))).scalars())


def move_everyone(admin):
    return admin.post("/api/admin/cohorts/staff/users",
                      json={"domain": "corp.example", "reason": REASON})


class Interrupted(Exception):
    """Stands for whatever stops a move midway: a killed worker, a lost connection."""


def cached_state(app, user_id):
    """(the user's cached principal, their namespace's generation, the legacy one's)."""
    with app.app_context():
        return (cache.get(principal_key(user_id)),
                cache.get(generation_key(user_namespace(user_id))),
                cache.get(generation_key(LEGACY_NAMESPACE)))


def test_an_interrupted_bulk_move_changes_nobody_and_records_nothing(install):
    app, ids, admin = install
    with app.app_context():
        principal_for(ids[0])  # a moved user's cached principal, as after a request
    cached = cached_state(app, ids[0])
    assert cached[0]["cohort"] == "general"

    moved = []

    def stop_after_128(user, value, old, initiator):
        moved.append(user.id)
        if len(moved) > 128:
            raise Interrupted

    event.listen(User.cohort, "set", stop_after_128)
    try:
        with pytest.raises(Interrupted):
            move_everyone(admin)
    finally:
        event.remove(User.cohort, "set", stop_after_128)
    assert len(moved) == 129  # the move was well under way when it stopped
    assert cohorts_of(app, ids) == {"general"}
    assert audit_count(app) == 0
    assert cached_state(app, ids[0]) == cached  # nothing committed, nothing to forget


def test_a_bulk_move_records_one_event_then_drops_what_the_cache_holds(install):
    app, ids, admin = install
    with app.app_context():
        principal_for(ids[0])
    cached = cached_state(app, ids[0])

    response = move_everyone(admin)
    assert response.status_code == 200, response.text
    assert len(response.json["moved"]) == USERS
    assert cohorts_of(app, ids) == {"staff"}
    assert audit_count(app) == 1
    logged = audit_log(admin)[0]
    assert logged["action"] == "users.cohort" and len(logged["after"]["cohorts"]) == USERS

    principal, own_generation, legacy_generation = cached_state(app, ids[0])
    assert principal is None  # the next request reads the new cohort
    # The user left the shared ledger: its aggregates and the user's own are rebuilt.
    assert own_generation is not None and own_generation != cached[1]
    assert legacy_generation is not None and legacy_generation != cached[2]
