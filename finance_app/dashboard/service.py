"""What the dashboard shows of one month: the summary per currency, the charts in one
currency, the month explained, its latest rows.

Two currencies are never added: the summary has one block per currency present in the
month (biggest first), and the charts are drawn in one currency at a time — the one the
viewer picked, else the month's biggest (the viewer's main currency when the month is empty).
"""
from ..charts import service as charts
from ..explain.service import explain_month
from ..money_display import format_money, request_locale
from ..transactions.service import Filters, transactions_page

TREND_MONTHS = 12
MERCHANTS_SHOWN = 8
RECENT_ROWS = 10


def chart_currencies(account=None):
    """The currencies a viewer can draw the charts in: those of the visible rows (of one
    account's, when `account` is an account id)."""
    return charts.visible_currencies(account)


def month_view(month, currency=None, account=None):
    """The template's values for `month`, the charts in `currency` (a visible currency, or
    None for the default), every figure narrowed to one account when `account` is an
    account id."""
    summary = charts.month_summary(month, account)
    picked = currency
    currency = currency or next((block["currency"] for block in summary["currencies"]),
                                charts.main_currency(account))
    return {
        "summary": summary,
        "picked_currency": picked,
        "chart_currency": currency,
        "chart_currencies": chart_currencies(account),
        "chart_data": {
            "trends": charts.monthly_trends(TREND_MONTHS, last=month, currency=currency,
                                            account=account),
            "categories": charts.category_totals(month, currency, account),
            "merchants": charts.top_merchants(month, MERCHANTS_SHOWN, currency, account),
        },
        "explanation": explain_month(month, format_money, account),
        "recent": transactions_page(Filters(month=month, limit=RECENT_ROWS, account=account)),
        "money_locale": request_locale(),  # the charts' axes write money as the page does
    }
