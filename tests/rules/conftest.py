"""A ledger for rules: one isolated user (Rita, staff) with rows a rule would file."""
from datetime import date

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Rule, Transaction
from tests.conftest import add_transactions, add_user, login, set_isolation

ROWS = [  # (date, amount, description, merchant, category)
    (date(2024, 11, 1), "-23.40", "CARD PAYMENT TO TESCO STORES 9911", "Tesco Stores", None),
    (date(2024, 11, 2), "-9.10", "TESCO EXPRESS 0042", "TESCO Express", None),
    (date(2024, 11, 3), "-5.00", "TESCO METRO 17", "Tesco Metro", "Snacks"),
    (date(2024, 11, 4), "-3.20", "PRET A MANGER 11", "Pret", None),
    (date(2024, 11, 5), "-12.00", "TESCO PETROL", None, None),  # no merchant: never matches one
]


class Rita:
    def __init__(self, app):
        self.app = app
        set_isolation(app, ["staff"])
        self.user_id = add_user(app, "rita@example.com", "staff")
        self.rows = add_transactions(app, self.user_id, ROWS)
        self.client = login(app.test_client(), "rita@example.com")

    def create(self, field="merchant", pattern="tesco", category="Groceries", client=None):
        response = (client or self.client).post(
            "/api/rules", json={"field": field, "pattern": pattern, "category": category})
        assert response.status_code == 201, response.json
        return response.json


@pytest.fixture
def rita(app):
    return Rita(app)


def categories(app, ids=None):
    """{transaction id: category} of the given rows (every row without ids)."""
    with app.app_context(), unscoped("test assertion"):
        stmt = select(Transaction.id, Transaction.category)
        if ids is not None:
            stmt = stmt.where(Transaction.id.in_(ids))
        return dict(db.session.execute(stmt).all())


def stored_rules(app):
    """(owner, field, pattern, category) of every rule, by id."""
    with app.app_context(), unscoped("test assertion"):
        return db.session.execute(select(Rule.user_id, Rule.field, Rule.pattern, Rule.category)
                                  .order_by(Rule.id)).all()
