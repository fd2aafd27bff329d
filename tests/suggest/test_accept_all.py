"""Accepting many suggestions at once (POST /api/suggestions/accept-all and the page's
"Accept all"), and "always do this": accepting one that also makes a rule."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Rule, Transaction
from tests.conftest import add_transactions, add_user, csrf_token, login, set_isolation
from tests.suggest.conftest import Ledger


def categories(app):
    with app.app_context(), unscoped("test assertion"):
        return dict(db.session.execute(select(Transaction.id, Transaction.category)).all())


def rules(app):
    with app.app_context(), unscoped("test assertion"):
        return db.session.execute(
            select(Rule.user_id, Rule.field, Rule.pattern, Rule.category).order_by(Rule.id)).all()


def suggested(client):
    return client.get("/api/suggestions").json["suggestions"]


def test_accept_all_items_saves_them_in_one_go(app, erin):
    items = [{"transaction_id": s["transaction_id"], "category": s["category"]}
             for s in suggested(erin.client)]
    response = erin.client.post("/api/suggestions/accept-all", json={"items": items})
    assert response.status_code == 200, response.json
    assert response.json == {"accepted": 4, "items": items}
    saved = categories(app)
    assert {tx: saved[tx] for tx in erin.uncategorised} == erin.expected
    assert suggested(erin.client) == []  # the cached model and list saw the write


def test_accept_all_above_a_confidence(app, erin):
    current = suggested(erin.client)
    threshold = sorted(s["confidence"] for s in current)[2]  # the two most confident
    response = erin.client.post("/api/suggestions/accept-all",
                                json={"min_confidence": threshold})
    assert response.json["accepted"] == 2
    taken = {s["transaction_id"] for s in current if s["confidence"] >= threshold}
    saved = categories(app)
    assert {tx for tx in erin.uncategorised if saved[tx]} == taken
    assert all(saved[tx] == erin.expected[tx] for tx in taken)


def test_another_users_row_is_a_404_and_nothing_is_saved(app, erin):
    set_isolation(app, ["staff"])
    add_user(app, "other@example.com", "staff")
    other = login(app.test_client(), "other@example.com")
    before = categories(app)
    mine = {"transaction_id": erin.uncategorised[0], "category": "Groceries"}
    for client, items in ((other, [mine]),  # another isolated user's row: not theirs
                          (erin.client, [mine, {"transaction_id": 2 ** 31 - 1,
                                                "category": "X"}])):  # one missing: none saved
        response = client.post("/api/suggestions/accept-all", json={"items": items})
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
        assert categories(app) == before


def test_web_accept_all_of_another_users_row_is_a_404(app, erin):
    set_isolation(app, ["staff"])
    add_user(app, "other@example.com", "staff")
    other = login(app.test_client(), "other@example.com")
    before = categories(app)
    response = other.post("/suggestions/accept-all", data={
        "transaction_id": [str(erin.uncategorised[0])], "category": ["Groceries"],
        "csrf_token": csrf_token(other, "/suggestions")})
    assert response.status_code == 404 and "TESCO" not in response.text
    assert categories(app) == before


@pytest.mark.parametrize("body, field", [
    ({}, None),
    ({"items": [{"transaction_id": 1, "category": "X"}], "min_confidence": 0.5}, None),
    ({"items": []}, "items"),
    ({"min_confidence": 1.5}, "min_confidence"),
    ({"items": [{"transaction_id": 1, "category": ""}]}, "items.0.category"),
    ({"items": [{"transaction_id": 0, "category": "X"}]}, "items.0.transaction_id"),
    ({"items": [{"transaction_id": 1, "category": "X"}] * 2}, None),
])
def test_bad_accept_all_bodies_are_422_and_write_nothing(app, erin, body, field):
    before = categories(app)
    response = erin.client.post("/api/suggestions/accept-all", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert categories(app) == before


def test_the_page_accepts_all_it_shows(app, erin):
    page = erin.client.get("/suggestions/table")  # what the page shows
    form = re.search(r'<form[^>]*action="/suggestions/accept-all".*?</form>', page.text, re.S)
    assert form and "Accept all 4" in form.group(0)
    shown = dict(zip(map(int, re.findall(r'name="transaction_id" value="(\d+)"', form.group(0))),
                     re.findall(r'name="category" value="([^"]+)"', form.group(0))))
    assert shown == erin.expected
    response = erin.client.post("/suggestions/accept-all", data={
        "transaction_id": list(map(str, shown)), "category": list(shown.values()),
        "csrf_token": csrf_token(erin.client, "/suggestions")})
    assert response.status_code == 302
    assert "4 categories saved." in erin.client.get("/suggestions").text
    saved = categories(app)
    assert {tx: saved[tx] for tx in erin.uncategorised} == erin.expected


def test_a_mangled_accept_all_form_says_so_and_saves_nothing(app, erin):
    before = categories(app)
    response = erin.client.post("/suggestions/accept-all", data={
        "transaction_id": ["1", "2"], "category": ["Only one"],
        "csrf_token": csrf_token(erin.client, "/suggestions")})
    assert response.status_code == 302
    assert "reload the page" in erin.client.get("/suggestions").text
    assert categories(app) == before


# --- always do this -------------------------------------------------------------------------

def test_always_makes_a_merchant_rule(app, erin):
    row = erin.uncategorised[0]  # Tesco
    response = erin.client.post(f"/api/suggestions/{row}/accept", json={"always": True})
    assert response.status_code == 200
    assert response.json["category"] == "Groceries" and response.json["rule_id"]
    assert rules(app) == [(erin.user_id, "merchant", "tesco", "Groceries")]
    # Again, with another category: the one rule for that merchant now says that.
    again = erin.client.post(f"/api/suggestions/{row}/accept",
                             json={"category": "Food", "always": True})
    assert again.json["rule_id"] == response.json["rule_id"]
    assert rules(app) == [(erin.user_id, "merchant", "tesco", "Food")]


def test_always_without_a_merchant_makes_a_description_rule(app):
    ledger = Ledger(app, "nomerchant@example.com", "staff")
    # Bank text with a run of spaces: the rule must still match the row it was made from.
    [row, again] = add_transactions(app, ledger.user_id, [
        (date(2024, 11, 9), "-4.00", "KIOSK  AT STATION"), (date(2024, 11, 10), "-4.00",
                                                            "KIOSK  AT STATION")])
    response = ledger.client.post(f"/api/suggestions/{row}/accept",
                                  json={"category": "Snacks", "always": True})
    assert response.status_code == 200
    assert rules(app) == [(ledger.user_id, "description", "kiosk  at station", "Snacks")]
    rule_id = response.json["rule_id"]
    assert ledger.client.post(f"/api/rules/{rule_id}/apply").json["changed"] == 1
    assert categories(app)[again] == "Snacks"


def test_accept_without_always_makes_no_rule(app, erin):
    erin.client.post(f"/api/suggestions/{erin.uncategorised[0]}/accept")
    assert rules(app) == []


def test_the_pages_always_button_makes_a_rule_and_says_so(app, erin):
    row = erin.uncategorised[2]  # Pret A Manger
    response = erin.client.post(f"/suggestions/{row}/accept", data={
        "category": "Dining", "always": "1",
        "csrf_token": csrf_token(erin.client, "/suggestions")})
    assert response.status_code == 302
    assert rules(app) == [(erin.user_id, "merchant", "pret a manger", "Dining")]
    assert "a rule made: merchant contains “pret a manger” → Dining" in \
        erin.client.get("/suggestions").text
