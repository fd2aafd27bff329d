"""The signed-in home page: one month of the visible ledger at a glance — summary cards,
charts, the month's explanation and the latest rows; the upload panel when there are none."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..charts import service as charts
from ..months import checked_month, shift
from ..explain.service import explain_month
from ..isolation import DATA, access, isolation_on
from ..transactions.service import Filters, list_transactions

bp = Blueprint("dashboard", __name__)

TREND_MONTHS = 12
MERCHANTS_SHOWN = 8
RECENT_ROWS = 10


@bp.get("/")
@access(DATA)
def index():
    recent, count = list_transactions(Filters(limit=RECENT_ROWS))
    if count == 0:
        return render_template("dashboard/index.html", count=0, isolated=isolation_on())
    latest = charts.default_month()
    month = request.args.get("month") or latest
    try:
        checked_month(month)
    except ValueError as exc:
        flash(f"Month: {exc}", "error")
        return redirect(url_for("dashboard.index"))
    chart_data = {
        "trends": charts.monthly_trends(TREND_MONTHS),
        "categories": charts.category_totals(month),
        "merchants": charts.top_merchants(month, MERCHANTS_SHOWN),
    }
    return render_template(
        "dashboard/index.html", count=count, isolated=isolation_on(), recent=recent,
        month=month, previous_month=shift(month, -1),
        next_month=shift(month, 1) if month < latest else None,
        summary=charts.month_summary(month), explanation=explain_month(month),
        chart_data=chart_data,
    )
