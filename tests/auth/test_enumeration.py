"""No user enumeration: neither the answers nor the work done tell whether an email has an
account — on sign-in, the token exchange or sign-up.

Sign-up answers the same for a new and a taken email and signs nobody in: the new account's
owner then signs in like anyone else, and whoever tried a taken email finds only a failed
sign-in, which the sign-in limits count. Timing is checked by what each path computes (one
password hash each), not by the clock."""
import re

import pytest
from sqlalchemy import func, select

import finance_app.auth.service as service
from finance_app.extensions import db
from finance_app.models import User
from tests.conftest import PASSWORD, add_user, csrf_token, login

OTHER_PASSWORD = "somebody else's password"


def users(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(User)).scalar()


def stored_hash(app, email):
    with app.app_context():
        return db.session.execute(select(User.password_hash)
                                  .where(User.email == email)).scalar_one()


def flashes(page):
    return re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, re.S)


def web_sign_up(client, email, password=PASSWORD):
    return client.post("/signup", data={"email": email, "password": password,
                                        "csrf_token": csrf_token(client, "/signup")})


def test_web_sign_up_answers_a_taken_email_like_a_new_one(app):
    add_user(app, "taken@example.com")
    before = stored_hash(app, "taken@example.com")
    new, taken = app.test_client(), app.test_client()
    for client, email in ((new, "new@example.com"), (taken, "TAKEN@example.com")):
        response = web_sign_up(client, email, OTHER_PASSWORD)
        assert response.status_code == 302 and response.headers["Location"] == "/login"
        assert client.get("/api/me").status_code == 401  # nobody is signed in
    assert flashes(new.get("/login").text) == flashes(taken.get("/login").text) != []
    assert users(app) == 2 and stored_hash(app, "taken@example.com") == before
    # The new account is real: its owner signs in with it.
    assert login(app.test_client(), "new@example.com", OTHER_PASSWORD)


def test_web_sign_up_says_what_to_do_next(app, client):
    response = web_sign_up(client, "new@example.com")
    page = client.get(response.headers["Location"]).text
    assert "Your account is ready: sign in" in page


def test_json_sign_up_answers_a_taken_email_like_a_new_one(app, client):
    add_user(app, "taken@example.com")
    before = stored_hash(app, "taken@example.com")
    new = client.post("/api/auth/signup", json={"email": "new@example.com",
                                                "password": OTHER_PASSWORD})
    taken = client.post("/api/auth/signup", json={"email": "Taken@Example.com",
                                                  "password": OTHER_PASSWORD})
    assert new.status_code == taken.status_code == 202
    assert set(new.json) == {"message"} and new.json == taken.json
    assert users(app) == 2 and stored_hash(app, "taken@example.com") == before
    token = client.post("/api/auth/tokens", json={"email": "new@example.com",
                                                  "password": OTHER_PASSWORD})
    assert token.status_code == 201


@pytest.fixture
def work(monkeypatch):
    """Counts the password hashes computed: derived (hash_password) and checked."""
    done = {"hash": 0, "check": 0}
    hash_password, check_password_hash = service.hash_password, service.check_password_hash

    def counted_hash(password):
        done["hash"] += 1
        return hash_password(password)

    def counted_check(pwhash, password):
        done["check"] += 1
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(service, "hash_password", counted_hash)
    monkeypatch.setattr(service, "check_password_hash", counted_check)

    def measure(action):
        done.update(hash=0, check=0)
        action()
        return dict(done)

    return measure


def test_sign_in_costs_one_password_check_whether_or_not_the_email_exists(app, work):
    add_user(app, "a@example.com")
    client = app.test_client()

    def sign_in(email, password):
        return lambda: client.post("/login", data={"email": email, "password": password,
                                                   "csrf_token": csrf_token(client)})

    def token(email, password):
        return lambda: app.test_client().post("/api/auth/tokens",
                                              json={"email": email, "password": password})

    one_check = {"hash": 0, "check": 1}
    for attempt in (sign_in, token):
        assert work(attempt("nobody@example.com", "a guess!")) == one_check
        assert work(attempt("a@example.com", "a guess!")) == one_check
        assert work(attempt("a@example.com", PASSWORD)) == one_check


def test_sign_up_costs_one_password_hash_whether_or_not_the_email_exists(app, work):
    add_user(app, "taken@example.com")

    def sign_up(email):
        return lambda: app.test_client().post("/api/auth/signup",
                                              json={"email": email, "password": PASSWORD})

    assert work(sign_up("new@example.com")) == work(sign_up("taken@example.com")) \
        == {"hash": 1, "check": 0}


@pytest.mark.real_password_hashing
def test_the_stand_in_hash_costs_what_a_real_one_does():
    """Unknown emails are checked against a stand-in hash made with the same method and cost
    parameters as every stored password."""
    method = service.hash_password("any password").split("$")[0]
    assert method.startswith("scrypt:")
    assert service.STAND_IN_PASSWORD_HASH.split("$")[0] == method
    assert not service.check_password_hash(service.STAND_IN_PASSWORD_HASH, "")
