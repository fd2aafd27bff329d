"""Explanations: why a month looks the way it does, and how one transaction compares.

Same conventions as `charts.service` (money as decimal strings, spending as positive
magnitudes, one SQL aggregate per question over `scope()`d rows, cached per namespace), and
like with like: an amount is only ever compared with, or added to, amounts in its currency.

- Drivers of a month: per currency, the categories and the merchants whose spending changed
  most against the previous month (up to DRIVER_LIMIT of each per currency, categories
  first, currencies biggest first, each list ordered by the size of the change; unchanged
  ones are left out).
- A *new recurring charge* in month M: a merchant that charged exactly once in M and exactly
  once in the month before, in one currency, amounts within RECURRING_TOLERANCE of each
  other, and never before that (no visible expense at that merchant in that currency
  earlier) — a subscription that started.
- A transaction is compared with the other visible rows in its currency of the same sign
  (expense or income) at the same merchant — or in the same category when it has no merchant.

The sentences (a month's headline, a transaction's summary) are written outside the cache
by one function each, with the caller's way of writing money: `plain_money` ("12.34 EUR")
for JSON, the Babel filter (money_display.py) on pages.
"""
from collections import defaultdict
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


def plain_money(amount, currency):
    """Money in a sentence of JSON: "12.34 EUR"."""
    return f"{amount} {currency}"


def explain_month(month, write_money=plain_money, account=None):
    """{month, headline, previous_month, drivers, new_recurring} for `month` (of one
    account's rows when `account` is an account id: see charts.service); the headline's
    amounts written by `write_money(amount, currency)`."""
    valid_month(month)
    previous = shift(month, -1)
    now, before = month_summary(month, account), month_summary(previous, account)

    def build():
        # Currencies biggest first: this month's, then those only the month before had.
        order = [block["currency"] for block in now["currencies"] + before["currencies"]]
        return {
            "month": month,
            "previous_month": previous,
            "drivers": (
                _spending_changes(Transaction.category, "category", month, order, account)
                + _spending_changes(Transaction.merchant, "merchant", month, order, account)),
            "new_recurring": _new_recurring(month, order, account),
        }
    return {"headline": headline(now, before, write_money),
            **cached(account_key(f"explain:month:{month}", account), build)}


def headline(now, before, write_money=plain_money):
    """A sentence per currency of the month `now` (month summaries), against the same
    currency in the month `before`."""
    if now["count"] == 0:
        return f"No transactions in {now['month']}."
    earlier_blocks = {block["currency"]: block for block in before["currencies"]}
    sentences = []
    for block in now["currencies"]:
        currency = block["currency"]
        text = (f"In {now['month']} you spent {write_money(block['expenses'], currency)} and "
                f"received {write_money(block['income'], currency)}")
        earlier_block = earlier_blocks.get(currency)
        if before["count"] == 0:
            sentences.append(f"{text}.")
            continue
        if earlier_block is None:
            sentences.append(f"{text}; there are no {currency} transactions in "
                             f"{before['month']} to compare with.")
            continue
        spent, earlier = Decimal(block["expenses"]), Decimal(earlier_block["expenses"])
        change = spent - earlier
        if change == 0:
            sentences.append(f"{text}; spending was the same as in {before['month']}.")
            continue
        direction = "more" if change > 0 else "less"
        percent = f" ({abs(change) / earlier:.0%})" if earlier else ""
        sentences.append(f"{text}; that is {write_money(money(abs(change)), currency)}{percent} "
                         f"{direction} spending than in {before['month']}.")
    if before["count"] == 0:
        sentences.append(f"There are no transactions in {before['month']} to compare with.")
    return " ".join(sentences)


def _when(condition, value):
    return case((condition, value), else_=0)


def _by_currency(items, order, limit=None):
    """`items` (dicts with a currency, each currency's in their order) grouped by currency
    in `order`, at most `limit` of each."""
    groups = defaultdict(list)
    for item in items:
        if limit is None or len(groups[item["currency"]]) < limit:
            groups[item["currency"]].append(item)
    return [item for currency in sorted(groups, key=lambda c: (order + [c]).index(c))
            for item in groups[currency]]


