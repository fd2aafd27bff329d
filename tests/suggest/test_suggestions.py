"""GET /api/suggestions and POST /api/suggestions/<id>/accept: what the model learns, from
whose rows, when it retrains, and every kind of bad input."""
from datetime import date

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import Transaction
from finance_app.suggest import service
from tests.conftest import add_transactions, add_user, login, set_isolation
from tests.suggest.conftest import CATEGORIES


def category_of(app, tx_id):
    with app.app_context():
        return db.session.execute(
            select(Transaction.category).where(Transaction.id == tx_id)).scalar_one()


def categories_in_db(app):
    with app.app_context():
        return sorted(db.session.execute(
            select(Transaction.id, Transaction.category).order_by(Transaction.id)).all())


def listing(client, query=""):
    response = client.get(f"/api/suggestions{query}")
    assert response.status_code == 200, response.json
    return response.json


def by_row(result):
    return {s["transaction_id"]: s for s in result["suggestions"]}


def test_suggests_the_category_a_person_would_from_the_users_own_rows(app, erin):
    result = listing(erin.client)
    assert result["model"] == {"ready": True, "trained_on": 40, "categories": 4, "reason": None}
    suggested = by_row(result)
    assert set(suggested) == set(erin.uncategorised)  # every uncategorised row, no other
    assert {tx: s["category"] for tx, s in suggested.items()} == erin.expected
    confidences = [s["confidence"] for s in result["suggestions"]]
    assert confidences == sorted(confidences, reverse=True)
    assert all(1 / len(CATEGORIES) < c <= 1 for c in confidences)
    pret = suggested[erin.uncategorised[2]]
    assert (pret["description"], pret["merchant"], pret["amount"], pret["currency"],
            pret["date"]) == ("PRET A MANGER 0042", "Pret A Manger", "-8.95", "USD", "2024-11-04")


def test_limit_keeps_the_most_confident(erin):
    everything = listing(erin.client)["suggestions"]
    top_two = listing(erin.client, "?limit=2")["suggestions"]
    assert top_two == everything[:2]


def test_transaction_id_filter(app, erin):
    row = erin.uncategorised[0]
    only = listing(erin.client, f"?transaction_id={row}")["suggestions"]
    assert [(s["transaction_id"], s["category"]) for s in only] == [(row, "Groceries")]
    # A categorised row of one's own has no suggestion; not an error.
    assert listing(erin.client, f"?transaction_id={erin.categorised[0]}")["suggestions"] == []
    other = add_user(app, "other@example.com", "staff")
    [theirs] = add_transactions(app, other, [(date(2024, 11, 1), "-3.00", "TESCO 1", "Tesco")])
    response = erin.client.get(f"/api/suggestions?transaction_id={theirs}")
    assert response.status_code == 404 and "TESCO" not in response.text


GAMBLING_ROWS = [(date(2024, 7, d), f"-{d}.00", f"BET365 ONLINE BET {7000 + d}", "Bet365",
                  "Gambling") for d in range(1, 13)]


@pytest.fixture
def frank(app):
    """A general-cohort user who is the only one ever to use the category Gambling."""
    uid = add_user(app, "frank@example.com", "general")
    add_transactions(app, uid, GAMBLING_ROWS)
    private = add_transactions(app, uid, [
        (date(2024, 11, 8), "-50.00", "frank private stake BET365", "Bet365"),
        (date(2024, 11, 9), "-5.00", "frank private TESCO STORES", "Tesco"),
    ])
    return {"id": uid, "private": private}


@pytest.fixture
def erin_bets(app, erin):
    [row] = add_transactions(app, erin.user_id, [
        (date(2024, 11, 10), "-20.00", "BET365 ONLINE BET 9001", "Bet365")])
    return row


