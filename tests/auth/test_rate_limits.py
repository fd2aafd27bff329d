"""Rate limits (Flask-Limiter) on password checks and sign-ups.

Failed password checks — web sign-in, an API token for email and password, and the account
changes confirmed by password (a token on the settings page, a new password, deleting the
account; web and JSON) — count against the account, in one bucket for all of them, and
against the client address. Successes cost nothing, so signing in often is never slowed.
Every sign-up counts, against the address and the email. Over a limit: 429 with Retry-After,
before any password is checked. Defaults: 5 failures per account and 20 per address per 15
minutes, 10 sign-ups per address and 3 per email per hour (the testing config keeps them)."""
import uuid

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import ApiToken, User
from tests.conftest import PASSWORD, add_user, csrf_token, login

WRONG = "not-the-password"
ATTACKER, VICTIM = "192.0.2.66", "198.51.100.7"
WINDOW_SECONDS, HOUR = 15 * 60, 60 * 60


def at(address):
    return {"environ_base": {"REMOTE_ADDR": address}}


def token_for(client, email, password, address=ATTACKER):
    return client.post("/api/auth/tokens", json={"email": email, "password": password},
                       **at(address))


def web_sign_in(client, email, password, address=ATTACKER):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client)}, **at(address))


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar()


def assert_too_many_json(response, window=WINDOW_SECONDS):
    assert response.status_code == 429, response.text
    assert response.json["error"]["code"] == "too_many_requests"
    assert "Too many" in response.json["error"]["message"]
    assert 0 < int(response.headers["Retry-After"]) <= window


def assert_too_many_page(response, window=WINDOW_SECONDS):
    assert response.status_code == 429, response.text
    assert "text/html" in response.headers["Content-Type"]
    assert "Too many" in response.text and "minute" in response.text
    assert 0 < int(response.headers["Retry-After"]) <= window


def test_wrong_passwords_then_the_right_one_gets_no_token(app, client):
    """The issue's probe: 30 wrong passwords, then the right one, answered 201."""
    add_user(app, "a@example.com")
    for _ in range(5):
        assert token_for(client, "a@example.com", WRONG).status_code == 401
    assert_too_many_json(token_for(client, "a@example.com", PASSWORD))
    # Per account: another address does not get around it; another account is untouched.
    assert_too_many_json(token_for(client, "a@example.com", PASSWORD, address=VICTIM))
    add_user(app, "b@example.com")
    assert token_for(client, "b@example.com", PASSWORD).status_code == 201
    assert count(app, ApiToken) == 1


def test_wrong_web_sign_ins_lock_the_account_for_a_while(app, client):
    add_user(app, "a@example.com")
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"):
        assert web_sign_in(client, "a@example.com", WRONG, address).status_code == 400
    assert_too_many_page(web_sign_in(client, "a@example.com", PASSWORD, VICTIM))
    assert client.get("/api/me").status_code == 401


def test_one_address_guessing_many_accounts_is_stopped(app, client):
    add_user(app, "a@example.com")
    for n in range(20):  # one guess each for 20 accounts, none over its own limit
        assert token_for(client, f"user{n}@example.com", WRONG).status_code == 401
    assert_too_many_json(token_for(client, "a@example.com", PASSWORD))
    assert_too_many_page(web_sign_in(client, "a@example.com", PASSWORD))
    assert web_sign_in(client, "a@example.com", PASSWORD, VICTIM).status_code == 302


def test_successful_sign_ins_are_never_limited(app, client):
    add_user(app, "a@example.com")
    for _ in range(12):
        assert web_sign_in(client, "a@example.com", PASSWORD).status_code == 302
        assert token_for(app.test_client(), "a@example.com", PASSWORD).status_code == 201


def test_every_password_form_counts_against_one_account_bucket(app, people):
    alice = people.client("alice")
    assert web_sign_in(app.test_client(), "alice@example.com", WRONG).status_code == 400
    assert token_for(app.test_client(), "alice@example.com", WRONG).status_code == 401
    assert alice.post("/api/auth/password", json={"current_password": WRONG,
                                                  "new_password": "a new password"},
                      **at(ATTACKER)).status_code == 403
    assert alice.delete("/api/auth/account", json={"password": WRONG},
                        **at(ATTACKER)).status_code == 403
    assert alice.post("/settings/delete", data={"password": WRONG,
                                                "csrf_token": csrf_token(alice, "/settings")},
                      **at(ATTACKER)).status_code == 403
    assert_too_many_page(web_sign_in(app.test_client(), "alice@example.com", PASSWORD, VICTIM))


