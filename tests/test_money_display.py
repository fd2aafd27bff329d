"""Money on pages (money_display.py): the currency's symbol, the locale's grouping, a true
minus sign; the locale from Accept-Language among the supported ones, else DEFAULT_LOCALE.
And one default currency: DEFAULT_CURRENCY, which a row created without one gets."""
from datetime import date
from decimal import Decimal

import pytest

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from finance_app.money_display import format_money, request_locale
from tests.conftest import add_transactions, add_user, login, main_account
from tests.ingest.test_import_web import post_file


@pytest.mark.parametrize("amount,currency,locale,shown", [
    ("-1234.50", "EUR", "en_US", "−€1,234.50"),
    ("1234.5", "GBP", "en_GB", "£1,234.50"),
    ("-1234.50", "USD", "en_GB", "−US$1,234.50"),  # "$" alone would be ambiguous there
    ("-1234.50", "EUR", "de_DE", "−1.234,50\xa0€"),
    ("1234567.89", "EUR", "fr_FR", "1\u202f234\u202f567,89\xa0€"),
    ("0.00", "USD", "en_US", "$0.00"),
    (Decimal("-0.10"), "EUR", "nl_NL", "€\xa0−0,10"),
])
def test_format_money(amount, currency, locale, shown):
    assert format_money(amount, currency, locale) == shown


@pytest.mark.parametrize("header,locale", [
    (None, "en_US"),
    ("de", "de_DE"),
    ("de-AT,de;q=0.9", "de_DE"),
    ("en-GB,en;q=0.8", "en_GB"),
    ("fr-CA, fr;q=0.8", "fr_FR"),
    ("pt-BR", "en_US"),  # not offered: the default
    ("*", "en_US"),
])
def test_the_locale_is_negotiated_from_accept_language(app, header, locale):
    headers = {"Accept-Language": header} if header else {}
    with app.test_request_context("/", headers=headers):
        assert request_locale() == locale


def test_the_default_locale_is_configurable(app_with):
    app = app_with(DEFAULT_LOCALE="en_GB")
    with app.test_request_context("/", headers={"Accept-Language": "pt-BR"}):
        assert request_locale() == "en_GB"
    with app.test_request_context("/"):
        assert request_locale() == "en_GB"
        assert format_money("-5", "USD") == "−US$5.00"


def test_pages_show_money_in_the_browsers_locale(app):
    user_id = add_user(app, "lea@example.com", "staff")
    ids = add_transactions(app, user_id, [
        (date(2024, 6, 4), "-1234.50", "Miete", "Vermieter", "Miete", "EUR")])
    lea = login(app.test_client(), "lea@example.com")
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    for path in ("/", "/transactions", f"/transactions/{ids[0]}/delete",
                 f"/explain/transactions/{ids[0]}"):
        page = lea.get(path, headers=german)
        assert page.status_code == 200, path
        assert "−1.234,50\xa0€" in page.text, path
        assert "−€1,234.50" in lea.get(path).text, path  # no header: en_US
    # JSON is never formatted: a decimal string and the currency beside it.
    item = lea.get(f"/api/transactions/{ids[0]}", headers=german).json
    assert (item["amount"], item["currency"]) == ("-1234.50", "EUR")


def test_a_row_created_without_a_currency_gets_the_configured_one(app_with):
    """DEFAULT_CURRENCY is the one source of a new row's currency: the model's default follows
    it (it once said EUR while the config said USD)."""
    app = app_with(DEFAULT_CURRENCY="CHF")
    user_id = add_user(app, "max@example.com", "staff")
    with app.app_context(), unscoped("test: a plain ORM create"):
        row = Transaction(user_id=user_id, date=date(2024, 6, 1), amount=Decimal("-1.00"),
                          description="no currency named",
                          account_id=main_account(user_id, "CHF"))
        db.session.add(row)
        db.session.commit()
        assert row.currency == "CHF"
    client = login(app.test_client(), "max@example.com")
    created = client.post("/api/transactions", json={
        "date": "2024-06-02", "amount": "-2.00", "description": "by the API"})
    assert created.status_code == 201 and created.json["currency"] == "CHF"
    # The charts of a viewer are in the configured currency until rows say otherwise.
    add_user(app, "new@example.com")
    empty = login(app.test_client(), "new@example.com")
    assert empty.get("/api/charts/categories?month=2024-06").json["currency"] == "CHF"


def test_the_import_preview_shows_money_in_the_browsers_locale(app):
    """A row whose file names its currency shows it; one that does not, DEFAULT_CURRENCY."""
    add_user(app, "ida@example.com")
    ida = login(app.test_client(), "ida@example.com")
    ida.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE"
    preview = post_file(ida, "/import", "Date,Description,Amount,Currency\n"
                        "2024-03-01,Rent,-1234.50,EUR\n2024-03-02,Tea,-2.00,\n".encode())
    assert preview.status_code == 200
    assert "−1.234,50\xa0€" in preview.text
    assert "−2,00\xa0$" in preview.text  # USD, as de-DE writes it
