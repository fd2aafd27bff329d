"""A realistic categorised ledger: 40 bank-statement rows across 4 categories, 10 each, with
the noise real exports have (card numbers, references, upper case), plus uncategorised rows
whose right category a person would see at a glance."""
from datetime import date, timedelta

import pytest

from tests.conftest import add_transactions, add_user, login

MERCHANTS = {
    "Groceries": [("CARD PAYMENT TO TESCO STORES {n}", "Tesco"),
                  ("SAINSBURYS S/MKTS {n} LONDON", "Sainsbury's"),
                  ("LIDL GB {n}", "Lidl")],
    "Transport": [("TFL TRAVEL CH {n}", "Transport for London"),
                  ("UBER *TRIP {n} HELP.UBER.COM", "Uber"),
                  ("SHELL FUEL STATION {n}", "Shell")],
    "Dining": [("PRET A MANGER {n}", "Pret A Manger"),
               ("NANDOS RESTAURANT {n}", "Nando's"),
               ("DELIVEROO ORDER {n}", "Deliveroo")],
    "Utilities": [("THAMES WATER DD REF {n}", "Thames Water"),
                  ("BRITISH GAS ENERGY DD {n}", "British Gas"),
                  ("VIRGIN MEDIA BROADBAND {n}", "Virgin Media")],
}
CATEGORIES = sorted(MERCHANTS)


def categorised_rows(per_category=10, start=date(2024, 6, 1)):
    rows = []
    for c, (category, merchants) in enumerate(MERCHANTS.items()):
        for i in range(per_category):
            template, merchant = merchants[i % len(merchants)]
            day = start + timedelta(days=(i * 9 + c * 2) % 150)
            amount = f"-{10 + (i * 7 + c * 13) % 90}.{(i * 37) % 100:02d}"
            rows.append((day, amount, template.format(n=4000 + i * 131 + c), merchant, category))
    return rows


# (date, amount, description, merchant) and the category a person would give it.
UNCATEGORISED = [
    ((date(2024, 11, 2), "-23.40", "CARD PAYMENT TO TESCO STORES 9911", "Tesco"), "Groceries"),
    ((date(2024, 11, 3), "-14.10", "UBER *TRIP 7781 HELP.UBER.COM", "Uber"), "Transport"),
    ((date(2024, 11, 4), "-8.95", "PRET A MANGER 0042", "Pret A Manger"), "Dining"),
    ((date(2024, 11, 5), "-41.00", "THAMES WATER DD REF 55120", "Thames Water"), "Utilities"),
]


class Ledger:
    def __init__(self, app, email, cohort):
        self.user_id = add_user(app, email, cohort)
        self.categorised = add_transactions(app, self.user_id, categorised_rows())
        self.uncategorised = add_transactions(app, self.user_id, [r for r, _ in UNCATEGORISED])
        self.expected = {tx_id: category
                         for tx_id, (_, category) in zip(self.uncategorised, UNCATEGORISED)}
        self.client = login(app.test_client(), email)


@pytest.fixture
def erin(app):
    """A staff user with the realistic ledger (isolated whenever staff is)."""
    return Ledger(app, "erin@example.com", "staff")