# Each account change confirmed by password: (send it with this password, it did nothing).
def change_password_web(client, password):
    return client.post("/settings/password", data={
        "current_password": password, "new_password": "a brand new password",
        "csrf_token": csrf_token(client, "/settings")}, **at(ATTACKER))


def change_password_json(client, password):
    return client.post("/api/auth/password", json={"current_password": password,
                                                   "new_password": "a brand new password"},
                       **at(ATTACKER))


def delete_account_web(client, password):
    return client.post("/settings/delete", data={
        "password": password, "csrf_token": csrf_token(client, "/settings")}, **at(ATTACKER))


def delete_account_json(client, password):
    return client.delete("/api/auth/account", json={"password": password}, **at(ATTACKER))


def token_on_settings(client, password):
    return client.post("/settings/tokens", data={
        "name": "x", "password": password, "csrf_token": csrf_token(client, "/settings")},
        **at(ATTACKER))


@pytest.mark.parametrize("change,page", [
    (change_password_web, True), (change_password_json, False),
    (delete_account_web, True), (delete_account_json, False), (token_on_settings, True),
], ids=lambda p: getattr(p, "__name__", ""))
def test_account_changes_are_limited_per_account(app, client, change, page):
    user_id = add_user(app, "a@example.com")
    signed_in = login(app.test_client(), "a@example.com")
    before = password_hash(app, user_id)
    for _ in range(5):
        assert change(signed_in, WRONG).status_code == 403
    refused = change(signed_in, PASSWORD)
    (assert_too_many_page if page else assert_too_many_json)(refused)
    # Nothing changed: the account, its password and its tokens are as they were.
    assert password_hash(app, user_id) == before and count(app, ApiToken) == 0
    # The account's one bucket: the token exchange is closed too, from any address.
    assert_too_many_json(token_for(client, "a@example.com", PASSWORD, address=VICTIM))


def password_hash(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def web_sign_up(client, email, address=ATTACKER):
    return client.post("/signup", data={"email": email, "password": PASSWORD,
                                        "csrf_token": csrf_token(client, "/signup")},
                       **at(address))


def json_sign_up(client, email, address=ATTACKER):
    return client.post("/api/auth/signup", json={"email": email, "password": PASSWORD},
                       **at(address))


def test_sign_ups_are_limited_per_address(app, client):
    for n in range(5):
        assert web_sign_up(client, f"web{n}@example.com").status_code == 302
        assert json_sign_up(client, f"json{n}@example.com").status_code == 202
    assert_too_many_page(web_sign_up(client, "one-more@example.com"), window=HOUR)
    assert_too_many_json(json_sign_up(client, "one-more@example.com"), window=HOUR)
    assert count(app, User) == 10
    assert json_sign_up(client, "elsewhere@example.com", address=VICTIM).status_code == 202


def test_sign_ups_are_limited_per_email(app, client):
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert json_sign_up(client, "same@example.com", address).status_code == 202
    assert_too_many_json(json_sign_up(client, "SAME@example.com", VICTIM), window=HOUR)
    assert_too_many_page(web_sign_up(client, "same@example.com", VICTIM), window=HOUR)


def test_limits_are_configurable(app_with):
    app = app_with(RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT="2 per hour")
    add_user(app, "a@example.com")
    client = app.test_client()
    for _ in range(2):
        assert token_for(client, "a@example.com", WRONG).status_code == 401
    refused = token_for(client, "a@example.com", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > WINDOW_SECONDS


@pytest.mark.redis
def test_with_redis_every_process_shares_the_counts(app_with):
    """Counts live in Redis (under the app's cache prefix): a worker started later, or
    another host, refuses the same account."""
    import redis

    from tests.support.services import REDIS_URL, port_open, require

    require("Redis", port_open("127.0.0.1", 6379))
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    first = app_with(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
    try:
        add_user(first, "a@example.com")
        for _ in range(5):
            assert token_for(first.test_client(), "a@example.com", WRONG).status_code == 401
        assert redis.Redis.from_url(REDIS_URL).keys(f"LIMITS:{prefix}*")
        second = app_with(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
        assert_too_many_json(token_for(second.test_client(), "a@example.com", PASSWORD))
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"LIMITS:{prefix}*"):
            client.delete(key)


def test_with_redis_down_limits_still_hold_in_memory(app_with):
    """Redis unreachable: sign-in keeps working (no 500) and the limits still count, in this
    process's memory, until Redis is back."""
    app = app_with(REDIS_URL="redis://127.0.0.1:1/0")
    add_user(app, "a@example.com")
    client = app.test_client()
    for _ in range(5):
        assert token_for(client, "a@example.com", WRONG).status_code == 401
    assert_too_many_json(token_for(client, "a@example.com", PASSWORD))
