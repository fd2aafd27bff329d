"""The budgets' isolation and conflict tests again on PostgreSQL, behind its row-level
security wall: the same outcomes as on SQLite (a duplicate is a 409 there too, whose
rolled-back transaction leaves the request able to answer)."""
import pytest

from tests.conftest import app_on_fresh_database

from tests.budgets.test_api import (  # noqa: F401 (collected here, on PostgreSQL)
    test_a_patch_onto_another_budgets_category_and_month_is_a_409,
    test_a_second_budget_for_the_same_category_and_month_is_a_409,
    test_spent_follows_a_new_transaction_at_once,
    test_spent_is_the_months_expenses_in_the_category_and_currency,
)
from tests.budgets.test_isolation import *  # noqa: F401,F403 (its fixture and tests)

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(tmp_path):
    """As on SQLite (tests/budgets/conftest.py): EUR is the default currency."""
    with app_on_fresh_database(tmp_path, "postgres", DEFAULT_CURRENCY="EUR") as app:
        yield app
