"""Manual entry on the web: /transactions/new adds a row, /transactions/<id>/edit changes one,
through the API's own bodies and service functions."""
from datetime import date

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import add_transactions, add_user, csrf_token, login, set_isolation
from tests.transactions.conftest import form_values

NEW = {"kind": "expense", "amount": "23.40", "date": "2024-03-20",
       "description": "Hardware store", "merchant": "Tool Barn", "category": "Home",
       "currency": "eur"}


def row_count(app):
    with app.app_context(), unscoped("test: count every row"):
        return db.session.execute(select(func.count()).select_from(Transaction)).scalar()


def post_new(client, **changes):
    form = dict(NEW, **changes)
    form = {k: v for k, v in form.items() if v is not None}
    return client.post("/transactions/new",
                       data=dict(form, csrf_token=csrf_token(client, "/transactions/new")))


def test_the_form_defaults_to_today_an_expense_and_the_configured_currency(app, dana):
    app.config["DEFAULT_CURRENCY"] = "CHF"
    page = dana.get("/transactions/new")
    assert page.status_code == 200
    values = form_values(page.text)
    assert (values["date"], values["currency"], values["kind"]) == \
        (date.today().isoformat(), "CHF", "expense")
    assert values["amount"] == values["description"] == ""
    # The category field offers the viewer's categories.
    assert '<option value="Groceries">' in page.text


def test_the_list_and_the_empty_dashboard_link_to_the_form(app, dana):
    assert 'href="/transactions/new"' in dana.get("/transactions").text
    add_user(app, "empty@example.com")
    empty = login(app.test_client(), "empty@example.com")
    assert 'href="/transactions/new"' in empty.get("/").text


def test_an_expense_is_stored_negative_owned_and_shown_in_the_list(app, dana):
    response = post_new(dana)
    assert response.status_code == 302
    created = dana.get("/api/transactions?q=Hardware").json["items"]
    assert len(created) == 1
    tx = created[0]
    assert (tx["amount"], tx["currency"], tx["category"], tx["merchant"], tx["date"]) == \
        ("-23.40", "EUR", "Home", "Tool Barn", "2024-03-20")
    with app.app_context(), unscoped("test: the owner"):
        assert db.session.get(Transaction, tx["id"]).user_id == dana.user_id
    # To the list at the new row, with the success message.
    assert response.headers["Location"] == f"/transactions#tx-{tx['id']}"
    page = dana.get(response.headers["Location"])
    assert "Added “Hardware store”." in page.text
    assert f'<tr id="tx-{tx["id"]}">' in page.text


def test_income_is_stored_positive(dana):
    assert post_new(dana, kind="income", amount="100", description="Sold bike").status_code == 302
    assert dana.get("/api/transactions?q=Sold").json["items"][0]["amount"] == "100.00"


def test_a_zero_expense_is_zero_not_minus_zero(dana):
    post_new(dana, amount="0", description="Free sample")
    assert dana.get("/api/transactions?q=Free").json["items"][0]["amount"] == "0.00"


def test_a_blank_currency_is_refused_not_defaulted_silently(app, dana):
    before = row_count(app)
    page = post_new(dana, currency="")
    assert page.status_code == 400 and "three-letter currency code" in page.text
    assert row_count(app) == before


def test_the_redirect_finds_the_page_that_shows_an_old_row(app, dana):
    """An entry dated before the newest 50 rows is on a later page of the list."""
    add_transactions(app, dana.user_id, [(date(2025, 1, 1), "-1.00", f"filler {i}")
                                         for i in range(60)])
    response = post_new(dana, date="2020-01-01")
    location = response.headers["Location"]
    assert location.startswith("/transactions?offset=50#tx-")
    tx_id = location.rpartition("#tx-")[2]
    assert f'<tr id="tx-{tx_id}">' in dana.get(location).text


def test_the_create_is_the_api_create(app, dana, monkeypatch):
    """One create path: the page calls the service function POST /api/transactions calls."""
    from finance_app.transactions import service

    calls = []
    original = service.create_transaction
    monkeypatch.setattr(service, "create_transaction",
                        lambda data, currency: calls.append(data) or original(data, currency))
    post_new(dana)
    assert [c.description for c in calls] == ["Hardware store"]