def _spending_changes(column, kind, month, order, account):
    """The `column` values (category or merchant) whose spending in a currency changed most
    since the previous month: [{kind, currency, name, current, previous, delta}]."""
    first, last = bounds(month)
    is_current = Transaction.date >= first
    current = money_sum(_when(is_current, -Transaction.amount)).label("current")
    previous = money_sum(_when(~is_current, -Transaction.amount)).label("previous")
    # Rounded to cents: SQLite adds floats, so "no change" may come out as 1e-15.
    change = func.round(func.abs(current - previous), 2)
    stmt = (select(Transaction.currency, column, current, previous)
            .where(Transaction.amount < 0, Transaction.date >= bounds(shift(month, -1))[0],
                   Transaction.date <= last)
            .group_by(Transaction.currency, column)
            .having(change > 0)
            .order_by(change.desc(), column.asc().nulls_last()))
    if kind == "merchant":
        stmt = stmt.where(column.is_not(None))
    return _by_currency(
        [{"kind": kind, "currency": currency, "name": name, "current": money(now),
          "previous": money(before), "delta": money(now - before)}
         for currency, name, now, before in db.session.execute(
             scope(narrowed(stmt, account))).all()],
        order, limit=DRIVER_LIMIT)


def _new_recurring(month, order, account):
    """[{merchant, currency, category, amount, previous_amount}]: new recurring charges (see
    above)."""
    first, last = bounds(month)
    previous_first = bounds(shift(month, -1))[0]
    is_current = Transaction.date >= first
    is_previous = and_(Transaction.date >= previous_first, Transaction.date < first)
    amount = money_sum(_when(is_current, -Transaction.amount)).label("amount")
    previous_amount = money_sum(_when(is_previous, -Transaction.amount)).label("previous_amount")
    stmt = (select(Transaction.merchant, Transaction.currency, func.max(Transaction.category),
                   amount, previous_amount)
            .where(Transaction.amount < 0, Transaction.merchant.is_not(None),
                   Transaction.date <= last)
            .group_by(Transaction.merchant, Transaction.currency)
            .having(func.sum(_when(is_current, 1)) == 1,
                    func.sum(_when(is_previous, 1)) == 1,
                    func.min(Transaction.date) >= previous_first,
                    func.abs(amount - previous_amount) <= RECURRING_TOLERANCE * previous_amount)
            .order_by(amount.desc(), Transaction.merchant.asc()))
    return _by_currency(
        [{"merchant": merchant, "currency": currency, "category": category,
          "amount": money(now), "previous_amount": money(before)}
         for merchant, currency, category, now, before in db.session.execute(
             scope(narrowed(stmt, account))).all()],
        order)


def explain_transaction(tx_id, write_money=plain_money):
    """How transaction `tx_id` compares with the usual amount in its currency at its
    merchant (404 when this request may not see it); the summary's amounts written by
    `write_money(amount, currency)`."""
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
        stats = _peer_stats(tx, [*peers, Transaction.currency == tx.currency]) if peers \
            else EMPTY_STATS
        return {"transaction": to_json(tx), "kind": kind, "compared_with": basis, **stats,
                **_verdict(tx, basis, stats)}
    explanation = cached(f"explain:transaction:{tx_id}", build)
    return {**explanation, "summary": transaction_summary(explanation, write_money)}


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


def _verdict(tx, basis, stats):
    """{ratio, verdict}: the transaction against the median of its peers."""
    if basis is None:
        return {"ratio": None, "verdict": "no_basis"}
    if not stats["others"]:
        return {"ratio": None, "verdict": "first"}
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
    return {"ratio": None if ratio is None else str(ratio), "verdict": verdict}


def transaction_summary(explanation, write_money=plain_money):
    """The verdict of `explanation` (explain_transaction's) in a sentence."""
    verdict, basis = explanation["verdict"], explanation["compared_with"]
    if verdict == "no_basis":
        return "This transaction has no merchant or category to compare it with."
    where = f"{'at' if basis['kind'] == 'merchant' else 'in'} {basis['name']}"
    noun = "payment" if explanation["kind"] == "expense" else "incoming payment"
    tx, others = explanation["transaction"], explanation["others"]
    if verdict == "first":
        # Peers are rows in the same currency: others in another one do not count.
        return (f"The first {noun} in {tx['currency']} {where}: nothing to compare it with "
                "yet.")
    if verdict == "usual":
        text = "About the usual amount"
    elif explanation["ratio"] is not None:
        text = f"{explanation['ratio']}× the usual amount"
    else:
        text = "More than usual"
    size = money(abs(Decimal(tx["amount"])))
    return (f"{text}: {write_money(size, tx['currency'])} against a median of "
            f"{write_money(explanation['median'], tx['currency'])} over {others} other "
            f"{noun}{'s' if others > 1 else ''} {where}.")

