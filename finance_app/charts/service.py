"""Analytics: the numbers behind the dashboard charts and the assistant's summary tools.

Conventions of every function here:
- money is a decimal string ("12.34"), months are "YYYY-MM";
- a row's sign says what it is: amount > 0 is income (refunds included), amount < 0 an
  expense. `expenses` and every spending `total` are positive magnitudes, and
  `net = income - expenses`;
- two currencies are never added together. `month_summary` answers one block per currency
  present in the month; the charts (`category_totals`, `monthly_trends`, `top_merchants`)
  answer in one `currency`, by default the viewer's main one (`main_currency`: the currency of
  most visible rows), and say which. Currencies are ordered biggest first: most rows, then by
  code;
- `category_totals` and `top_merchants` break down spending (expense rows only), so the
  category totals of a month add up to that month's `expenses`. Uncategorised spending is
  the entry with `"category": null`; rows without a merchant are left out of `top_merchants`;
- `monthly_trends(n)` covers the n months ending with the latest month that has visible
  rows (the current month when there are none), months without rows included as zeros.

Each takes `account=None`: an account's id narrows it to that account's rows (the caller
checks the account is visible); its cache key then names the account (`account_key`).

Each answer is one SQL aggregate over `scope()`d rows, cached with `cached()` in the
request's namespace; a write moves that namespace to a new generation, so the next call
after a write rebuilds.
"""
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Integer, Numeric, case, cast, extract, func, select, type_coerce

from flask import current_app

from ..errors import AppError
from ..extensions import db
from ..isolation import cached, scope
from ..models import Transaction
from ..bounds import FIRST_DATE, last_date
from ..months import bounds, current_month, month_of, months_between, representable, shift

MAX_TREND_MONTHS = 36
MAX_MERCHANTS = 50
CENT = Decimal("0.01")
MONEY = Numeric(12, 2)

INCOME = case((Transaction.amount > 0, Transaction.amount), else_=0)
SPENT = case((Transaction.amount < 0, -Transaction.amount), else_=0)


def money_sum(expr):
    """SUM(expr) as Decimal, 0 over no rows. Typed as money so that SQLite's float sums come
    back rounded to cents."""
    return type_coerce(func.coalesce(func.sum(expr), 0), MONEY)


def money(value):
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def valid_month(month):
    """`month` if usable, else a 422 naming the field. Routes validate users' months more
    strictly (`months.Month`); this protects the services from any other caller."""
    try:
        return representable(month)
    except ValueError as exc:
        raise AppError(422, "validation_error", f"month: {exc}", field="month") from None


def in_month(month):
    first, last = bounds(month)
    return (Transaction.date >= first) & (Transaction.date <= last)


def narrowed(stmt, account):
    """`stmt` limited to one account's rows; every visible row when `account` is None."""
    return stmt if account is None else stmt.where(Transaction.account_id == account)


def account_key(key, account):
    return key if account is None else f"{key}:account:{account}"


def latest_month(account=None):
    """The latest month with a visible row dated in the accepted range (`bounds`), or None
    when there is none. A row dated outside — stored before dates were bounded — stays in
    lists for its owner to fix, but no chart, nor the dashboard, opens on year 9999 (whose
    trend would end past the last representable date)."""
    def build():
        day = db.session.execute(scope(narrowed(select(func.max(Transaction.date)).where(
            Transaction.date.between(FIRST_DATE, last_date())), account))).scalar()
        return month_of(day) if day else None
    return cached(account_key("summary:latest-month", account), build)


def default_month(account=None):
    return latest_month(account) or current_month()


def currency_blocks(*columns, where=(), account=None):
    """SELECT currency, *columns, row count over the visible rows matching `where`, one row
    per currency, biggest first (most rows, then by code)."""
    count = func.count(Transaction.id).label("rows")
    return db.session.execute(scope(narrowed(
        select(Transaction.currency, *columns, count).where(*where)
        .group_by(Transaction.currency)
        .order_by(count.desc(), Transaction.currency.asc()), account)
    )).all()


def visible_currencies(account=None):
    """The currencies of the visible rows, biggest first."""
    return cached(account_key("summary:currencies", account),
                  lambda: [row[0] for row in currency_blocks(account=account)])


def main_currency(account=None):
    """The viewer's main currency: the one of most visible rows, the configured default when
    there are none. What a chart is in when its caller names no currency."""
    currencies = visible_currencies(account)
    return currencies[0] if currencies else current_app.config["DEFAULT_CURRENCY"]


