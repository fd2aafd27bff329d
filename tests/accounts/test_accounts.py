"""Accounts: the API and page, balances, transactions in accounts, running balances, and
import into an account (chosen, remembered per file layout, currency from the file)."""
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Account, Transaction
from tests.conftest import add_transactions, add_user, csrf_token, login, set_isolation

SPARKASSE = ("Buchungstag;Verwendungszweck;Betrag (EUR)\n"
             "01.11.2024;Miete;-850,00\n02.11.2024;Gehalt;2.500,00\n")


@pytest.fixture
def ann(app):
    """Ann (general cohort, isolated: the flag enables her cohort), with two rows in her
    default EUR account."""
    set_isolation(app, ["general"])
    user_id = add_user(app, "ann@example.com")
    add_transactions(app, user_id, [(date(2024, 11, 1), "-10.00", "ann lunch"),
                                    (date(2024, 11, 2), "100.00", "ann refund")])
    client = login(app.test_client(), "ann@example.com")
    client.user_id = user_id
    return client


@pytest.fixture
def ben(app, ann):
    user_id = add_user(app, "ben@example.com")
    add_transactions(app, user_id, [(date(2024, 11, 1), "-7.00", "ben lunch")])
    client = login(app.test_client(), "ben@example.com")
    client.user_id = user_id
    return client


def accounts_of(app, user_id):
    with app.app_context(), unscoped("test"):
        return {a.name: (a.kind, a.currency, a.opening_balance) for a in db.session.execute(
            select(Account).where(Account.user_id == user_id)).scalars()}


def rows_of(app, user_id):
    with app.app_context(), unscoped("test"):
        return db.session.execute(select(func.count()).select_from(Transaction).where(
            Transaction.user_id == user_id)).scalar()


def create(client, **fields):
    return client.post("/api/accounts", json={"currency": "EUR", **fields})


def upload(client, text, filename="bank.csv", **form):
    return client.post("/api/ingest", data={"file": (io.BytesIO(text.encode()), filename),
                                            **form}, content_type="multipart/form-data")


# --- the API ---------------------------------------------------------------------------------

def test_list_shows_each_account_with_its_balance(ann):
    [main] = ann.get("/api/accounts").json
    assert (main["name"], main["kind"], main["currency"], main["balance"]) == (
        "Main account", "checking", "EUR", "90.00")
    card = create(ann, name="Credit card", kind="card", currency="eur",
                  opening_balance="-25.50")
    assert card.status_code == 201, card.json
    assert (card.json["currency"], card.json["opening_balance"], card.json["balance"]) == (
        "EUR", "-25.50", "-25.50")
    assert [a["name"] for a in ann.get("/api/accounts").json] == ["Credit card", "Main account"]
    # A row in it moves its balance, and only its.
    ann.post("/api/transactions", json={"date": "2024-11-05", "amount": "-4.50",
                                        "description": "card coffee",
                                        "account_id": card.json["id"]})
    balances = {a["name"]: a["balance"] for a in ann.get("/api/accounts").json}
    assert balances == {"Credit card": "-30.00", "Main account": "90.00"}
    assert ann.get(f"/api/accounts/{card.json['id']}").json["balance"] == "-30.00"


