"""The signed-in home page: one month of the visible ledger at a glance — summary cards,
charts (the trend ending with that month), the month's explanation and its latest rows; the
upload panel when there are none."""
from flask import Blueprint, flash, render_template, request

from ..budgets.service import progress_for
from ..charts import service as charts
from ..months import checked_month, shift
from ..explain.service import explain_month
from ..isolation import DATA, access, isolation_on
from ..transactions.service import Filters, count_transactions, transactions_page

bp = Blueprint("dashboard", __name__)

TREND_MONTHS = 12
MERCHANTS_SHOWN = 8
RECENT_ROWS = 10


@bp.get("/")
@access(DATA)
def index():
    count = count_transactions(Filters())  # anything visible at all (a cached total)
    if count == 0:
        return render_template("dashboard/index.html", count=0, isolated=isolation_on())
    latest = charts.default_month()
    month, status = request.args.get("month") or latest, 200
    try:
        checked_month(month)
    except ValueError as exc:
        # The latest month, with the message: never a redirect, which could only come back
        # here (and, were the latest month itself refused, go round for ever).
        flash(f"Month: {exc}", "error")
        month, status = latest, 400
    chart_data = {
        "trends": charts.monthly_trends(TREND_MONTHS, last=month),
        "categories": charts.category_totals(month),
        "merchants": charts.top_merchants(month, MERCHANTS_SHOWN),
    }
    return render_template(
        "dashboard/index.html", count=count, isolated=isolation_on(),
        recent=transactions_page(Filters(month=month, limit=RECENT_ROWS)),
        month=month, previous_month=shift(month, -1),
        next_month=shift(month, 1) if month < latest else None,
        summary=charts.month_summary(month), explanation=explain_month(month),
        chart_data=chart_data, budget_progress_rows=progress_for(month),
    ), status
