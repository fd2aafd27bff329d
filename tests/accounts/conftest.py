"""The accounts' tests run the app with EUR as its default currency: their rows, accounts and
expected balances are in EUR."""
import pytest


@pytest.fixture
def app(app_with):
    return app_with(DEFAULT_CURRENCY="EUR")
