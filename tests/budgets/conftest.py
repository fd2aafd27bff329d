"""Budgets' fixtures: the People ledger with alice isolated (cohort staff) and bob and carol
on the shared ledger, and helpers that read budgets straight from the database."""
from datetime import date

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.models import Budget
from tests.conftest import People, set_isolation

MONTH = "2024-11"  # the People rows' month


@pytest.fixture
def app(app_with):
    """The app with EUR as its default currency: the People rows, and the budgets these tests
    set, are in EUR (a budget in another currency must count none of them)."""
    return app_with(DEFAULT_CURRENCY="EUR")


@pytest.fixture
def ledger(app):
    people = People(app)
    set_isolation(app, ["staff"])
    return people


def stored_budgets(app, user_id=None):
    """Every budget in the database (of one owner), as plain tuples, oldest first."""
    with app.app_context():
        stmt = select(Budget.user_id, Budget.category, Budget.amount, Budget.currency,
                      Budget.month).order_by(Budget.id)
        if user_id is not None:
            stmt = stmt.where(Budget.user_id == user_id)
        return [tuple(row) for row in db.session.execute(stmt).all()]


def first_of(month):
    return date.fromisoformat(f"{month}-01")
