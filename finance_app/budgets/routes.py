"""Budgets: JSON under /api/budgets, and the web page at /budgets."""
from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, \
    url_for
from pydantic import ValidationError

from ..api import parse_body, parse_query, validation_error
from ..charts.service import default_month
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..months import checked_month, shift
from ..openapi import documented
from ..transactions.service import visible_categories
from . import service
from .service import BudgetIn, BudgetMonth, BudgetOut, BudgetPatch, BudgetsQuery

bp = Blueprint("budgets", __name__)
api_bp = Blueprint("budgets_api", __name__, url_prefix="/api/budgets")

FORM_FIELDS = ("category", "amount", "currency", "month")


@api_bp.get("")
@access(DATA)
@documented(query=BudgetsQuery, response=BudgetMonth)
def api_list():
    """The budgets that apply to one month (its own, else the repeating one of each
    category), each with that month's spending in its category and currency."""
    month = parse_query(BudgetsQuery).month or default_month()
    return jsonify(month=month,
                   items=[service.progress_json(p) for p in service.progress_for(month)])


@api_bp.post("")
@access(DATA)
@documented(body=BudgetIn, response=BudgetOut, status=201)
def api_create():
    """Create a budget owned by the caller (409 if its category and month have one)."""
    budget = service.create_budget(parse_body(BudgetIn), current_app.config["DEFAULT_CURRENCY"])
    return jsonify(service.to_json(budget)), 201


@api_bp.get("/<int:budget_id>")
@access(DATA)
@documented(response=BudgetOut)
def api_get(budget_id):
    """One budget (404 if the caller cannot see it)."""
    return jsonify(service.to_json(service.get_budget(budget_id)))


@api_bp.patch("/<int:budget_id>")
@access(DATA)
@documented(body=BudgetPatch, response=BudgetOut)
def api_update(budget_id):
    """Change some fields of a budget; `month` null makes it repeat every month."""
    return jsonify(service.to_json(service.update_budget(budget_id, parse_body(BudgetPatch))))


@api_bp.delete("/<int:budget_id>")
@access(DATA)
@documented(status=204)
def api_delete(budget_id):
    """Delete a budget."""
    service.delete_budget(budget_id)
    return "", 204


# --- web ------------------------------------------------------------------------------------

def _page_month():
    """The month the page shows (?month=, else the dashboard's default) and the message if
    the one asked for was refused."""
    asked = request.args.get("month")
    if not asked:
        return default_month(), None
    try:
        return checked_month(asked), None
    except ValueError as exc:
        return default_month(), f"Month: {exc}"


def _submitted(model, write):
    """The form validated by `model` and, if valid, `write(body)` run: (body, the values
    sent, {field: message} of what is wrong — a duplicate included; empty on success)."""
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    try:
        body = model.model_validate(values)
    except ValidationError as exc:
        errors = {}
        for error in validation_error(exc).details["errors"]:
            errors.setdefault(error["field"] or "form",
                              error["message"].removeprefix("Value error, "))
        return None, values, errors
    try:
        write(body)
    except AppError as exc:
        if exc.code != 409:
            raise
        return body, values, {"category": exc.description}
    return body, values, {}


def _render_index(month, form=None, errors=None, status=200):
    default_currency = current_app.config["DEFAULT_CURRENCY"]
    form = form or {"category": "", "amount": "", "currency": default_currency, "month": ""}
    return render_template(
        "budgets/index.html", month=month, progress=service.progress_for(month),
        budgets=service.all_budgets(), categories=visible_categories(), form=form,
        errors=errors or {}, isolated=isolation_on(), default_currency=default_currency,
        previous_month=shift(month, -1), next_month=shift(month, 1),
    ), status


def _render_edit(budget, month, form, errors=None, status=200):
    return render_template("budgets/edit.html", budget=budget, form=form, errors=errors or {},
                           month=month, categories=visible_categories()), status


@bp.get("/budgets")
@access(DATA)
def index():
    month, refused = _page_month()
    if refused:
        flash(refused, "error")
    return _render_index(month, status=400 if refused else 200)


@bp.post("/budgets")
@access(DATA)
def create():
    month, _ = _page_month()
    data, values, errors = _submitted(BudgetIn, lambda body: service.create_budget(
        body, current_app.config["DEFAULT_CURRENCY"]))
    if errors:
        return _render_index(month, form=values, errors=errors, status=422)
    flash(f"Budget for {data.category} saved.", "success")
    return redirect(url_for("budgets.index", month=month))


@bp.route("/budgets/<int:budget_id>/edit", methods=["GET", "POST"])
@access(DATA)
def edit(budget_id):
    budget = service.get_budget(budget_id)
    month, _ = _page_month()
    if request.method == "GET":
        values = service.to_json(budget)
        values["month"] = values["month"] or ""
        return _render_edit(budget, month, values)
    patch, values, errors = _submitted(
        BudgetPatch, lambda body: service.update_budget(budget_id, body))
    if errors:
        return _render_edit(budget, month, values, errors, status=422)
    flash(f"Budget for {patch.category} saved.", "success")
    return redirect(url_for("budgets.index", month=month))


@bp.route("/budgets/<int:budget_id>/delete", methods=["GET", "POST"])
@access(DATA)
def delete(budget_id):
    budget = service.get_budget(budget_id)
    month, _ = _page_month()
    if request.method == "GET":
        return render_template("budgets/confirm_delete.html", budget=budget, month=month)
    service.delete_budget(budget_id)
    flash(f"Deleted the budget for {budget.category}.", "success")
    return redirect(url_for("budgets.index", month=month))
