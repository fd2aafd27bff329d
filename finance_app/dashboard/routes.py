"""The signed-in home page: one month of the visible ledger at a glance — summary cards,
charts (the trend ending with that month), the month's explanation and its latest rows; the
upload panel when there are none. `?account=<id>` narrows every figure to one account."""
from flask import Blueprint, flash, render_template, request

from ..accounts.service import get_account, list_accounts
from ..budgets.service import progress_for
from ..charts import service as charts
from ..errors import AppError
from ..months import checked_month, shift
from ..isolation import DATA, access, isolation_on
from ..transactions.service import Filters, count_transactions
from . import service

bp = Blueprint("dashboard", __name__)


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
    currency = (request.args.get("currency") or "").upper() or None
    if currency is not None and currency not in service.chart_currencies(account_id):
        flash(f"Currency: there are no transactions in {currency!r} to draw.", "error")
        currency, status = None, 400
    return render_template(
        "dashboard/index.html", count=count, isolated=isolation_on(),
        month=month, previous_month=shift(month, -1),
        next_month=shift(month, 1) if month < latest else None,
        **service.month_view(month, currency, account_id),
        budget_progress_rows=progress_for(month), account=account, accounts=list_accounts(),
    ), status


def _chosen_account():
    """The account `?account=` names (a visible one: 404 otherwise), or None for all."""
    raw = request.args.get("account", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise AppError(404, "not_found", f"No account with id {raw}.")
    return get_account(int(raw))
