"""Explanations: why a month looks the way it does, and how one transaction compares.

Same conventions as `charts.service` (money as decimal strings, spending as positive
magnitudes, one SQL aggregate per question over `scope()`d rows, cached per namespace).

- Drivers of a month: the categories and the merchants whose spending changed most against
  the previous month (up to DRIVER_LIMIT of each, categories first, each list ordered by the
  size of the change; unchanged ones are left out).
- A *new recurring charge* in month M: a merchant that charged exactly once in M and exactly
  once in the month before, amounts within RECURRING_TOLERANCE of each other, and never
  before that (no visible expense at that merchant earlier) — a subscription that started.
- A transaction is compared with the other visible rows of the same sign (expense or income)
  at the same merchant — or in the same category when it has no merchant.
"""
from decimal import Decimal

from sqlalchemy import and_, case, func, select, type_coerce

from ..months import bounds, shift
from ..charts.service import (
    CENT,
    MONEY,
    account_key,
    money,
    money_sum,
    month_summary,
    narrowed,
    valid_month,
)
from ..extensions import db
from ..isolation import cached, owned_or_404, scope
from ..models import Transaction
from ..transactions.service import to_json

DRIVER_LIMIT = 5
RECURRING_TOLERANCE = Decimal("0.10")
# A transaction within these ratios of the usual amount is "usual".
USUAL_RANGE = (Decimal("0.8"), Decimal("1.25"))


def explain_month(month, account=None):
    """{month, headline, previous_month, drivers, new_recurring} for `month` (of one
    account's rows when `account` is an account id: see charts.service)."""
    valid_month(month)

    def build():
        previous = shift(month, -1)
        now, before = month_summary(month, account), month_summary(previous, account)
        return {
            "month": month,
            "headline": _headline(now, before),
            "previous_month": previous,
            "drivers": (_spending_changes(Transaction.category, "category", month, account)
                        + _spending_changes(Transaction.merchant, "merchant", month, account)),
            "new_recurring": _new_recurring(month, account),
        }
    return cached(account_key(f"explain:month:{month}", account), build)


def _headline(now, before):
    if now["count"] == 0:
        return f"No transactions in {now['month']}."
    spent, earlier = Decimal(now["expenses"]), Decimal(before["expenses"])
    text = f"In {now['month']} you spent {now['expenses']} and received {now['income']}"
    if before["count"] == 0:
        return f"{text}; there are no transactions in {before['month']} to compare with."
    change = spent - earlier
    if change == 0:
        return f"{text}; spending was the same as in {before['month']}."
    direction = "more" if change > 0 else "less"
    percent = f" ({abs(change) / earlier:.0%})" if earlier else ""
    return (f"{text}; that is {money(abs(change))}{percent} {direction} spending than in "
            f"{before['month']}.")


def _when(condition, value):
    return case((condition, value), else_=0)


def _spending_changes(column, kind, month, account):
    """The `column` values (category or merchant) whose spending changed most since the
    previous month: [{kind, name, current, previous, delta}]."""
    first, last = bounds(month)
    is_current = Transaction.date >= first
    current = money_sum(_when(is_current, -Transaction.amount)).label("current")
    previous = money_sum(_when(~is_current, -Transaction.amount)).label("previous")
    # Rounded to cents: SQLite adds floats, so "no change" may come out as 1e-15.
    change = func.round(func.abs(current - previous), 2)
    stmt = (select(column, current, previous)
            .where(Transaction.amount < 0, Transaction.date >= bounds(shift(month, -1))[0],
                   Transaction.date <= last)
            .group_by(column)
            .having(change > 0)
            .order_by(change.desc(), column.asc().nulls_last())
            .limit(DRIVER_LIMIT))
    if kind == "merchant":
        stmt = stmt.where(column.is_not(None))
    return [{"kind": kind, "name": name, "current": money(now), "previous": money(before),
             "delta": money(now - before)}
            for name, now, before in db.session.execute(scope(narrowed(stmt, account))).all()]


