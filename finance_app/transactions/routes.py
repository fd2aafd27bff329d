"""Transactions: JSON under /api/transactions, and the web pages under /transactions."""
from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from pydantic import ValidationError

from ..accounts.service import visible_accounts
from ..api import parse_body, parse_query, validation_error
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..openapi import documented
from . import service
from .forms import EditForm, TransactionForm
from .service import Filters, TransactionIn, TransactionOut, TransactionPage, TransactionPatch

bp = Blueprint("transactions", __name__)
api_bp = Blueprint("transactions_api", __name__, url_prefix="/api/transactions")


@api_bp.get("")
@access(DATA)
@documented(query=Filters, response=TransactionPage)
def api_list():
    """The caller's visible transactions, filtered, sorted and paginated."""
    filters = parse_query(Filters)
    items, total = service.list_transactions(filters)
    listed = [service.to_json(t) for t in items]
    if filters.account:  # one account: each row with the account's balance after it
        balances = service.running_balances(filters.account, items)
        for row in listed:
            row["running_balance"] = str(balances[row["id"]])
    return jsonify(items=listed, total=total, limit=filters.limit, offset=filters.offset)


@api_bp.post("")
@access(DATA)
@documented(body=TransactionIn, response=TransactionOut, status=201)
def api_create():
    """Create a transaction owned by the caller."""
    tx = service.create_transaction(parse_body(TransactionIn),
                                    current_app.config["DEFAULT_CURRENCY"])
    return jsonify(service.to_json(tx)), 201


@api_bp.get("/<int:tx_id>")
@access(DATA)
@documented(response=TransactionOut)
def api_get(tx_id):
    """One transaction (404 if the caller cannot see it)."""
    return jsonify(service.to_json(service.get_transaction(tx_id)))


@api_bp.patch("/<int:tx_id>")
@access(DATA)
@documented(body=TransactionPatch, response=TransactionOut)
def api_update(tx_id):
    """Change some fields of a transaction."""
    return jsonify(service.to_json(service.update_transaction(tx_id, parse_body(TransactionPatch))))


@api_bp.delete("/<int:tx_id>")
@access(DATA)
@documented(status=204)
def api_delete(tx_id):
    """Delete a transaction."""
    service.delete_transaction(tx_id)
    return "", 204


# --- web ------------------------------------------------------------------------------------

def _web_filters():
    try:
        return Filters.model_validate(request.args.to_dict()), None
    except ValidationError as exc:
        return Filters(), validation_error(exc).description


def _back_to_list():
    target = request.form.get("next", "")
    return target if target.startswith("/transactions") else url_for("transactions.index")


@bp.get("/transactions")
@access(DATA)
def index():
    filters, error = _web_filters()
    items, total = ([], 0) if error else service.list_transactions(filters)
    balances = service.running_balances(filters.account, items) if filters.account else None
    return render_template(
        "transactions/index.html", filters=filters, error=error, items=items, total=total,
        categories=service.visible_categories(), isolated=isolation_on(),
        accounts=visible_accounts(), balances=balances,
    ), 400 if error else 200


def _list_showing(tx):
    """The list's page that shows `tx`, scrolled to its row."""
    offset = service.page_offset_of(tx)
    return url_for("transactions.index", **({"offset": offset} if offset else {})) + f"#tx-{tx.id}"


def _form_page(form, title, tx=None):
    status = 400 if request.method == "POST" else 200  # here after a POST: it was refused
    return render_template("transactions/form.html", form=form, title=title, tx=tx,
                           categories=service.visible_categories()), status


@bp.route("/transactions/new", methods=["GET", "POST"])
@access(DATA)
def new():
    """Manual entry: the same create as POST /api/transactions."""
    form = TransactionForm()
    default_currency = current_app.config["DEFAULT_CURRENCY"]
    if request.method == "GET":
        form.date.data = date.today().isoformat()
        form.currency.data = default_currency
    elif (body := form.to_body(TransactionIn)) is not None:
        tx = service.create_transaction(body, default_currency)
        flash(f"Added “{tx.description}”.", "success")
        return redirect(_list_showing(tx))
    return _form_page(form, "Add transaction")


@bp.route("/transactions/<int:tx_id>/edit", methods=["GET", "POST"])
@access(DATA)
def edit(tx_id):
    """One row's fields: the same update as PATCH /api/transactions/<id>."""
    tx = service.get_transaction(tx_id)
    form = EditForm()
    if request.method == "GET":
        form.fill_from(tx)
    elif (body := form.to_body(TransactionPatch)) is not None:
        tx = service.update_transaction(tx_id, body)
        flash(f"Saved “{tx.description}”.", "success")
        return redirect(_list_showing(tx))
    return _form_page(form, "Edit transaction", tx)


@bp.post("/transactions/<int:tx_id>/category")
@access(DATA)
def set_category(tx_id):
    category = (request.form.get("category") or "").strip()
    if len(category) > 100:
        flash("Categories are at most 100 characters.", "error")
        return redirect(_back_to_list())
    service.update_transaction(tx_id, TransactionPatch(category=category or None))
    flash("Category saved.", "success")
    # Back to the row just edited, not the top of a long page.
    return redirect(f"{_back_to_list()}#tx-{tx_id}")


@bp.route("/transactions/<int:tx_id>/delete", methods=["GET", "POST"])
@access(DATA)
def delete(tx_id):
    tx = service.get_transaction(tx_id)
    if request.method == "GET":
        return render_template("transactions/confirm_delete.html", tx=tx,
                               next=request.args.get("next", ""))
    service.delete_transaction(tx_id)
    flash(f"Deleted “{tx.description}”.", "success")
    return redirect(_back_to_list())


@bp.get("/transactions/export.csv")
@access(DATA)
def export():
    filters, error = _web_filters()
    if error:
        raise AppError(422, "validation_error", error)
    return Response(
        stream_with_context(service.export_csv(filters)), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
    )
