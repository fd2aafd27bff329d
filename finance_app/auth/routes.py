"""Sign-up, sign-in, sign-out (web) and the JSON auth endpoints."""
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import BaseModel, Field

from ..api import Body, parse_body
from ..errors import AppError
from ..extensions import db
from ..isolation import AUTH, access, current_principal, isolation_on, sign_in, sign_out
from ..models import User
from ..openapi import documented
from . import service
from .forms import SignInForm, SignOutForm, SignUpForm

bp = Blueprint("auth", __name__)
api_bp = Blueprint("auth_api", __name__, url_prefix="/api")


def safe_next(target, default="dashboard.index"):
    """Only redirect to a path on this site: no scheme, no host, no `//` or backslash tricks."""
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith("//") and "\\" not in target):
            return target
    return url_for(default)


@bp.route("/signup", methods=["GET", "POST"])
@access(AUTH)
def signup():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(form.email.data, form.password.data)
        except service.AccountError as exc:
            form[exc.field].errors.append(exc.message)
        else:
            sign_in(user)
            flash("Welcome! Your account is ready.", "success")
            return redirect(url_for("dashboard.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@access(AUTH)
def login():
    form = SignInForm()
    next_url = request.args.get("next")
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None:
            sign_in(user)
            return redirect(safe_next(next_url))
        form.password.errors.append("Email or password is not right.")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, next=next_url), status


@bp.post("/logout")
@access(AUTH)
def logout():
    form = SignOutForm()
    if not form.validate_on_submit():
        raise AppError(400, "bad_request", "Sign-out needs the form's token; use the button.")
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


# --- settings: API tokens and account deletion ----------------------------------------------
# Account pages are AUTH routes (they keep working under the emergency data lock), so each
# one checks the sign-in itself.

def account_page(view):
    """The signed-in user's account page: passes the User, or sends the visitor to sign in."""
    @wraps(view)
    def with_user(*args, **kwargs):
        principal = current_principal()
        user = db.session.get(User, principal.id) if principal else None
        if user is None:
            return redirect(url_for("auth.login", next="/settings"))
        return view(user, *args, **kwargs)

    return with_user


@bp.get("/settings")
@access(AUTH)
@account_page
def settings(user):
    return _settings_page(user)


def _settings_page(user, new_token=None, status=200):
    return render_template("auth/settings.html", user=user, tokens=service.my_tokens(user.id),
                           new_token=new_token, form=SignOutForm()), status


@bp.post("/settings/tokens")
@access(AUTH)
@account_page
def create_token(user):
    name = (request.form.get("name") or "").strip()[:100] or "api"
    # Shown once, in this response only (never through the session cookie).
    return _settings_page(user, new_token=service.issue_token(user, name=name), status=201)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@access(AUTH)
@account_page
def revoke_token(user, token_id):
    if not service.revoke_token(user.id, token_id):
        raise AppError(404, "not_found", "You have no token with that id.")
    flash("Token revoked: it stops working at once.", "success")
    return redirect(url_for("auth.settings"))


@bp.post("/settings/delete")
@access(AUTH)
@account_page
def delete_account(user):
    if service.authenticate(user.email, request.form.get("password")) is None:
        flash("The password is not right; your account was not deleted.", "error")
        return _settings_page(user, status=400)
    service.delete_account(user)
    sign_out()
    flash("Your account and all its data have been deleted.", "info")
    return redirect(url_for("auth.signup"))


class Credentials(Body):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=service.MAX_PASSWORD)


class Account(BaseModel):
    id: int
    email: str
    cohort: str


class Token(BaseModel):
    token: str


class Me(Account):
    is_admin: bool
    isolation: bool


def _account_error(exc):
    return AppError(exc.status, "conflict" if exc.status == 409 else "validation_error",
                    exc.message, field=exc.field)


@api_bp.post("/auth/signup")
@access(AUTH)
@documented(body=Credentials, response=Account, status=201)
def api_signup():
    """Create an account (cohort `general`)."""
    body = parse_body(Credentials)
    try:
        user = service.create_user(body.email, body.password)
    except service.AccountError as exc:
        raise _account_error(exc) from None
    return jsonify(id=user.id, email=user.email, cohort=user.cohort), 201


@api_bp.post("/auth/tokens")
@access(AUTH)
@documented(body=Credentials, response=Token, status=201)
def api_create_token():
    """Exchange email and password for an API token (shown once; send it as a Bearer token)."""
    body = parse_body(Credentials)
    user = service.authenticate(body.email, body.password)
    if user is None:
        raise AppError(401, "invalid_credentials", "Email or password is not right.")
    return jsonify(token=service.issue_token(user)), 201


@api_bp.get("/me")
@access(AUTH)
@documented(response=Me)
def api_me():
    """Who the caller is, and whether their data is isolated right now."""
    principal = current_principal()
    if principal is None:
        raise AppError(401, "unauthorized", "Sign in first: send a session cookie or an "
                       "'Authorization: Bearer <token>' header.")
    return jsonify(id=principal.id, email=principal.email, cohort=principal.cohort,
                   is_admin=principal.is_admin, isolation=isolation_on())
