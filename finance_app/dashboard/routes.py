"""The signed-in home page: one month of the visible ledger at a glance — summary cards,
charts (the trend ending with that month), the month's explanation and its latest rows; the
upload panel when there are none."""
from flask import Blueprint, flash, render_template, request

from ..budgets.service import progress_for
from ..charts import service as charts
from ..months import checked_month, shift
from ..isolation import DATA, access, isolation_on
from ..transactions.service import Filters, count_transactions
from . import service

bp = Blueprint("dashboard", __name__)


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
    currency = (request.args.get("currency") or "").upper() or None
    if currency is not None and currency not in service.chart_currencies():
        flash(f"Currency: there are no transactions in {currency!r} to draw.", "error")
        currency, status = None, 400
    return render_template(
        "dashboard/index.html", count=count, isolated=isolation_on(),
        month=month, previous_month=shift(month, -1),
        next_month=shift(month, 1) if month < latest else None,
        **service.month_view(month, currency), budget_progress_rows=progress_for(month),
    ), status
