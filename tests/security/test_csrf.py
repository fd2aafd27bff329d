"""CSRF: a cookie-signed-in browser's state changes need the page's CSRF token, JSON and
multipart included; bearer-token requests are the token's and need none.

A forged page (same-site, so the SameSite=Lax cookie goes along) can send a multipart form or
an empty-body POST without any CORS preflight: before, it imported a row into the victim's
ledger through POST /api/ingest and accepted a suggestion."""
import io
import re

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import PASSWORD, set_isolation
from tests.security.url_map import UNSAFE_API_ROUTES, route_id, sample_path
from tests.suggest.conftest import Ledger

FORGED_CSV = "Date,Description,Amount\n2024-11-30,forged row,-999.00\n"


def as_forged_page(app, victim):
    """A client that sends the victim's session cookie and nothing else, as a browser does for
    a form or fetch() on another page: it cannot read the app's pages, so it has no token."""
    forged = app.test_client()
    forged.set_cookie("session", victim.get_cookie("session").value)
    return forged


def token_of(client):
    """The CSRF token of the client's session, where the page's scripts find it."""
    page = client.get("/settings").text
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


def bearer_for(client, email):
    token = client.post("/api/auth/tokens", json={"email": email, "password": PASSWORD},
                        headers={"X-CSRFToken": token_of(client)})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json['token']}"}


def forged_rows(app):
    with app.app_context(), unscoped("test: count forged rows"):
        return db.session.execute(select(func.count()).select_from(Transaction)
                                  .where(Transaction.description == "forged row")).scalar()


def import_csv(client, **kwargs):
    return client.post("/api/ingest", data={"file": (io.BytesIO(FORGED_CSV.encode()), "x.csv")},
                       content_type="multipart/form-data", **kwargs)


def assert_csrf_refusal(response):
    assert response.status_code == 403, response.text
    assert response.json["error"]["code"] == "csrf_failed"
    assert "X-CSRFToken" in response.json["error"]["message"]


def test_a_forged_multipart_import_is_refused_and_writes_nothing(app, people):
    alice = people.client("alice")
    assert_csrf_refusal(import_csv(as_forged_page(app, alice)))
    assert forged_rows(app) == 0


def test_the_import_with_the_pages_token_or_a_bearer_token_works(app, people):
    alice = people.client("alice")
    with_token = import_csv(as_forged_page(app, alice), headers={"X-CSRFToken": token_of(alice)})
    assert with_token.status_code == 201, with_token.text
    assert forged_rows(app) == 1
    # A bearer token is a program's credential: no CSRF token, whatever cookie comes along.
    bearer = bearer_for(alice, "alice@example.com")
    again = import_csv(as_forged_page(app, alice), headers=bearer, query_string={"dry_run": 1})
    assert again.status_code == 200, again.text


@pytest.fixture
def erin(app):
    set_isolation(app, ["staff"])
    return Ledger(app, "erin@example.com", "staff")


def category_of(app, tx_id):
    with app.app_context(), unscoped("test: read a category"):
        return db.session.get(Transaction, tx_id).category


def test_a_forged_empty_body_accept_is_refused_and_changes_nothing(app, erin):
    row = erin.uncategorised[0]
    assert_csrf_refusal(as_forged_page(app, erin.client).post(f"/api/suggestions/{row}/accept"))
    assert category_of(app, row) is None

    accepted = as_forged_page(app, erin.client).post(
        f"/api/suggestions/{row}/accept", headers={"X-CSRFToken": token_of(erin.client)})
    assert accepted.status_code == 200, accepted.text
    assert category_of(app, row) == erin.expected[row]

    other = erin.uncategorised[1]
    bearer = bearer_for(erin.client, "erin@example.com")
    assert app.test_client().post(f"/api/suggestions/{other}/accept",
                                  headers=bearer).status_code == 200
    assert category_of(app, other) == erin.expected[other]


def test_a_token_of_another_session_is_refused(app, people):
    alice, carol = people.client("alice"), people.client("carol")
    response = import_csv(as_forged_page(app, alice), headers={"X-CSRFToken": token_of(carol)})
    assert_csrf_refusal(response)
    assert forged_rows(app) == 0


@pytest.mark.parametrize("route", UNSAFE_API_ROUTES, ids=route_id)
def test_every_unsafe_api_route_needs_the_token_from_a_cookie_session(app, people, route):
    """Signed in by cookie (as an admin, so that admin routes answer rather than hide): no
    token is a 403 before the view runs; with the page's token the view answers."""
    method, rule = route
    admin = people.client("admin")
    path = sample_path(rule)
    assert_csrf_refusal(as_forged_page(app, admin).open(path, method=method))
    answered = as_forged_page(app, admin).open(path, method=method,
                                               headers={"X-CSRFToken": token_of(admin)})
    assert answered.status_code < 500, answered.text
    assert not (answered.status_code == 403
                and answered.json["error"]["code"] == "csrf_failed"), answered.text