def _new_recurring(month, account):
    """[{merchant, category, amount, previous_amount}]: new recurring charges (see above)."""
    first, last = bounds(month)
    previous_first = bounds(shift(month, -1))[0]
    is_current = Transaction.date >= first
    is_previous = and_(Transaction.date >= previous_first, Transaction.date < first)
    amount = money_sum(_when(is_current, -Transaction.amount)).label("amount")
    previous_amount = money_sum(_when(is_previous, -Transaction.amount)).label("previous_amount")
    stmt = (select(Transaction.merchant, func.max(Transaction.category), amount, previous_amount)
            .where(Transaction.amount < 0, Transaction.merchant.is_not(None),
                   Transaction.date <= last)
            .group_by(Transaction.merchant)
            .having(func.sum(_when(is_current, 1)) == 1,
                    func.sum(_when(is_previous, 1)) == 1,
                    func.min(Transaction.date) >= previous_first,
                    func.abs(amount - previous_amount) <= RECURRING_TOLERANCE * previous_amount)
            .order_by(amount.desc(), Transaction.merchant.asc()))
    return [{"merchant": merchant, "category": category, "amount": money(now),
             "previous_amount": money(before)}
            for merchant, category, now, before in db.session.execute(
                scope(narrowed(stmt, account))).all()]


def explain_transaction(tx_id):
    """How transaction `tx_id` compares with the usual amount at its merchant (404 when
    this request may not see it)."""
    # Ownership first, on every request: a cached explanation must never answer for a row
    # this request may not see (or that no longer exists).
    tx = owned_or_404(Transaction, tx_id)

    def build():
        kind = "expense" if tx.amount < 0 else "income"
        if tx.merchant:
            basis = {"kind": "merchant", "name": tx.merchant}
            peers = [Transaction.merchant == tx.merchant]
        elif tx.category:
            basis = {"kind": "category", "name": tx.category}
            peers = [Transaction.category == tx.category]
        else:
            basis, peers = None, None
        stats = _peer_stats(tx, peers) if peers else EMPTY_STATS
        return {"transaction": to_json(tx), "kind": kind, "compared_with": basis, **stats,
                **_verdict(tx, kind, basis, stats)}
    return cached(f"explain:transaction:{tx_id}", build)


EMPTY_STATS = {"others": 0, "average": None, "median": None, "min": None, "max": None}


def _peer_stats(tx, peers):
    """Count, average, median, min and max size of the other rows like `tx` (same sign)."""
    same_sign = Transaction.amount < 0 if tx.amount < 0 else Transaction.amount >= 0
    where = [*peers, same_sign, Transaction.id != tx.id]
    size = type_coerce(func.abs(Transaction.amount), MONEY)
    # The average from the exact sum (SQLite's AVG is a float that can round either way).
    count, total, low, high = db.session.execute(scope(
        select(func.count(Transaction.id), money_sum(size),
               type_coerce(func.min(size), MONEY), type_coerce(func.max(size), MONEY))
        .where(*where)
    )).one()
    if not count:
        return EMPTY_STATS
    # The median without a percentile function (SQLite has none): the middle one or two.
    middle = db.session.execute(scope(
        select(size).where(*where).order_by(size)
        .offset((count - 1) // 2).limit(2 - count % 2)
    )).scalars().all()
    median = sum(middle, Decimal(0)) / len(middle)
    return {"others": count, "average": money(total / count), "median": money(median),
            "min": money(low), "max": money(high)}


def _verdict(tx, kind, basis, stats):
    """{ratio, verdict, summary}: the transaction against the median of its peers."""
    if basis is None:
        return {"ratio": None, "verdict": "no_basis",
                "summary": "This transaction has no merchant or category to compare it with."}
    where = f"{'at' if basis['kind'] == 'merchant' else 'in'} {basis['name']}"
    noun = "payment" if kind == "expense" else "incoming payment"
    if not stats["others"]:
        return {"ratio": None, "verdict": "first",
                "summary": f"The first {noun} {where}: nothing to compare it with yet."}
    size, median = abs(tx.amount), Decimal(stats["median"])
    ratio = (size / median).quantize(CENT) if median else None
    if ratio is None:
        verdict = "higher" if size else "usual"
    elif ratio > USUAL_RANGE[1]:
        verdict = "higher"
    elif ratio < USUAL_RANGE[0]:
        verdict = "lower"
    else:
        verdict = "usual"
    if verdict == "usual":
        text = "About the usual amount"
    else:
        text = f"{ratio}× the usual amount" if ratio is not None else "More than usual"
    others = stats["others"]
    return {"ratio": None if ratio is None else str(ratio), "verdict": verdict,
            "summary": (f"{text}: {money(size)} against a median of {stats['median']} over "
                        f"{others} other {noun}{'s' if others > 1 else ''} {where}.")}
