"""The /suggestions page (answered at once, its suggestions fetched by its script from
/suggestions/table, or rendered in it with ?now=1) and its Accept buttons (CSRF forms)."""
import re
from datetime import date

from sqlalchemy import select

import finance_app.suggest.service as service
from finance_app.extensions import db
from finance_app.models import Transaction
from tests.conftest import add_transactions, add_user, csrf_token, set_isolation


def category_of(app, tx_id):
    with app.app_context():
        return db.session.execute(
            select(Transaction.category).where(Transaction.id == tx_id)).scalar_one()


def test_page_answers_without_working_out_suggestions(erin, monkeypatch):
    def no_model_here():
        raise AssertionError("the page itself must not train or load a model")
    monkeypatch.setattr(service, "current_model", no_model_here)
    page = erin.client.get("/suggestions")
    assert page.status_code == 200
    assert "/accept" not in page.text and "TESCO" not in page.text  # no rows, no forms
    status = re.search(r'<p id="suggestions-status"[^>]*>([^<]*)</p>', page.text)
    assert status and status.group(1) == "Working out suggestions…"
    assert 'role="status"' in status.group(0) and 'aria-live="polite"' in status.group(0)
    assert 'data-src="/suggestions/table"' in page.text
    assert '<script src="/static/suggestions.js" defer></script>' in page.text
    # Without scripts: a link to the page with the suggestions in it.
    noscript = re.search(r"<noscript>.*?</noscript>", page.text, re.S).group(0)
    assert 'href="/suggestions?now=1"' in noscript


def test_table_lists_suggestions_with_accept_buttons(erin):
    table = erin.client.get("/suggestions/table")
    assert table.status_code == 200 and table.mimetype == "text/html"
    assert "<html" not in table.text  # a fragment, for the page to swap in
    for description in ("CARD PAYMENT TO TESCO STORES 9911", "PRET A MANGER 0042"):
        assert description in table.text
    for tx_id in erin.uncategorised:
        form = re.search(rf'<form[^>]*action="/suggestions/{tx_id}/accept".*?</form>', table.text,
                         re.S)
        assert form and 'name="csrf_token"' in form.group(0)
        assert f'name="category" value="{erin.expected[tx_id]}"' in form.group(0)
    assert "learned from 40 categorised transactions in 4 categories" in table.text
    assert "−$23.40" in table.text  # the Tesco row's amount, in its currency (the default)
    assert "Learning from" in table.text


def test_now_renders_the_same_suggestions_in_the_page(erin):
    table = erin.client.get("/suggestions/table").text
    page = erin.client.get("/suggestions?now=1").text
    assert table.strip() in page
    assert "Working out suggestions" not in page  # nothing left to work out
    assert "<noscript>" not in page


def test_accept_button_saves_the_shown_category(app, erin):
    row = erin.uncategorised[1]
    response = erin.client.post(f"/suggestions/{row}/accept", data={
        "category": "Transport", "csrf_token": csrf_token(erin.client, "/suggestions")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/suggestions")
    assert category_of(app, row) == "Transport"
    assert "Category “Transport” saved." in erin.client.get("/suggestions").text
    assert f"/suggestions/{row}/accept" not in erin.client.get("/suggestions/table").text


def test_accept_without_csrf_token_writes_nothing(app, erin):
    row = erin.uncategorised[1]
    response = erin.client.post(f"/suggestions/{row}/accept", data={"category": "Transport"})
    assert response.status_code == 400
    assert category_of(app, row) is None


def test_accept_with_a_too_long_category_writes_nothing(app, erin):
    row = erin.uncategorised[1]
    response = erin.client.post(f"/suggestions/{row}/accept", data={
        "category": "x" * 101, "csrf_token": csrf_token(erin.client, "/suggestions")},
        follow_redirects=True)
    assert response.status_code == 200 and "at most 100 characters" in response.text
    assert category_of(app, row) is None


def test_accept_on_a_categorised_row_without_category_explains(app, erin):
    row = erin.categorised[0]
    response = erin.client.post(f"/suggestions/{row}/accept", data={
        "csrf_token": csrf_token(erin.client, "/suggestions")}, follow_redirects=True)
    assert response.status_code == 200 and "already has the category" in response.text
    assert category_of(app, row) == "Groceries"


def test_another_users_row_is_404_when_isolated(app, erin):
    set_isolation(app, ["staff"])
    other = add_user(app, "other@example.com", "general")
    [theirs] = add_transactions(app, other, [(date(2024, 11, 1), "-3.00", "other TESCO", "Tesco")])
    response = erin.client.post(f"/suggestions/{theirs}/accept", data={
        "category": "Mine", "csrf_token": csrf_token(erin.client, "/suggestions")})
    assert response.status_code == 404 and "other TESCO" not in response.text
    assert category_of(app, theirs) is None
    for path in ("/suggestions/table", "/suggestions?now=1"):
        assert "other TESCO" not in erin.client.get(path).text
