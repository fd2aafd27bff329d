"""Account changes need proof that the owner is at the keyboard: creating an API token needs a
recent sign-in or the password; changing the password and deleting the account need the
password; and a bearer token can do none of them (403), on the JSON API or the web forms."""
import re

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import ApiToken, User
from tests.auth.sessions import age_sessions
from tests.conftest import PASSWORD, csrf_token


def token_count(app, user_id):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(ApiToken)
                                  .where(ApiToken.user_id == user_id)).scalar()


def create_token(client, **fields):
    return client.post("/settings/tokens", data={
        "name": "assistant", "csrf_token": csrf_token(client, "/settings"), **fields})


def shown_token(page):
    return re.search(r"<code>(fa_[^<]+)</code>", page.text)


def test_a_fresh_sign_in_creates_tokens_without_the_password(app, people):
    alice = people.client("alice")
    assert 'id="token-password"' not in alice.get("/settings").text
    response = create_token(alice)
    assert response.status_code == 201 and shown_token(response)
    assert token_count(app, people.ids["alice"]) == 1


def test_an_old_sign_in_needs_the_password_to_create_a_token(app, people):
    alice = people.client("alice")
    age_sessions(app, people.ids["alice"], minutes=16)
    page = alice.get("/settings").text
    assert "you signed in more than 15 minutes ago" in page and 'id="token-password"' in page

    refused = create_token(alice)
    assert refused.status_code == 403 and not shown_token(refused)
    assert "enter your password" in refused.text
    wrong = create_token(alice, password="not my password")
    assert wrong.status_code == 403 and "not right" in wrong.text
    assert token_count(app, people.ids["alice"]) == 0

    confirmed = create_token(alice, password=PASSWORD)
    assert confirmed.status_code == 201 and shown_token(confirmed)
    assert token_count(app, people.ids["alice"]) == 1


def test_the_recent_sign_in_window_is_configurable(app, people):
    app.config["FRESH_SIGN_IN_MINUTES"] = 60
    alice = people.client("alice")
    age_sessions(app, people.ids["alice"], minutes=16)
    assert create_token(alice).status_code == 201


def test_a_session_used_from_another_browser_is_not_a_recent_sign_in(app, people):
    """Flask-Login marks a session not fresh when its browser or address changes."""
    alice = people.client("alice")
    alice.environ_base["HTTP_USER_AGENT"] = "a different browser"
    assert alice.get("/api/me").status_code == 200  # still signed in
    assert create_token(alice).status_code == 403
    assert create_token(alice, password=PASSWORD).status_code == 201


def test_changing_the_password_or_deleting_needs_the_password_even_when_fresh(app, people):
    alice = people.client("alice")
    response = alice.post("/settings/delete", data={"csrf_token": csrf_token(alice, "/settings")})
    assert response.status_code == 403 and "current password" in response.text
    response = alice.delete("/api/auth/account", json={})
    assert response.status_code == 422 and response.json["error"]["field"] == "password"
    with app.app_context():
        assert db.session.get(User, people.ids["alice"]) is not None


@pytest.fixture
def bearer(app, people):
    token = app.test_client().post("/api/auth/tokens", json={
        "email": "alice@example.com", "password": PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {token}"}


# Each carries the password, which would otherwise be enough.
BEARER_REFUSED = [
    ("POST", "/settings/tokens", {"data": {"name": "minted", "password": PASSWORD}}),
    ("POST", "/settings/password", {"data": {"current_password": PASSWORD,
                                             "new_password": "taken over!"}}),
    ("POST", "/settings/delete", {"data": {"password": PASSWORD}}),
    ("POST", "/api/auth/password", {"json": {"current_password": PASSWORD,
                                             "new_password": "taken over!"}}),
    ("DELETE", "/api/auth/account", {"json": {"password": PASSWORD}}),
]


@pytest.mark.parametrize("method,path,body", BEARER_REFUSED, ids=[p for _, p, _ in BEARER_REFUSED])
@pytest.mark.parametrize("with_cookie", [False, True], ids=["token", "token-and-cookie"])
def test_a_bearer_token_cannot_change_the_account(app, people, bearer, method, path, body,
                                                  with_cookie):
    """Not even alongside a fresh session cookie: a request with a token is the token's."""
    client = people.client("alice") if with_cookie else app.test_client()
    response = client.open(path, method=method, headers=bearer, **body)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "session_required"
    assert token_count(app, people.ids["alice"]) == 1  # only the one in the fixture
    with app.app_context():
        assert db.session.get(User, people.ids["alice"]) is not None
    assert app.test_client().post("/api/auth/tokens", json={
        "email": "alice@example.com", "password": PASSWORD}).status_code == 201


def test_a_bearer_token_still_reads_data(app, people, bearer):
    assert app.test_client().get("/api/me", headers=bearer).json["email"] == "alice@example.com"
    assert app.test_client().get("/api/transactions", headers=bearer).status_code == 200


@pytest.mark.parametrize("method,path", [("POST", "/api/auth/password"),
                                         ("POST", "/api/auth/sign-out-everywhere"),
                                         ("DELETE", "/api/auth/account")])
def test_account_changes_need_a_sign_in_on_the_api(app, people, method, path):
    response = app.test_client().open(path, method=method, json={"password": PASSWORD})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/settings/password", "/settings/sign-out-everywhere",
                                  "/settings/delete"])
def test_account_changes_need_a_sign_in_on_the_web(app, people, path):
    web = app.test_client()
    response = web.post(path, data={"password": PASSWORD, "csrf_token": csrf_token(web)})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
