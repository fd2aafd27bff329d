"""A richer ledger for the analytics tests, and an independent Python reference for every
aggregate the app computes in SQL.

Erin's rows span five months with a gap (2024-02 has none), income and refunds, expenses in
several categories, uncategorised rows, rows without a merchant, a long-standing
subscription, one that starts in 2024-03 (a new recurring charge in 2024-04) and look-alikes
that are not (amounts too different, more than one charge a month). Frank has his own rows
in the same months, with a category and merchants Erin never uses, so a leak shows.
"""
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

import pytest
from sqlalchemy import event

from config import BaseConfig
from finance_app.extensions import db
from tests.conftest import add_transactions, add_user, login

# (date, amount, description, merchant, category[, currency]); without a currency a row is in
# the app's DEFAULT_CURRENCY.
ERIN_ROWS = [
    (date(2023, 12, 1), "3100.00", "December salary", "Initech", "Salary"),
    (date(2023, 12, 4), "-1200.00", "Rent December", "Landlord Ltd", "Rent"),
    (date(2023, 12, 9), "-9.99", "Music", "Spotify", "Subscriptions"),
    (date(2023, 12, 18), "-64.10", "Weekly shop", "Fresh Market", "Groceries"),
    (date(2024, 1, 2), "3100.00", "January salary", "Initech", "Salary"),
    (date(2024, 1, 4), "-1200.00", "Rent January", "Landlord Ltd", "Rent"),
    (date(2024, 1, 9), "-9.99", "Music", "Spotify", "Subscriptions"),
    (date(2024, 1, 12), "-58.35", "Weekly shop", "Fresh Market", "Groceries"),
    (date(2024, 1, 19), "-71.20", "Weekly shop", "Fresh Market", "Groceries"),
    (date(2024, 1, 25), "-3.80", "Espresso", "Corner Coffee", "Coffee"),
    (date(2024, 1, 30), "-15.00", "Cash withdrawal", None, None),
    (date(2024, 3, 1), "3100.00", "March salary", "Initech", "Salary"),
    (date(2024, 3, 4), "-1200.00", "Rent March", "Landlord Ltd", "Rent"),
    (date(2024, 3, 9), "-9.99", "Music", "Spotify", "Subscriptions"),
    (date(2024, 3, 10), "-15.49", "Streaming", "Netflix", "Subscriptions"),
    (date(2024, 3, 11), "-40.00", "Gym March", "Iron Gym", "Fitness"),
    (date(2024, 3, 14), "-92.60", "Weekly shop", "Fresh Market", "Groceries"),
    (date(2024, 3, 16), "-4.20", "Espresso", "Corner Coffee", "Coffee"),
    (date(2024, 3, 20), "-129.00", "Headphones", "Sound Shop", "Shopping"),
    (date(2024, 3, 22), "-7.50", "Parking", None, "Transport"),
    (date(2024, 4, 1), "3150.00", "April salary", "Initech", "Salary"),
    (date(2024, 4, 4), "-1250.00", "Rent April", "Landlord Ltd", "Rent"),
    (date(2024, 4, 9), "-9.99", "Music", "Spotify", "Subscriptions"),
    (date(2024, 4, 10), "-15.49", "Streaming", "Netflix", "Subscriptions"),
    (date(2024, 4, 11), "-60.00", "Gym April", "Iron Gym", "Fitness"),
    (date(2024, 4, 12), "-48.90", "Weekly shop", "Fresh Market", "Groceries"),
    (date(2024, 4, 13), "-3.90", "Espresso", "Corner Coffee", "Coffee"),
    (date(2024, 4, 15), "-4.10", "Espresso", "Corner Coffee", "Coffee"),
    (date(2024, 4, 17), "-33.33", "Market stall", "Fresh Market", None),
    (date(2024, 4, 18), "129.00", "Headphones refund", "Sound Shop", "Shopping"),
    (date(2024, 4, 21), "-12.00", "Espresso beans", "Corner Coffee", "Coffee"),
    (date(2024, 4, 26), "-0.10", "Bank fee", None, None),
]

FRANK_ROWS = [
    (date(2024, 1, 5), "2000.00", "Frank pay", "Frank Employer", "Salary"),
    (date(2024, 3, 6), "-800.00", "Frank rent", "Frank Landlord", "Rent"),
    (date(2024, 3, 10), "-15.49", "Frank streaming", "Netflix", "Subscriptions"),
    (date(2024, 4, 10), "-15.49", "Frank streaming", "Netflix", "Subscriptions"),
    (date(2024, 4, 11), "-250.00", "Frank sailing club", "Frank Yacht Club", "Sailing"),
    (date(2024, 4, 30), "-19.99", "Frank magazine", "Frank Weekly", "Subscriptions"),
    (date(2024, 5, 2), "-42.00", "Frank dinner", "Frank Bistro", "Restaurants"),
]