def test_isolated_model_never_learned_another_users_category(app, erin, frank, erin_bets):
    # First on the shared ledger: one model learned from everyone's rows, Frank's included.
    set_isolation(app, [])
    shared = listing(erin.client)
    assert shared["model"]["trained_on"] == 40 + len(GAMBLING_ROWS)
    assert by_row(shared)[erin_bets]["category"] == "Gambling"
    assert set(frank["private"]) <= set(by_row(shared))

    # Then isolated: the cached shared model must not be reused; Erin's own has never seen
    # Gambling, and Frank's rows are not hers to see.
    set_isolation(app, ["staff"])
    isolated = listing(erin.client)
    assert isolated["model"] == {"ready": True, "trained_on": 40, "categories": 4,
                                 "reason": None}
    suggested = by_row(isolated)
    assert set(suggested) == set(erin.uncategorised) | {erin_bets}
    assert all(s["category"] in CATEGORIES for s in isolated["suggestions"])
    assert "frank" not in str(isolated).lower() and "Gambling" not in str(isolated)

    # Frank is on the shared ledger still, which Erin's rows have left: the shared model
    # cached before is not reused, the new one learned nothing of hers, and her rows are
    # not his to see.
    frank_client = login(app.test_client(), "frank@example.com")
    his = listing(frank_client)
    assert his["model"]["trained_on"] == len(GAMBLING_ROWS)
    assert erin_bets not in by_row(his) and not set(erin.uncategorised) & set(by_row(his))


def test_each_isolated_user_gets_a_model_of_their_own(app, erin, frank):
    set_isolation(app, ["staff", "general"])
    frank_client = login(app.test_client(), "frank@example.com")
    # Frank alone used one category: too little to learn from, whatever Erin has.
    his = listing(frank_client)
    assert his["suggestions"] == [] and his["model"]["ready"] is False
    assert his["model"]["trained_on"] == len(GAMBLING_ROWS) and his["model"]["categories"] == 1
    assert listing(erin.client)["model"]["trained_on"] == 40


class CountingTrain:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = service.train

        def counted(examples):
            self.calls += 1
            return real(examples)

        monkeypatch.setattr(service, "train", counted)


def test_model_is_cached_and_retrained_after_a_write(app, erin, monkeypatch):
    netflix = add_transactions(app, erin.user_id, [
        (date(2024, 11, 6), "-10.99", "NETFLIX.COM 866-579-7172", "Netflix"),
        (date(2024, 11, 7), "-10.99", "NETFLIX.COM 866-579-7173", "Netflix"),
    ])
    training = CountingTrain(monkeypatch)
    before = listing(erin.client)
    assert by_row(before)[netflix[1]]["category"] in CATEGORIES
    listing(erin.client)
    assert training.calls == 1  # the second request used the cached (pickled) model

    response = erin.client.patch(f"/api/transactions/{netflix[0]}",
                                 json={"category": "Subscriptions"})
    assert response.status_code == 200
    after = listing(erin.client)
    assert training.calls == 2
    assert after["model"]["trained_on"] == 41 and after["model"]["categories"] == 5
    assert by_row(after)[netflix[1]]["category"] == "Subscriptions"
    assert netflix[0] not in by_row(after)


def test_training_set_is_bounded_to_the_latest_rows(app, erin, monkeypatch):
    monkeypatch.setattr(service, "MAX_TRAINING_ROWS", 12)
    assert listing(erin.client)["model"]["trained_on"] == 12


@pytest.mark.parametrize("rows,reason_has", [
    ([], "0 in 0"),
    ([(date(2024, 1, d), "-1.00", f"TESCO {d}", "Tesco", "Groceries") for d in range(1, 4)]
     + [(date(2024, 1, 9), "-9.00", "UBER 9", "Uber", "Transport")], "4 in 2"),
    ([(date(2024, 1, d), "-1.00", f"TESCO {d}", "Tesco", "Groceries") for d in range(1, 16)],
     "15 in 1"),
])
def test_too_little_to_learn_from(app, rows, reason_has):
    uid = add_user(app, "new@example.com", "staff")
    add_transactions(app, uid, rows + [(date(2024, 2, 1), "-2.00", "TESCO STORES", "Tesco")])
    client = login(app.test_client(), "new@example.com")
    result = listing(client)
    assert result["suggestions"] == []
    assert result["model"]["ready"] is False
    assert "at least 10" in result["model"]["reason"] and reason_has in result["model"]["reason"]
    table = client.get("/suggestions/table")
    assert table.status_code == 200 and "Too little to learn from" in table.text