@pytest.mark.parametrize("changes, field, message", [
    ({"description": "   "}, "description", "This field is required."),
    ({"amount": "abc"}, "amount", "is not a decimal amount"),
    ({"amount": ""}, "amount", "is not a decimal amount"),
    ({"amount": "-5"}, "amount", "without a sign"),
    ({"amount": "1.234"}, "amount", "more than 2 decimal places"),
    ({"date": "2024-13-40"}, "date", "Enter a date as YYYY-MM-DD"),
    ({"date": "1850-01-01"}, "date", "dates must be between"),
    ({"description": "x" * 501}, "description", "at most 500 characters"),
    ({"merchant": "m" * 201}, "merchant", "at most 200 characters"),
    ({"category": "c" * 101}, "category", "at most 100 characters"),
    ({"currency": "euro"}, "currency", "three-letter currency code"),
    ({"kind": "gift"}, "kind", "Not a valid choice"),
])
def test_bad_input_shows_the_field_error_and_writes_nothing(app, dana, changes, field, message):
    before = row_count(app)
    page = post_new(dana, **changes)
    assert page.status_code == 400
    assert "Nothing was saved" in page.text
    # The message follows the field it is about, which is marked invalid.
    after_field = page.text.split(f'name="{field}"', 1)[1]
    assert message in after_field.split("</fieldset>" if field == "kind" else "<label", 1)[0]
    assert row_count(app) == before
    # What was typed is kept, so it can be corrected.
    if field == "description" and changes[field].strip():
        assert changes[field] in page.text


def test_the_form_needs_its_csrf_token(app, dana):
    before = row_count(app)
    assert dana.post("/transactions/new", data=NEW).status_code == 400
    assert row_count(app) == before


# --- edit ------------------------------------------------------------------------------------

def edit(client, tx_id, **fields):
    token = csrf_token(client, f"/transactions/{tx_id}/edit")
    return client.post(f"/transactions/{tx_id}/edit", data=dict(fields, csrf_token=token))


def test_the_edit_page_shows_the_row_as_expense_and_positive_amount(dana):
    page = dana.get(f"/transactions/{dana.ids[3]}/edit")  # the -86.20 dinner
    assert page.status_code == 200
    values = form_values(page.text)
    del values["csrf_token"]
    assert values == {"kind": "expense", "amount": "86.20", "date": "2024-02-14",
                      "description": "Valentine dinner", "merchant": "Zuni Cafe",
                      "category": "Restaurants"}  # no currency: it stays as it is
    income = dana.get(f"/transactions/{dana.ids[1]}/edit")
    assert form_values(income.text)["kind"] == "income"


def test_edit_saves_every_field_through_the_update_path(dana):
    currency = dana.get(f"/api/transactions/{dana.ids[3]}").json["currency"]
    response = edit(dana, dana.ids[3], kind="income", amount="86.20", date="2024-02-15",
                    description="Dinner refund", merchant="", category="Refunds")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#tx-{dana.ids[3]}")
    row = dana.get(f"/api/transactions/{dana.ids[3]}").json
    assert (row["amount"], row["date"], row["description"], row["merchant"], row["category"]) \
        == ("86.20", "2024-02-15", "Dinner refund", None, "Refunds")
    assert row["currency"] == currency  # not on the form: untouched
    assert "Saved “Dinner refund”." in dana.get(response.headers["Location"]).text


def test_bad_edit_changes_nothing(dana):
    before = dana.get(f"/api/transactions/{dana.ids[3]}").json
    page = edit(dana, dana.ids[3], kind="expense", amount="abc", date="2024-02-15",
                description="Changed", merchant="", category="")
    assert page.status_code == 400 and "is not a decimal amount" in page.text
    assert dana.get(f"/api/transactions/{dana.ids[3]}").json == before


def test_another_users_invisible_row_is_404_to_view_and_to_edit(app, people):
    set_isolation(app, ["staff"])  # alice isolated
    carol = people.client("carol")
    alice_row = people.rows["alice"][0]
    assert carol.get(f"/transactions/{alice_row}/edit").status_code == 404
    token = csrf_token(carol, "/transactions/new")
    response = carol.post(f"/transactions/{alice_row}/edit",
                          data={"kind": "expense", "amount": "1", "date": "2024-11-01",
                                "description": "taken", "csrf_token": token})
    assert response.status_code == 404
    with app.app_context(), unscoped("test: alice's row"):
        assert db.session.get(Transaction, alice_row).description == "alice coffee"
