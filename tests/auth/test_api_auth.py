"""JSON sign-up, tokens, bearer auth and /api/me."""
import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import ApiToken, User
from tests.conftest import PASSWORD, add_user


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_api_signup_creates_the_account(app, client):
    response = client.post("/api/auth/signup", json={"email": "Dev@Example.com", "password": PASSWORD})
    # The same answer for a taken email (tests/auth/test_enumeration.py): no account details.
    assert response.status_code == 202 and set(response.json) == {"message"}
    token = client.post("/api/auth/tokens", json={"email": "dev@example.com", "password": PASSWORD})
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token.json['token']}"}).json
    assert me["email"] == "dev@example.com" and me["cohort"] == "general"
    assert count(app, User) == 1


@pytest.mark.parametrize("body,field", [
    ({"email": "nope", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": "short"}, "password"),
    ({"email": "a@example.com"}, "password"),
    ({"email": 42, "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
])
def test_api_signup_validation_names_the_field(app, client, body, field):
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    assert count(app, User) == 0


def test_token_is_shown_once_and_stored_hashed(app, client):
    add_user(app, "dev@example.com")
    response = client.post("/api/auth/tokens", json={"email": "dev@example.com", "password": PASSWORD})
    assert response.status_code == 201
    token = response.json["token"]
    with app.app_context():
        stored = db.session.execute(select(ApiToken.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == "dev@example.com"
    assert set(me.json) == {"id", "email", "cohort", "is_admin", "isolation"}


def test_token_with_wrong_password_is_401(app, client):
    add_user(app, "dev@example.com")
    response = client.post("/api/auth/tokens", json={"email": "dev@example.com", "password": "wrong-one!"})
    assert response.status_code == 401
    assert response.json["error"]["message"] == "Email or password is not right."
    assert count(app, ApiToken) == 0


@pytest.mark.parametrize("header", ["Bearer fa_not-a-real-token", "Bearer ", "Basic abc", "token"])
def test_bad_authorization_header_is_401(client, header):
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_api_without_auth_is_401_json_never_a_redirect(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("header,json", [("Basic abc", False),
                                         ("Bearer fa_not-a-real-token", True)])
def test_bad_authorization_header_on_a_page_is_a_clear_401(client, header, json):
    """A page answers with its error page (a proxy's Basic credentials are not ours); a bearer
    token is a program's, which gets the JSON error."""
    response = client.get("/transactions", headers={"Authorization": header})
    assert response.status_code == 401
    if json:
        assert response.json["error"]["code"] == "unauthorized"
    else:
        assert "text/html" in response.headers["Content-Type"]