ALL_ROWS = ERIN_ROWS + FRANK_ROWS
MONTHS = ["2023-12", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]


class Ledger:
    def __init__(self, app):
        self.app = app
        self.erin_id = add_user(app, "erin@example.com", "staff")
        self.frank_id = add_user(app, "frank@example.com", "general")
        self.erin_ids = add_transactions(app, self.erin_id, ERIN_ROWS)
        self.frank_ids = add_transactions(app, self.frank_id, FRANK_ROWS)

    def client(self, name):
        return login(self.app.test_client(), f"{name}@example.com")


@pytest.fixture
def ledger(app):
    return Ledger(app)


@contextmanager
def sql_statements(app):
    """The SQL statements the app's engine runs inside the block."""
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- the reference: plain Python over the fixture rows ---------------------------------------
# Two currencies are never added: the summary has a block per currency, biggest first (most
# rows, then by code); the charts are in one currency, by default the main one (most rows).

DEFAULT_CURRENCY = BaseConfig.DEFAULT_CURRENCY


def cents(value):
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def month_of(row):
    return f"{row[0].year:04d}-{row[0].month:02d}"


def amount(row):
    return Decimal(row[1])


def currency_of(row):
    return row[5] if len(row) > 5 else DEFAULT_CURRENCY


def in_currency(rows, currency):
    return [r for r in rows if currency_of(r) == currency]


def currencies(rows):
    """The currencies of `rows`, biggest first: most rows, then by code."""
    counts = defaultdict(int)
    for r in rows:
        counts[currency_of(r)] += 1
    return sorted(counts, key=lambda c: (-counts[c], c))


def main_currency(rows):
    return (currencies(rows) or [DEFAULT_CURRENCY])[0]


def totals(rows, month):
    """{income, expenses, net, count} of the rows (one currency) dated in `month`."""
    rows = [r for r in rows if month_of(r) == month]
    income = sum((amount(r) for r in rows if amount(r) > 0), Decimal(0))
    spent = sum((-amount(r) for r in rows if amount(r) < 0), Decimal(0))
    return {"income": cents(income), "expenses": cents(spent), "net": cents(income - spent),
            "count": len(rows)}


def summary(rows, month):
    rows = [r for r in rows if month_of(r) == month]
    return {"month": month, "count": len(rows),
            "currencies": [{"currency": c, **totals(in_currency(rows, c), month)}
                           for c in currencies(rows)]}


def spending_by(rows, index, month=None):
    """{key: (total spent, count)} over expense rows, key = row[index]."""
    totals = defaultdict(lambda: [Decimal(0), 0])
    for r in rows:
        if amount(r) < 0 and (month is None or month_of(r) == month):
            totals[r[index]][0] += -amount(r)
            totals[r[index]][1] += 1
    return totals


def categories(rows, month, currency=None):
    currency = currency or main_currency(rows)
    totals = spending_by(in_currency(rows, currency), 4, month)
    order = sorted(totals, key=lambda c: (-totals[c][0], c is None, c or ""))
    return {"month": month, "currency": currency,
            "categories": [{"category": c, "total": cents(totals[c][0]), "count": totals[c][1]}
                           for c in order]}


def merchants(rows, month, limit, currency=None):
    currency = currency or main_currency(rows)
    totals = spending_by(in_currency(rows, currency), 3, month)
    totals.pop(None, None)
    order = sorted(totals, key=lambda m: (-totals[m][0], m))[:limit]
    return {"month": month, "currency": currency,
            "merchants": [{"merchant": m, "total": cents(totals[m][0]), "count": totals[m][1]}
                          for m in order]}