@pytest.mark.parametrize("body,field", [
    ({"name": "", "currency": "EUR"}, "name"),
    ({"name": "x", "currency": "EURO"}, "currency"),
    ({"name": "x", "currency": "E1R"}, "currency"),
    ({"name": "x"}, "currency"),
    ({"name": "x", "currency": "EUR", "kind": "crypto"}, "kind"),
    ({"name": "x", "currency": "EUR", "opening_balance": "lots"}, "opening_balance"),
    ({"name": "x", "currency": "EUR", "user_id": 1}, "user_id"),
])
def test_a_bad_account_is_422_naming_the_field_and_writes_nothing(app, ann, body, field):
    before = accounts_of(app, ann.user_id)
    response = ann.post("/api/accounts", json=body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert accounts_of(app, ann.user_id) == before


def test_a_second_account_of_the_same_name_is_409(app, ann):
    response = create(ann, name="Main account")
    assert response.status_code == 409
    assert "already have an account named" in response.json["error"]["message"]
    assert list(accounts_of(app, ann.user_id)) == ["Main account"]


def test_rename_and_change_kind(app, ann):
    [main] = ann.get("/api/accounts").json
    response = ann.patch(f"/api/accounts/{main['id']}", json={"name": "Giro", "kind": "savings"})
    assert response.status_code == 200 and response.json["balance"] == "90.00"
    assert accounts_of(app, ann.user_id) == {"Giro": ("savings", "EUR", Decimal("0.00"))}
    assert ann.patch(f"/api/accounts/{main['id']}", json={}).status_code == 422
    assert ann.patch(f"/api/accounts/{main['id']}", json={"currency": "GBP"}).status_code == 422


def test_an_account_with_rows_is_not_deleted_and_an_empty_one_is(app, ann):
    [main] = ann.get("/api/accounts").json
    response = ann.delete(f"/api/accounts/{main['id']}")
    assert response.status_code == 409
    assert response.json["error"]["message"] == (
        "“Main account” still holds 2 transactions; delete them or undo their import first.")
    assert rows_of(app, ann.user_id) == 2 and "Main account" in accounts_of(app, ann.user_id)
    empty = create(ann, name="Cash", kind="cash").json
    assert ann.delete(f"/api/accounts/{empty['id']}").status_code == 204
    assert list(accounts_of(app, ann.user_id)) == ["Main account"]


def test_another_users_account_is_404_for_every_method(app, ann, ben):
    [his] = ben.get("/api/accounts").json
    before = accounts_of(app, ben.user_id)
    for method, body in (("GET", None), ("PATCH", {"name": "Mine now"}), ("DELETE", None)):
        response = ann.open(f"/api/accounts/{his['id']}", method=method, json=body)
        assert response.status_code == 404, method
        assert response.json["error"]["code"] == "not_found"
    assert [a["name"] for a in ann.get("/api/accounts").json] == ["Main account"]
    assert accounts_of(app, ben.user_id) == before


def test_the_shared_ledger_shows_the_shared_owners_accounts(app, ann):
    """Nobody isolated: carol sees ann's account (the shared ledger), but rows only ever go
    into the caller's own accounts."""
    set_isolation(app, [])
    add_user(app, "carol@example.com")
    carol = login(app.test_client(), "carol@example.com")
    [anns] = carol.get("/api/accounts").json
    assert anns["balance"] == "90.00"
    response = carol.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-1.00", "description": "x", "account_id": anns["id"]})
    assert response.status_code == 404
    assert rows_of(app, ann.user_id) == 2


# --- transactions in accounts ------------------------------------------------------------------

def test_a_new_row_without_an_account_goes_into_the_default_one_for_its_currency(app, ann):
    [main] = ann.get("/api/accounts").json
    eur = ann.post("/api/transactions", json={"date": "2024-11-05", "amount": "-1.00",
                                              "description": "eur", "currency": "EUR"})
    assert eur.json["account_id"] == main["id"]
    gbp = ann.post("/api/transactions", json={"date": "2024-11-05", "amount": "-1.00",
                                              "description": "gbp", "currency": "gbp"})
    assert gbp.status_code == 201
    assert accounts_of(app, ann.user_id)["Main account (GBP)"][1] == "GBP"
    assert gbp.json["currency"] == "GBP" and gbp.json["account_id"] != main["id"]


def test_a_row_in_another_currency_than_its_account_is_refused(app, ann):
    [main] = ann.get("/api/accounts").json
    response = ann.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-1.00", "description": "x", "currency": "USD",
        "account_id": main["id"]})
    assert response.status_code == 422
    assert "holds EUR, not USD" in response.json["error"]["message"]
    assert rows_of(app, ann.user_id) == 2


