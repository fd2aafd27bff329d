"""Web sign-up, sign-in, sign-out: CSRF, redirects, cookie flags, clear errors."""
import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import User
from tests.conftest import PASSWORD, add_user, csrf_token, login


# These tests look at the stored hash: the app's own scrypt, not the quick test hash.
pytestmark = pytest.mark.real_password_hashing

def user_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(User)).scalar()


def test_signup_creates_the_account_then_its_owner_signs_in(app, client):
    response = client.post("/signup", data={"email": "  New.Person@Example.COM ",
                                            "password": PASSWORD,
                                            "csrf_token": csrf_token(client, "/signup")})
    # Signed in by nobody: a taken email gets the same answer (tests/auth/test_enumeration.py).
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    login(client, "new.person@example.com")
    me = client.get("/api/me").json
    assert me["email"] == "new.person@example.com"
    assert me["cohort"] == "general" and me["is_admin"] is False
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize("email,password,message", [
    ("not-an-email", PASSWORD, "not valid"),
    ("short@example.com", "short", "8"),
    ("", PASSWORD, "required"),
])
def test_signup_bad_input_writes_nothing(app, client, email, password, message):
    response = client.post("/signup", data={"email": email, "password": password,
                                            "csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 400
    assert message in response.text
    assert user_count(app) == 0


def test_form_post_without_csrf_token_is_rejected(app, client):
    add_user(app, "a@example.com")
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/me").status_code == 401
    response = client.post("/signup", data={"email": "b@example.com", "password": PASSWORD,
                                            "csrf_token": "forged"})
    assert response.status_code == 400
    assert user_count(app) == 1


def test_login_wrong_password_and_unknown_email_look_the_same(app, client):
    add_user(app, "a@example.com")
    token = csrf_token(client)
    wrong = client.post("/login", data={"email": "a@example.com", "password": "nope-nope",
                                        "csrf_token": token})
    unknown = client.post("/login", data={"email": "z@example.com", "password": "nope-nope",
                                          "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 400
    assert "Email or password is not right." in wrong.text
    assert "Email or password is not right." in unknown.text


def test_session_cookie_is_httponly_and_lax(app, client):
    add_user(app, "a@example.com")
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookie_is_secure():
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True


def test_logout_needs_post_with_token_then_signs_out(app, client):
    add_user(app, "a@example.com")
    login(client, "a@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/api/me").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/api/me").status_code == 401


def test_pages_need_sign_in_and_come_back_after(app, client):
    add_user(app, "a@example.com")
    response = client.get("/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = client.post("/login?next=/%3Fpage%3D2", data={
        "email": "a@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/?page=2"


@pytest.mark.parametrize("target", [
    "https://evil.example.com/", "//evil.example.com", "/\\evil.example.com",
    "http:/evil.example.com", "javascript:alert(1)", "evil.example.com",
])
def test_next_never_redirects_off_site(app, client, target):
    add_user(app, "a@example.com")
    response = client.post("/login", query_string={"next": target}, data={
        "email": "a@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_account_deletion_takes_effect_on_next_request(app, people):
    from finance_app.auth.service import delete_account

    alice = people.client("alice")
    token = alice.post("/api/auth/tokens", json={"email": "alice@example.com",
                                                  "password": PASSWORD}).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert alice.get("/api/me", headers=bearer).status_code == 200
    with app.app_context():
        delete_account(db.session.get(User, people.ids["alice"]))
    assert alice.get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers=bearer).status_code == 401