def trends(rows, months, currency=None):
    """The trend ends with the latest month of any currency's rows."""
    currency = currency or main_currency(rows)
    last = max(month_of(r) for r in rows)
    year, mon = map(int, last.split("-"))
    wanted = []
    for _ in range(months):
        wanted.insert(0, f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    mine = in_currency(rows, currency)
    return {"currency": currency,
            "trend": [{"month": m, **{k: v for k, v in totals(mine, m).items() if k != "count"}}
                      for m in wanted]}


def previous_month(month):
    year, mon = map(int, month.split("-"))
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def currency_order(rows, month):
    """Currencies as an explanation of `month` lists them: the month's biggest first, then
    those only the month before had."""
    now = currencies([r for r in rows if month_of(r) == month])
    before = currencies([r for r in rows if month_of(r) == previous_month(month)])
    return now + [c for c in before if c not in now]


def drivers(rows, month, index, kind, limit=5):
    """Per currency (see currency_order), up to `limit` of each."""
    return [driver for currency in currency_order(rows, month)
            for driver in currency_drivers(in_currency(rows, currency), currency, month, index,
                                           kind, limit)]


def currency_drivers(rows, currency, month, index, kind, limit):
    now, before = spending_by(rows, index, month), spending_by(rows, index, previous_month(month))
    keys = (set(now) | set(before)) - ({None} if kind == "merchant" else set())
    deltas = {k: now.get(k, [Decimal(0)])[0] - before.get(k, [Decimal(0)])[0] for k in keys}
    order = sorted((k for k in keys if deltas[k] != 0),
                   key=lambda k: (-abs(deltas[k]), k is None, k or ""))[:limit]
    return [{"kind": kind, "currency": currency, "name": k, "current": cents(now.get(k, [0])[0]),
             "previous": cents(before.get(k, [0])[0]), "delta": cents(deltas[k])}
            for k in order]


def new_recurring(rows, month, tolerance=Decimal("0.10")):
    return [found for currency in currency_order(rows, month)
            for found in currency_new_recurring(in_currency(rows, currency), currency, month,
                                                tolerance)]


def currency_new_recurring(rows, currency, month, tolerance):
    previous = previous_month(month)
    found = []
    for merchant in sorted({r[3] for r in rows if r[3] and amount(r) < 0}):
        charges = [r for r in rows if r[3] == merchant and amount(r) < 0]
        now = [r for r in charges if month_of(r) == month]
        before = [r for r in charges if month_of(r) == previous]
        earlier = [r for r in charges if month_of(r) < previous]
        if len(now) == 1 and len(before) == 1 and not earlier:
            a, b = -amount(now[0]), -amount(before[0])
            if abs(a - b) <= tolerance * b:
                found.append({"merchant": merchant, "currency": currency,
                              "category": now[0][4], "amount": cents(a),
                              "previous_amount": cents(b)})
    return sorted(found, key=lambda f: (-Decimal(f["amount"]), f["merchant"]))


def peer_stats(rows, row):
    """Count, average, median, min, max size of the other rows in its currency of the same
    sign at the same merchant (in the same category when the row has no merchant)."""
    index = 3 if row[3] else 4
    expense = amount(row) < 0
    sizes = [abs(amount(r)) for r in in_currency(rows, currency_of(row))
             if row[index] is not None and r is not row
             and r[index] == row[index] and (amount(r) < 0) == expense]
    if not sizes:
        return {"others": 0, "average": None, "median": None, "min": None, "max": None}
    return {"others": len(sizes), "average": cents(sum(sizes) / len(sizes)),
            "median": cents(median(sizes)), "min": cents(min(sizes)), "max": cents(max(sizes))}


def month_explanation(rows, month):
    """explain_month without its headline."""
    return {"month": month, "previous_month": previous_month(month),
            "drivers": drivers(rows, month, 4, "category") + drivers(rows, month, 3, "merchant"),
            "new_recurring": new_recurring(rows, month)}


# --- checks of the app's answers against the reference -------------------------------------

def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json


def check_every_chart(client, rows, months=MONTHS):
    """Every chart endpoint, for every month of the fixture, in every currency, against the
    reference."""
    for month in months:
        by_currency = get(client, f"/api/charts/summary?month={month}")
        assert by_currency == summary(rows, month)
        for block in by_currency["currencies"]:
            currency = block["currency"]
            by_category = get(client, f"/api/charts/categories?month={month}&currency={currency}")
            assert by_category == categories(rows, month, currency), (month, currency)
            # The category totals break down the month's expenses in that currency exactly.
            assert (sum((Decimal(c["total"]) for c in by_category["categories"]), Decimal(0))
                    == Decimal(block["expenses"]))
        # Without a currency: the main one.
        assert get(client, f"/api/charts/categories?month={month}") == categories(rows, month)
    for currency in (None, *currencies(rows)):
        also = f"&currency={currency}" if currency else ""
        for length in (1, 3, 6, 12, 36):
            assert (get(client, f"/api/charts/trends?months={length}{also}")
                    == trends(rows, length, currency))
        for month in (None, *months):
            for limit in (1, 3, 50):
                query = f"limit={limit}" + (f"&month={month}" if month else "") + also
                assert (get(client, f"/api/charts/merchants?{query}")
                        == merchants(rows, month, limit, currency)), query


def check_month_explanations(client, rows, months=MONTHS):
    for month in months:
        got = get(client, f"/api/explain/month/{month}")
        headline = got.pop("headline")
        assert got == month_explanation(rows, month), month
        month_summary = summary(rows, month)
        for block in month_summary["currencies"]:
            for key in ("expenses", "income"):
                assert f"{block[key]} {block['currency']}" in headline
        if not month_summary["count"]:
            assert headline == f"No transactions in {month}."


def check_transaction_explanations(client, rows, ids):
    for row, tx_id in zip(rows, ids):
        got = get(client, f"/api/explain/transactions/{tx_id}")
        assert got["transaction"]["id"] == tx_id
        assert got["transaction"]["amount"] == row[1]
        stats = peer_stats(rows, row)
        assert {k: got[k] for k in stats} == stats, row