def test_a_row_cannot_go_into_another_users_account(app, ann, ben):
    [his] = ben.get("/api/accounts").json
    response = ann.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-1.00", "description": "x", "account_id": his["id"]})
    assert response.status_code == 404
    [row] = ann.get("/api/transactions?limit=1").json["items"]
    moved = ann.patch(f"/api/transactions/{row['id']}", json={"account_id": his["id"]})
    assert moved.status_code == 404
    assert rows_of(app, ann.user_id) == 2 and rows_of(app, ben.user_id) == 1


def test_the_list_filters_by_account_with_running_balances(app, ann):
    card = create(ann, name="Card", kind="card", opening_balance="100.00").json
    for day, amount in (("2024-11-03", "-30.00"), ("2024-11-01", "-20.00"),
                        ("2024-11-03", "-5.00")):
        ann.post("/api/transactions", json={"date": day, "amount": amount,
                                            "description": f"card {amount}",
                                            "account_id": card["id"]})
    listed = ann.get(f"/api/transactions?account={card['id']}").json
    # Newest first; each balance is the account's after that row, in date order.
    assert [(t["amount"], t["running_balance"]) for t in listed["items"]] == [
        ("-5.00", "45.00"), ("-30.00", "50.00"), ("-20.00", "80.00")]
    assert listed["total"] == 3
    # Another filter narrows the rows, not the balances.
    [only] = ann.get(f"/api/transactions?account={card['id']}&max=-25").json["items"]
    assert only["running_balance"] == "50.00"
    # Unfiltered: no running balance (rows of several accounts).
    assert all("running_balance" not in t
               for t in ann.get("/api/transactions").json["items"])
    page = ann.get(f"/transactions?account={card['id']}")
    assert page.status_code == 200
    assert 'class="num running-balance">€45.00' in page.text
    assert "ann lunch" not in page.text


def test_filtering_by_an_invisible_account_is_404(ann, ben):
    [his] = ben.get("/api/accounts").json
    assert ann.get(f"/api/transactions?account={his['id']}").status_code == 404
    assert ann.get(f"/transactions?account={his['id']}").status_code == 404


# --- import into an account -------------------------------------------------------------------

def test_import_into_a_chosen_account_is_remembered_for_the_layout(app, ann):
    card = create(ann, name="Card", kind="card").json
    csv = "Date,Description,Amount\n2024-11-07,first,-1.00\n"
    response = upload(ann, csv, account_id=str(card["id"]))
    assert response.status_code == 201, response.json
    assert response.json["account_id"] == card["id"]
    # The same layout again, no account named: the card, remembered.
    again = upload(ann, "Date,Description,Amount\n2024-11-08,second,-2.00\n")
    assert again.json["account_id"] == card["id"]
    assert ann.get(f"/api/accounts/{card['id']}").json["balance"] == "-3.00"


