from datetime import date
from html.parser import HTMLParser

import pytest

from tests.conftest import add_transactions, add_user, login

# (date, amount, description, merchant, category)
DANA_ROWS = [
    (date(2024, 1, 5), "-4.50", "Morning coffee", "Blue Bottle", "Coffee"),
    (date(2024, 1, 31), "3000.00", "January salary", "Acme", "Salary"),
    (date(2024, 2, 1), "-1200.00", "Rent February", "Landlord Co", "Rent"),
    (date(2024, 2, 14), "-86.20", "Valentine dinner", "Zuni Cafe", "Restaurants"),
    (date(2024, 2, 29), "-12.00", "Leap day 100% juice_bar", "Juice_Bar", None),
    (date(2024, 3, 3), "-45.99", "Groceries", "Whole Foods", "Groceries"),
    (date(2024, 3, 15), "19.99", "Refund headphones", "Best Buy", "Shopping"),
]


@pytest.fixture
def dana(app):
    """A user alone on a fresh install (isolated: the flag is undefined) with known rows."""
    uid = add_user(app, "dana@example.com")
    ids = add_transactions(app, uid, DANA_ROWS)
    client = login(app.test_client(), "dana@example.com")
    client.ids = ids
    client.user_id = uid
    return client


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag != "input" or "name" not in attrs:
            return
        if attrs.get("type") == "radio":
            if "checked" in attrs:
                self.values[attrs["name"]] = attrs["value"]
        else:
            self.values[attrs["name"]] = attrs.get("value", "")


def form_values(html):
    """The value of each named input of a page (a radio group's checked one)."""
    parser = _Inputs()
    parser.feed(html)
    return parser.values
