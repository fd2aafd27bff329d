"""Rules on import: rows that come without a category get the first matching rule's (the
most specific first), before they are written; the preview says which rows a rule filed."""
import io
from datetime import date

from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import add_user, login
from tests.ingest.test_import import upload

CSV = b"""Date,Description,Merchant,Category,Amount
2024-12-01,CARD PAYMENT 1,Tesco Stores,,-10.00
2024-12-02,CARD PAYMENT 2,TESCO EXPRESS LONDON,,-11.00
2024-12-03,CARD PAYMENT 3,Tesco Metro,Snacks,-12.00
2024-12-04,PRET A MANGER,Pret,,-13.00
"""


def imported(app, user_id):
    with app.app_context(), unscoped("test assertion"):
        return dict(db.session.execute(
            select(Transaction.description, Transaction.category)
            .where(Transaction.user_id == user_id, Transaction.date >= date(2024, 12, 1))).all())


def test_rows_without_a_category_get_the_most_specific_matching_rule(app, rita):
    rita.create(pattern="tesco")
    rita.create(pattern="tesco express", category="Convenience")
    dry = upload(rita.client, CSV, query="?dry_run=1").json
    assert dry["by_rules"] == 2
    assert [(r["category"], r["rule"]) for r in dry["preview"]] == [
        ("Groceries", "merchant contains “tesco” → Groceries"),
        ("Convenience", "merchant contains “tesco express” → Convenience"),
        ("Snacks", None),  # the file's own category is kept
        (None, None),
    ]
    assert imported(app, rita.user_id) == {}  # a dry run writes nothing

    result = upload(rita.client, CSV)
    assert result.status_code == 201 and result.json["by_rules"] == 2
    assert imported(app, rita.user_id) == {
        "CARD PAYMENT 1": "Groceries", "CARD PAYMENT 2": "Convenience",
        "CARD PAYMENT 3": "Snacks", "PRET A MANGER": None}


def test_another_isolated_users_rules_do_not_file_my_rows(app, rita):
    add_user(app, "other@example.com", "staff")
    other = login(app.test_client(), "other@example.com")
    rita.create(client=other, pattern="pret", category="Theirs")
    result = upload(rita.client, CSV).json
    assert result["by_rules"] == 0
    assert imported(app, rita.user_id)["PRET A MANGER"] is None


def test_the_web_preview_says_which_rows_a_rule_files(app, rita):
    rita.create(pattern="pret", category="Lunch")
    page = rita.client.post("/import", data={
        "file": (io.BytesIO(CSV), "december.csv"),
        "csrf_token": rita.client.api_csrf_token}, content_type="multipart/form-data")
    assert page.status_code == 200, page.text
    assert "Categorised by your rules" in page.text
    assert 'title="merchant contains “pret” → Lunch">(rule)' in page.text
