"""Settings: API tokens (create once-shown, list, revoke) and account deletion."""
import re

from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import ApiToken, Transaction, User
from tests.conftest import PASSWORD, csrf_token, set_isolation


def new_token(client, name="assistant"):
    page = client.post("/settings/tokens", data={"name": name,
                                                 "csrf_token": csrf_token(client, "/settings")})
    assert page.status_code == 201
    return re.search(r"<code>(fa_[^<]+)</code>", page.text).group(1)


def token_ids(app, user_id):
    with app.app_context():
        return db.session.execute(
            select(ApiToken.id).where(ApiToken.user_id == user_id)).scalars().all()


def test_settings_need_sign_in(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_token_is_shown_once_works_and_can_be_revoked(app, people):
    alice = people.client("alice")
    token = new_token(alice)
    listing = alice.get("/settings")
    assert "assistant" in listing.text and token not in listing.text  # shown once only
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/me", headers=bearer).json["email"] == "alice@example.com"
    [token_id] = token_ids(app, people.ids["alice"])
    revoked = alice.post(f"/settings/tokens/{token_id}/revoke",
                         data={"csrf_token": csrf_token(alice, "/settings")})
    assert revoked.status_code == 302
    assert app.test_client().get("/api/me", headers=bearer).status_code == 401
    assert token_ids(app, people.ids["alice"]) == []


def test_nobody_revokes_another_users_token_even_on_the_shared_ledger(app, people):
    set_isolation(app, [])  # everyone on the shared ledger
    token = new_token(people.client("bob"), name="bobs-laptop")
    [bob_token] = token_ids(app, people.ids["bob"])
    carol = people.client("carol")
    response = carol.post(f"/settings/tokens/{bob_token}/revoke",
                          data={"csrf_token": csrf_token(carol, "/settings")})
    assert response.status_code == 404
    assert token_ids(app, people.ids["bob"]) == [bob_token]
    page = carol.get("/settings").text
    assert token not in page and "bobs-laptop" not in page


def test_delete_account_needs_the_password_then_removes_everything(app, people):
    alice = people.client("alice")
    wrong = alice.post("/settings/delete", data={"password": "not it at all",
                                                 "csrf_token": csrf_token(alice, "/settings")})
    assert wrong.status_code == 403 and "not right" in wrong.text
    with app.app_context():
        assert db.session.get(User, people.ids["alice"]) is not None
    done = alice.post("/settings/delete", data={"password": PASSWORD,
                                                "csrf_token": csrf_token(alice, "/settings")})
    assert done.status_code == 302 and done.headers["Location"] == "/signup"
    assert alice.get("/api/me").status_code == 401
    with app.app_context():
        assert db.session.get(User, people.ids["alice"]) is None
        left = db.session.execute(select(func.count()).select_from(Transaction).where(
            Transaction.user_id == people.ids["alice"])).scalar()
        others = db.session.execute(select(func.count()).select_from(Transaction)).scalar()
    assert left == 0 and others == 6


def test_settings_work_under_the_emergency_lock(app, people):
    with app.app_context():
        app.extensions["flags"].set_lock(True)
    alice = people.client("alice")
    assert alice.get("/").status_code == 503
    assert alice.get("/settings").status_code == 200


def test_sending_the_token_form_again_makes_no_second_token(app, people):
    """A reload of the page a token was shown on sends the same form again: refused (409,
    with a message), one token, its secret not shown again."""
    alice = people.client("alice")
    page = alice.get("/settings").text
    form = {"name": "assistant", "csrf_token": csrf_token(alice, "/settings"),
            "once": re.search(r'name="once" value="([^"]+)"', page).group(1)}
    first = alice.post("/settings/tokens", data=form)
    assert first.status_code == 201 and "<code>fa_" in first.text
    again = alice.post("/settings/tokens", data=form)
    assert again.status_code == 409
    assert "already sent" in again.text and "<code>fa_" not in again.text
    assert len(token_ids(app, people.ids["alice"])) == 1
    # The page the token was shown on carries a new marker: the next token is made.
    form["once"] = re.search(r'name="once" value="([^"]+)"', first.text).group(1)
    assert alice.post("/settings/tokens", data=form).status_code == 201
    assert len(token_ids(app, people.ids["alice"])) == 2


def test_with_the_cache_unreachable_the_token_form_still_makes_tokens(app, people,
                                                                     monkeypatch):
    from finance_app import cache_backend
    from finance_app.extensions import cache

    alice = people.client("alice")
    page = alice.get("/settings").text
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: False)  # what a down cache says
    monkeypatch.setattr(cache_backend, "reachable", lambda: False)
    form = {"name": "assistant", "csrf_token": csrf_token(alice, "/settings"),
            "once": re.search(r'name="once" value="([^"]+)"', page).group(1)}
    assert alice.post("/settings/tokens", data=form).status_code == 201
    assert alice.post("/settings/tokens", data=form).status_code == 201  # cannot tell: made
