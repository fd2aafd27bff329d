"""Accounts: JSON under /api/accounts, and the web page at /accounts."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, validation_error
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..models import ACCOUNT_KINDS
from ..openapi import documented
from . import service
from .service import AccountIn, AccountOut, AccountPatch

bp = Blueprint("accounts", __name__)
api_bp = Blueprint("accounts_api", __name__, url_prefix="/api/accounts")


@bp.app_context_processor
def account_choices():
    """For every page's templates (the upload panel is on several): the caller's own
    accounts, read only where a template calls it, and the kinds an account can be."""
    return {"own_accounts": service.own_accounts, "account_kinds": ACCOUNT_KINDS}


@api_bp.get("")
@access(DATA)
@documented(response=list[AccountOut])
def api_list():
    """The caller's visible accounts with their balances, by name."""
    return jsonify([service.to_json(a, balance) for a, balance in service.list_accounts()])


@api_bp.post("")
@access(DATA)
@documented(body=AccountIn, response=AccountOut, status=201)
def api_create():
    """Create an account owned by the caller (409 if they have one of that name)."""
    account = service.create_account(parse_body(AccountIn))
    return jsonify(service.to_json(*service.account_with_balance(account.id))), 201


@api_bp.get("/<int:account_id>")
@access(DATA)
@documented(response=AccountOut)
def api_get(account_id):
    """One account with its balance (404 if the caller cannot see it)."""
    return jsonify(service.to_json(*service.account_with_balance(account_id)))


@api_bp.patch("/<int:account_id>")
@access(DATA)
@documented(body=AccountPatch, response=AccountOut)
def api_update(account_id):
    """Rename an account or change its kind."""
    service.update_account(account_id, parse_body(AccountPatch))
    return jsonify(service.to_json(*service.account_with_balance(account_id)))


@api_bp.delete("/<int:account_id>")
@access(DATA)
@documented(status=204)
def api_delete(account_id):
    """Delete an account with no transactions (409 while it holds some)."""
    service.delete_account(account_id)
    return "", 204


# --- web ------------------------------------------------------------------------------------

def _page(status=200, error=None, form=None):
    return render_template(
        "accounts/index.html", accounts=service.list_accounts(), kinds=ACCOUNT_KINDS,
        isolated=isolation_on(), error=error, form=form or {},
    ), status


def _form_error(exc):
    return validation_error(exc).description


@bp.get("/accounts")
@access(DATA)
def index():
    return _page()


@bp.post("/accounts")
@access(DATA)
def create():
    form = {k: request.form.get(k, "") for k in ("name", "kind", "currency", "opening_balance")}
    try:
        data = AccountIn.model_validate({k: v for k, v in form.items() if v.strip()})
        account = service.create_account(data)
    except ValidationError as exc:
        return _page(400, _form_error(exc), form)
    except AppError as exc:
        return _page(exc.code, exc.description, form)
    flash(f"Account “{account.name}” created.", "success")
    return redirect(url_for("accounts.index"))


@bp.post("/accounts/<int:account_id>/rename")
@access(DATA)
def rename(account_id):
    try:
        service.update_account(account_id, AccountPatch(name=request.form.get("name", "")))
    except ValidationError as exc:
        return _page(400, _form_error(exc))
    except AppError as exc:
        if exc.code == 404:
            raise
        return _page(exc.code, exc.description)
    flash("Account renamed.", "success")
    return redirect(url_for("accounts.index"))