def month_summary(month, account=None):
    """{month, count, currencies: [{currency, income, expenses, net, count}]} of the rows dated
    in `month`: one block per currency present, biggest first (`count` counts them all)."""
    valid_month(month)

    def build():
        blocks = [{"currency": currency, "income": money(income), "expenses": money(spent),
                   "net": money(income - spent), "count": count}
                  for currency, income, spent, count in currency_blocks(
                      money_sum(INCOME), money_sum(SPENT), where=[in_month(month)],
                      account=account)]
        return {"month": month, "count": sum(block["count"] for block in blocks),
                "currencies": blocks}
    return cached(account_key(f"summary:{month}", account), build)


def category_totals(month, currency=None, account=None):
    """{month, currency, categories: [{category, total, count}]}: the month's spending in
    `currency` per category, largest first; uncategorised spending has category null."""
    valid_month(month)
    currency = currency or main_currency(account)

    def build():
        total = money_sum(-Transaction.amount).label("total")
        rows = db.session.execute(scope(narrowed(
            select(Transaction.category, total, func.count(Transaction.id))
            .where(in_month(month), Transaction.amount < 0, Transaction.currency == currency)
            .group_by(Transaction.category)
            .order_by(total.desc(), Transaction.category.asc().nulls_last()), account)
        )).all()
        return {"month": month, "currency": currency,
                "categories": [{"category": category, "total": money(spent), "count": count}
                               for category, spent, count in rows]}
    return cached(account_key(f"categories:{month}:{currency}", account), build)


def monthly_trends(months, last=None, currency=None, account=None):
    """{currency, trend: [{month, income, expenses, net}]} in `currency` for `months` months
    ending with `last` (a checked "YYYY-MM"; the latest month with rows when None), oldest
    first."""
    if not 1 <= months <= MAX_TREND_MONTHS:
        raise AppError(422, "validation_error",
                       f"months: must be between 1 and {MAX_TREND_MONTHS}", field="months")

    last = last or default_month(account)
    currency = currency or main_currency(account)

    def build():
        first = shift(last, -(months - 1))
        year = cast(extract("year", Transaction.date), Integer).label("year")
        month_no = cast(extract("month", Transaction.date), Integer).label("month_no")
        rows = db.session.execute(scope(narrowed(
            select(year, month_no, money_sum(INCOME), money_sum(SPENT))
            .where(Transaction.date >= bounds(first)[0], Transaction.date <= bounds(last)[1],
                   Transaction.currency == currency)
            .group_by(year, month_no), account)
        )).all()
        totals = {f"{y:04d}-{m:02d}": (income, spent) for y, m, income, spent in rows}
        trend = []
        for month in months_between(first, last):
            income, spent = totals.get(month, (0, 0))
            trend.append({"month": month, "income": money(income), "expenses": money(spent),
                          "net": money(income - spent)})
        return {"currency": currency, "trend": trend}
    return cached(account_key(f"trends:{months}:{last}:{currency}", account), build)


def top_merchants(month=None, limit=10, currency=None, account=None):
    """{month, currency, merchants: [{merchant, total, count}]}: where the money in `currency`
    went, by merchant, largest first; for one month, or over all visible rows when `month`
    is None."""
    if month is not None:
        valid_month(month)
    if not 1 <= limit <= MAX_MERCHANTS:
        raise AppError(422, "validation_error",
                       f"limit: must be between 1 and {MAX_MERCHANTS}", field="limit")
    currency = currency or main_currency(account)

    def build():
        total = money_sum(-Transaction.amount).label("total")
        stmt = (select(Transaction.merchant, total, func.count(Transaction.id))
                .where(Transaction.amount < 0, Transaction.merchant.is_not(None),
                       Transaction.currency == currency)
                .group_by(Transaction.merchant)
                .order_by(total.desc(), Transaction.merchant.asc())
                .limit(limit))
        if month is not None:
            stmt = stmt.where(in_month(month))
        rows = db.session.execute(scope(narrowed(stmt, account))).all()
        return {"month": month, "currency": currency,
                "merchants": [{"merchant": merchant, "total": money(spent), "count": count}
                              for merchant, spent, count in rows]}
    return cached(account_key(f"merchants:{month or 'all'}:{limit}:{currency}", account), build)
