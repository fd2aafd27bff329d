"""The signed-in home page: one month of the visible ledger at a glance — summary cards,
charts (the trend ending with that month), the month's explanation and its latest rows; the
upload panel when there are none. `?account=<id>` narrows every figure to one account."""
from flask import Blueprint, flash, render_template, request

from ..accounts.service import get_account, list_accounts
from ..charts import service as charts
from ..months import checked_month, shift
from ..explain.service import explain_month
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..transactions.service import Filters, count_transactions, transactions_page

bp = Blueprint("dashboard", __name__)

TREND_MONTHS = 12
MERCHANTS_SHOWN = 8
RECENT_ROWS = 10


@bp.get("/")
@access(DATA)
def index():
    account = _chosen_account()
    count = count_transactions(Filters())  # anything visible at all (a cached total)
    if count == 0:
        return render_template("dashboard/index.html", count=0, isolated=isolation_on())
    if account is not None:
        count = count_transactions(Filters(account=account.id))
    account_id = account and account.id
    latest = charts.default_month(account_id)
    month, status = request.args.get("month") or latest, 200
    try:
        checked_month(month)
    except ValueError as exc:
        # The latest month, with the message: never a redirect, which could only come back
        # here (and, were the latest month itself refused, go round for ever).
        flash(f"Month: {exc}", "error")
        month, status = latest, 400
    chart_data = {
        "trends": charts.monthly_trends(TREND_MONTHS, last=month, account=account_id),
        "categories": charts.category_totals(month, account_id),
        "merchants": charts.top_merchants(month, MERCHANTS_SHOWN, account_id),
    }
    return render_template(
        "dashboard/index.html", count=count, isolated=isolation_on(),
        recent=transactions_page(Filters(month=month, limit=RECENT_ROWS, account=account_id)),
        month=month, previous_month=shift(month, -1),
        next_month=shift(month, 1) if month < latest else None,
        summary=charts.month_summary(month, account_id),
        explanation=explain_month(month, account_id), chart_data=chart_data,
        account=account, accounts=list_accounts(),
    ), status


def _chosen_account():
    """The account `?account=` names (a visible one: 404 otherwise), or None for all."""
    raw = request.args.get("account", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise AppError(404, "not_found", f"No account with id {raw}.")
    return get_account(int(raw))
