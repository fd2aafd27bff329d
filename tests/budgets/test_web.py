"""The /budgets page, its forms, and the dashboard's budgets panel."""
import re
from decimal import Decimal

import pytest

from tests.budgets.conftest import MONTH, first_of, stored_budgets
from tests.conftest import csrf_token


def post_form(client, path, **fields):
    return client.post(path, data=dict(fields, csrf_token=csrf_token(client, "/budgets")))


def new_budget(client, category="Coffee", amount="40.00", currency="EUR", month=""):
    return post_form(client, f"/budgets?month={MONTH}", category=category, amount=amount,
                     currency=currency, month=month)


def new_budget_id(client):
    """Add the Coffee budget through the form; its id."""
    assert new_budget(client).status_code == 302
    return client.get("/api/budgets").json["items"][0]["id"]


def bars(page):
    """(category, max, value, text) of each budget's bar on a page."""
    return [(category, maximum, value, " ".join(re.sub(r"<[^>]+>", "", text).split()))
            for category, maximum, value, text in re.findall(
                r'<li class="budget[^"]*">\s*<div class="budget-head">\s*<strong>([^<]+)</strong>.*?<progress max="([^"]+)" value="([^"]+)".*?'
                r'<p class="budget-text"[^>]*>(.*?)</p>', page, re.S)]


def test_adding_a_budget_shows_its_progress(app, ledger):
    alice = ledger.client("alice")
    response = new_budget(alice)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/budgets?month={MONTH}")
    assert stored_budgets(app) == [(ledger.ids["alice"], "Coffee", Decimal("40.00"), "EUR", None)]
    page = alice.get(response.headers["Location"])
    assert "Budget for Coffee saved." in page.text
    assert bars(page.text) == [("Coffee", "40.00", "12.50",
                                "€12.50 of €40.00 spent (31%) · €27.50 left")]
    assert 'class="budget over"' not in page.text


def test_over_budget_is_said_in_words_and_marked(ledger):
    alice = ledger.client("alice")
    new_budget(alice, amount="10.00", month=MONTH)
    page = alice.get(f"/budgets?month={MONTH}").text
    # The bar stops full; the text says by how much the budget is over.
    assert bars(page) == [("Coffee", "10.00", "10.00",
                           "€12.50 of €10.00 spent (125%) · Over budget by €2.50")]
    assert 'class="budget over"' in page and 'class="over-text"' in page


def test_the_dashboard_shows_the_months_budgets(ledger):
    alice = ledger.client("alice")
    new_budget(alice, amount="10.00")
    page = alice.get(f"/?month={MONTH}").text
    panel = page[page.index('id="dashboard-budgets"'):]
    assert bars(panel)[0] == ("Coffee", "10.00", "10.00",
                              "€12.50 of €10.00 spent (125%) · Over budget by €2.50")
    assert f'href="/budgets?month={MONTH}"' in panel
    # Another month: no Coffee spending, the repeating budget still applies.
    page = alice.get("/?month=2024-10").text
    panel = page[page.index('id="dashboard-budgets"'):]
    assert bars(panel)[0][3] == "€0.00 of €10.00 spent (0%) · €10.00 left"


@pytest.mark.parametrize("fields, field, message", [
    ({"amount": "0"}, "amount", "a budget must be more than 0"),
    ({"amount": "abc"}, "amount", "is not a decimal amount"),
    ({"amount": ""}, "amount", "is not a decimal amount"),
    ({"month": "2024-13"}, "month", "month must look like YYYY-MM"),
    ({"currency": "XYZ"}, "currency", "is not a known currency code"),
    ({"category": ""}, "category", "at least 1 character"),
])
def test_a_bad_form_shows_the_error_by_its_field_and_writes_nothing(app, ledger, fields, field,
                                                                     message):
    alice = ledger.client("alice")
    response = new_budget(alice, **fields)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="new-{field}-error">([^<]*)</p>',
                      response.text)
    assert error and message in error.group(1), response.text
    assert f'id="new-{field}"' in response.text
    # What was typed stays in the form.
    for name, value in fields.items():
        assert f'name="{name}" value="{value}"' in response.text
    assert stored_budgets(app) == []


def test_a_duplicate_is_a_form_error(app, ledger):
    alice = ledger.client("alice")
    new_budget(alice, month=MONTH)
    response = new_budget(alice, amount="99.00", month=MONTH)
    assert response.status_code == 422
    assert "There is a budget for Coffee in 2024-11 already" in response.text
    assert [b[2] for b in stored_budgets(app)] == [Decimal("40.00")]


def test_a_bad_month_in_the_address_shows_the_default_month_with_a_message(ledger):
    response = ledger.client("alice").get("/budgets?month=2024-13")
    assert response.status_code == 400
    assert "Month: month must look like YYYY-MM" in response.text
    assert f"<strong>{MONTH}</strong>" in response.text


def test_edit_changes_the_budget(app, ledger):
    alice = ledger.client("alice")
    budget_id = new_budget_id(alice)
    form = alice.get(f"/budgets/{budget_id}/edit?month={MONTH}")
    assert form.status_code == 200 and 'value="40.00"' in form.text
    response = post_form(alice, f"/budgets/{budget_id}/edit?month={MONTH}", category="Coffee",
                         amount="45", currency="EUR", month=MONTH)
    assert response.status_code == 302
    assert stored_budgets(app) == [
        (ledger.ids["alice"], "Coffee", Decimal("45.00"), "EUR", first_of(MONTH))]


def test_a_bad_edit_shows_the_error_and_changes_nothing(app, ledger):
    alice = ledger.client("alice")
    budget_id = new_budget_id(alice)
    before = stored_budgets(app)
    response = post_form(alice, f"/budgets/{budget_id}/edit", category="Coffee", amount="-1",
                         currency="EUR", month="")
    assert response.status_code == 422
    assert "a budget must be more than 0" in response.text
    assert stored_budgets(app) == before


def test_delete_asks_then_deletes(app, ledger):
    alice = ledger.client("alice")
    budget_id = new_budget_id(alice)
    confirm = alice.get(f"/budgets/{budget_id}/delete")
    assert confirm.status_code == 200 and "Delete this budget?" in confirm.text
    assert len(stored_budgets(app)) == 1
    response = post_form(alice, f"/budgets/{budget_id}/delete?month={MONTH}")
    assert response.status_code == 302
    assert stored_budgets(app) == []


def test_a_form_without_its_csrf_token_is_refused(app, ledger):
    response = ledger.client("alice").post("/budgets", data={
        "category": "Coffee", "amount": "40.00", "currency": "EUR", "month": ""})
    assert response.status_code == 400
    assert stored_budgets(app) == []