def test_a_file_in_another_currency_than_the_account_imports_nothing(app, ann):
    """The Sparkasse export headed `Betrag (EUR)` is never saved as USD."""
    usd = create(ann, name="US checking", currency="USD").json
    response = upload(ann, SPARKASSE, account_id=str(usd["id"]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "currency_mismatch"
    assert response.json["error"]["message"] == (
        "The file's amounts are in EUR, but the account “US checking” holds USD. "
        "Nothing was imported: choose or create an account in EUR.")
    assert rows_of(app, ann.user_id) == 2
    # A currency column does the same, naming the line.
    column = "Date,Description,Amount,Currency\n2024-11-07,a,-1.00,USD\n2024-11-08,b,-1.00,GBP\n"
    refused = upload(ann, column, account_id=str(usd["id"]))
    assert refused.status_code == 422 and refused.json["error"]["message"].startswith(
        "Line 3 is in GBP")
    assert rows_of(app, ann.user_id) == 2


def test_without_a_chosen_account_each_row_goes_to_its_currency_default(app, ann):
    response = upload(ann, SPARKASSE, filename="sparkasse.csv")
    assert response.status_code == 201, response.json
    [main] = [a for a in ann.get("/api/accounts").json if a["name"] == "Main account"]
    assert response.json["account_id"] == main["id"] and main["balance"] == "1740.00"
    mixed = "Date,Description,Amount,Currency\n2024-11-07,a,-1.00,EUR\n2024-11-08,b,-3.00,GBP\n"
    assert upload(ann, mixed).status_code == 201
    balances = {a["name"]: (a["currency"], a["balance"]) for a in ann.get("/api/accounts").json}
    assert balances == {"Main account": ("EUR", "1739.00"),
                        "Main account (GBP)": ("GBP", "-3.00")}


def test_import_into_another_users_account_is_404_and_writes_nothing(app, ann, ben):
    [his] = ben.get("/api/accounts").json
    response = upload(ann, "Date,Description,Amount\n2024-11-07,x,-1.00\n",
                      account_id=str(his["id"]))
    assert response.status_code == 404
    assert rows_of(app, ann.user_id) == 2 and rows_of(app, ben.user_id) == 1


# --- the page ---------------------------------------------------------------------------------

def test_the_page_lists_creates_and_renames(app, ann):
    page = ann.get("/accounts")
    assert page.status_code == 200 and "Main account" in page.text and "€90.00" in page.text
    token = csrf_token(ann, "/accounts")
    made = ann.post("/accounts", data={"csrf_token": token, "name": "Savings",
                                       "kind": "savings", "currency": "eur",
                                       "opening_balance": "1000.50"})
    assert made.status_code == 302
    assert accounts_of(app, ann.user_id)["Savings"] == ("savings", "EUR", Decimal("1000.50"))
    bad = ann.post("/accounts", data={"csrf_token": token, "name": "X", "currency": "euro"})
    assert bad.status_code == 400 and "currency" in bad.text
    assert "X" not in accounts_of(app, ann.user_id)
    twice = ann.post("/accounts", data={"csrf_token": token, "name": "Savings",
                                        "currency": "EUR"})
    assert twice.status_code == 409 and "already have an account named" in twice.text
    [savings] = [a for a in ann.get("/api/accounts").json if a["name"] == "Savings"]
    renamed = ann.post(f"/accounts/{savings['id']}/rename",
                       data={"csrf_token": token, "name": "Rainy day"})
    assert renamed.status_code == 302
    assert "Rainy day" in accounts_of(app, ann.user_id)
    assert ann.post(f"/accounts/{savings['id']}/rename",
                    data={"csrf_token": token, "name": ""}).status_code == 400


# --- the dashboard ----------------------------------------------------------------------------

def test_the_dashboard_narrows_every_figure_to_the_chosen_account(app, ann):
    card = create(ann, name="Card", kind="card").json
    ann.post("/api/transactions", json={"date": "2024-11-04", "amount": "-40.00",
                                        "description": "card groceries", "merchant": "Grocer",
                                        "account_id": card["id"]})
    everything = ann.get("/?month=2024-11")
    assert everything.status_code == 200
    assert "card groceries" in everything.text and "ann lunch" in everything.text
    assert 'id="accounts-panel"' in everything.text and "−€40.00" in everything.text
    narrowed = ann.get(f"/?month=2024-11&account={card['id']}")
    assert narrowed.status_code == 200
    assert "card groceries" in narrowed.text and "ann lunch" not in narrowed.text
    # The month's cards: the card's expenses alone, not the refund in the main account.
    assert '<span class="value neg">€40.00</span>' in narrowed.text
    assert '<span class="value pos">€0.00</span>' in narrowed.text
    assert f"account={card['id']}" in narrowed.text  # month links keep the account
    # And back to all: the main account's income counts again.
    assert '<span class="value pos">€100.00</span>' in ann.get("/?month=2024-11").text


def test_the_dashboard_of_an_invisible_account_is_404(ann, ben):
    [his] = ben.get("/api/accounts").json
    assert ann.get(f"/?account={his['id']}").status_code == 404
    assert ann.get("/?account=abc").status_code == 404


# --- the web import ---------------------------------------------------------------------------

def web_upload(client, text, **form):
    return client.post("/import", data={"csrf_token": csrf_token(client, "/import"),
                                        "file": (io.BytesIO(text.encode()), "bank.csv"), **form},
                       content_type="multipart/form-data")


def test_the_web_import_into_a_new_account(app, ann):
    csv = "Date,Description,Amount\n2024-11-07,web first,-1.50\n"
    preview = web_upload(ann, csv, account_id="new", new_name="Travel card", new_kind="card",
                         new_currency="gbp")
    assert preview.status_code == 200, preview.text
    assert accounts_of(app, ann.user_id)["Travel card"] == ("card", "GBP", Decimal("0.00"))
    [travel] = [a for a in ann.get("/api/accounts").json if a["name"] == "Travel card"]
    assert f'<option value="{travel["id"]}" selected>Travel card (GBP)' in preview.text
    token = re.search(r"/import/([0-9a-f]{32})/confirm", preview.text).group(1)
    done = ann.post(f"/import/{token}/confirm", data={
        "csrf_token": csrf_token(ann, "/import"), "account_id": str(travel["id"])})
    assert done.status_code == 302
    assert ann.get(f"/api/accounts/{travel['id']}").json["balance"] == "-1.50"
    [row] = ann.get(f"/api/transactions?account={travel['id']}").json["items"]
    assert (row["description"], row["currency"]) == ("web first", "GBP")


def test_the_web_import_says_why_a_file_in_another_currency_is_refused(app, ann):
    usd = create(ann, name="US checking", currency="USD").json
    refused = web_upload(ann, SPARKASSE, account_id=str(usd["id"]))
    assert refused.status_code == 422
    assert "in EUR, but the account “US checking” holds USD" in refused.text
    assert rows_of(app, ann.user_id) == 2
    bad = web_upload(ann, SPARKASSE, account_id="new", new_name="", new_currency="EUR")
    assert bad.status_code == 422 and "New account: name" in bad.text
    assert len(accounts_of(app, ann.user_id)) == 2


@pytest.mark.postgres
def test_balances_running_balances_and_import_on_postgresql(postgres_app):
    """The same queries behind the wall: balances (GROUP BY the account), running balances
    (a self-join of the account's rows), an import into an account (COPY) and the refusal
    of another currency."""
    set_isolation(postgres_app, ["general"])
    user_id = add_user(postgres_app, "pia@example.com")
    add_transactions(postgres_app, user_id, [(date(2024, 11, 1), "-10.00", "pia lunch")])
    pia = login(postgres_app.test_client(), "pia@example.com")
    card = create(pia, name="Card", kind="card", opening_balance="50.00").json
    assert upload(pia, "Date,Description,Amount\n2024-11-02,a,-5.00\n2024-11-03,b,-1.25\n",
                  account_id=str(card["id"])).status_code == 201
    balances = {a["name"]: a["balance"] for a in pia.get("/api/accounts").json}
    assert balances == {"Card": "43.75", "Main account": "-10.00"}
    listed = pia.get(f"/api/transactions?account={card['id']}").json["items"]
    assert [t["running_balance"] for t in listed] == ["43.75", "45.00"]
    refused = upload(pia, SPARKASSE, account_id=str(create(pia, name="US", currency="USD")
                                                      .json["id"]))
    assert refused.status_code == 422 and refused.json["error"]["code"] == "currency_mismatch"
    assert rows_of(postgres_app, user_id) == 3
    assert pia.delete(f"/api/accounts/{card['id']}").status_code == 409