@pytest.mark.parametrize("query,field", [
    ("?limit=0", "limit"), ("?limit=501", "limit"), ("?limit=ten", "limit"),
    ("?transaction_id=abc", "transaction_id"), ("?transaction_id=0", "transaction_id"),
])
def test_bad_query_is_422_naming_the_field(erin, query, field):
    response = erin.client.get(f"/api/suggestions{query}")
    assert response.status_code == 422
    assert response.json["error"]["field"] == field


# --- accept ---------------------------------------------------------------------------------

def test_accept_sets_the_suggested_category_and_the_row_leaves_the_list(app, erin):
    row = erin.uncategorised[2]
    response = erin.client.post(f"/api/suggestions/{row}/accept")
    assert response.status_code == 200, response.json
    assert response.json["transaction_id"] == row and response.json["category"] == "Dining"
    assert response.json["source"] == "suggestion" and 0 < response.json["confidence"] <= 1
    assert category_of(app, row) == "Dining"
    assert row not in by_row(listing(erin.client))


def test_accept_with_a_given_category(app, erin):
    row = erin.uncategorised[0]
    response = erin.client.post(f"/api/suggestions/{row}/accept",
                                json={"category": "Household"})
    assert response.status_code == 200
    assert response.json == {"transaction_id": row, "category": "Household", "source": "given",
                             "confidence": None, "rule_id": None}
    assert category_of(app, row) == "Household"
    # A given category also works on a row that already has one (a correction).
    done = erin.categorised[0]
    assert erin.client.post(f"/api/suggestions/{done}/accept",
                            json={"category": "Fixed"}).status_code == 200
    assert category_of(app, done) == "Fixed"


def test_accept_without_a_suggestion_is_409(app, erin):
    done = erin.categorised[0]
    before = category_of(app, done)
    response = erin.client.post(f"/api/suggestions/{done}/accept")
    assert response.status_code == 409 and response.json["error"]["code"] == "already_categorised"
    assert category_of(app, done) == before

    uid = add_user(app, "new@example.com", "staff")
    [row] = add_transactions(app, uid, [(date(2024, 2, 1), "-2.00", "TESCO STORES", "Tesco")])
    client = login(app.test_client(), "new@example.com")
    response = client.post(f"/api/suggestions/{row}/accept")
    assert response.status_code == 409 and response.json["error"]["code"] == "no_suggestion"
    assert "at least 10" in response.json["error"]["message"]
    assert category_of(app, row) is None


def test_accept_another_users_row_is_404_when_isolated(app, erin, frank):
    set_isolation(app, ["staff"])
    target = frank["private"][0]
    for body in (None, {"category": "Stolen"}):
        response = erin.client.post(f"/api/suggestions/{target}/accept", json=body)
        assert response.status_code == 404 and "frank" not in response.text
    assert category_of(app, target) is None


@pytest.mark.parametrize("kwargs,status,field", [
    (dict(data="[1]", content_type="application/json"), 400, None),
    (dict(data="category=x", content_type="application/x-www-form-urlencoded"), 400, None),
    (dict(json={"category": 5}), 422, "category"),
    (dict(json={"category": ""}), 422, "category"),
    (dict(json={"category": "   "}), 422, "category"),
    (dict(json={"category": "x" * 101}), 422, "category"),
    (dict(json={"category": "Dining", "confidence": 1}), 422, "confidence"),
])
def test_accept_bad_bodies_write_nothing(app, erin, kwargs, status, field):
    before = categories_in_db(app)
    response = erin.client.post(f"/api/suggestions/{erin.uncategorised[0]}/accept", **kwargs)
    assert response.status_code == status, response.json
    assert response.json["error"].get("field") == field
    assert categories_in_db(app) == before


def test_accept_unknown_row_is_404(app, erin):
    with app.app_context():
        missing = db.session.execute(select(func.max(Transaction.id))).scalar() + 1
    assert erin.client.post(f"/api/suggestions/{missing}/accept").status_code == 404


def test_token_auth(app, erin):
    token = app.test_client().post("/api/auth/tokens", json={
        "email": "erin@example.com", "password": "correct horse battery"}).json["token"]
    response = app.test_client().get("/api/suggestions",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert set(by_row(response.json)) == set(erin.uncategorised)
