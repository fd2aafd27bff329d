"""Server-side sessions: sign-out, "sign out everywhere" and a password change end sessions
for good (a replayed cookie is anonymous); only a hash of the session id is stored."""
import hashlib

import pytest

from tests.auth.sessions import (
    age_sessions,
    cookie_contents,
    replay,
    session_cookie,
    session_hashes,
)
from tests.conftest import PASSWORD, csrf_token, login

NEW_PASSWORD = "a brand new password"


def signed_in(client):
    return client.get("/api/me").status_code == 200


def can_sign_in(app, password):
    response = app.test_client().post("/api/auth/tokens", json={
        "email": "alice@example.com", "password": password})
    return response.status_code == 201


def test_sign_in_stores_only_a_hash_of_the_session_id_and_no_remember_cookie(app, people):
    alice = people.client("alice")
    user_id, _, session_id = cookie_contents(app, session_cookie(alice))["_user_id"].partition(":")
    assert user_id == str(people.ids["alice"]) and len(session_id) >= 32
    assert session_hashes(app, people.ids["alice"]) == {
        hashlib.sha256(session_id.encode()).hexdigest()}
    assert alice.get_cookie("remember_token") is None


def test_a_signed_out_cookie_replayed_is_anonymous(app, people):
    alice = people.client("alice")
    copy = session_cookie(alice)
    assert signed_in(replay(app, copy))
    response = alice.post("/logout", data={"csrf_token": csrf_token(alice, "/")})
    assert response.status_code == 302
    assert session_hashes(app, people.ids["alice"]) == set()

    thief = replay(app, copy)
    me = thief.get("/api/me")
    assert me.status_code == 401 and me.json["error"]["code"] == "unauthorized"
    page = replay(app, copy).get("/transactions")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_signing_in_again_ends_the_browsers_previous_session(app, people):
    alice = people.client("alice")
    first = session_cookie(alice)
    login(alice, "alice@example.com")
    assert signed_in(alice)
    assert not signed_in(replay(app, first))
    assert len(session_hashes(app, people.ids["alice"])) == 1


def test_an_ended_session_is_refused_even_when_only_the_database_knows(app, people):
    """The cache may have lost the record (restart, eviction): the database decides."""
    alice = people.client("alice")
    copy = session_cookie(alice)
    age_sessions(app, people.ids["alice"], seconds=1)  # drops the cached records
    assert signed_in(replay(app, copy))
    alice.post("/logout", data={"csrf_token": csrf_token(alice, "/")})
    age_sessions(app, people.ids["alice"], seconds=1)
    assert not signed_in(replay(app, copy))


@pytest.mark.parametrize("via", ["web", "json"])
def test_sign_out_everywhere_ends_every_other_session(app, people, via):
    here, laptop, phone = (people.client("alice") for _ in range(3))
    bob = people.client("bob")
    if via == "web":
        response = here.post("/settings/sign-out-everywhere",
                             data={"csrf_token": csrf_token(here, "/settings")})
        assert response.status_code == 302
        assert "Signed out of 2 other session(s)" in here.get("/settings").text
    else:
        response = here.post("/api/auth/sign-out-everywhere")
        assert response.status_code == 200 and response.json == {"ended_sessions": 2}
    assert signed_in(here)
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(bob)  # nobody else's sessions
    assert len(session_hashes(app, people.ids["alice"])) == 1


def change_password_web(client, current, new):
    return client.post("/settings/password", data={
        "current_password": current, "new_password": new,
        "csrf_token": csrf_token(client, "/settings")})


def change_password_json(client, current, new):
    return client.post("/api/auth/password", json={
        "current_password": current, "new_password": new})


CHANGE_PASSWORD = {"web": change_password_web, "json": change_password_json}


@pytest.mark.parametrize("via", ["web", "json"])
def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, people, via):
    here, elsewhere = people.client("alice"), people.client("alice")
    response = CHANGE_PASSWORD[via](here, PASSWORD, NEW_PASSWORD)
    if via == "web":
        assert response.status_code == 302
    else:
        assert response.status_code == 200 and response.json == {"ended_sessions": 1}
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert can_sign_in(app, NEW_PASSWORD) and not can_sign_in(app, PASSWORD)


@pytest.mark.parametrize("via", ["web", "json"])
@pytest.mark.parametrize("current,new,refusal", [
    ("not my password", NEW_PASSWORD, {"web": 403, "json": (403, "wrong_password")}),
    ("", NEW_PASSWORD, {"web": 403, "json": (422, "validation_error")}),
    (PASSWORD, "short", {"web": 422, "json": (422, "validation_error")}),
], ids=["wrong-current", "no-current", "short-new"])
def test_a_password_change_needs_the_current_password_and_a_valid_new_one(
        app, people, via, current, new, refusal):
    here, elsewhere = people.client("alice"), people.client("alice")
    response = CHANGE_PASSWORD[via](here, current, new)
    if via == "web":
        assert response.status_code == refusal["web"]
        assert 'class="flash error"' in response.text
    else:
        assert (response.status_code, response.json["error"]["code"]) == refusal["json"]
    assert signed_in(here) and signed_in(elsewhere)  # nothing ended
    assert can_sign_in(app, PASSWORD) and not can_sign_in(app, NEW_PASSWORD)


def test_a_session_ends_when_the_session_cookie_would_have_expired(app, people):
    old, other = people.client("alice"), people.client("alice")
    lifetime = app.permanent_session_lifetime
    age_sessions(app, people.ids["alice"], seconds=lifetime.total_seconds() + 60)
    assert not signed_in(old) and not signed_in(other)
    assert len(session_hashes(app, people.ids["alice"])) == 2
    fresh = people.client("alice")  # signing in again deletes the expired ones
    assert signed_in(fresh)
    assert len(session_hashes(app, people.ids["alice"])) == 1
