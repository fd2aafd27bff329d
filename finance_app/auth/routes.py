"""Sign-up, sign-in, sign-out (web) and the JSON auth endpoints."""
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from pydantic import BaseModel, Field

from .. import cache_backend
from ..api import Body, parse_body
from ..errors import AppError
from ..extensions import cache, db
from ..isolation import AUTH, access, current_principal, isolation_on, sign_in, sign_out
from ..isolation.keys import form_use_key
from ..isolation.principal import hash_secret, signed_in_with_token, signed_in_within
from ..isolation.sessions import end_other_sessions
from ..models import User
from ..openapi import documented
from . import limits, service
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


# Sign-up answers a taken email exactly as a new one, and signs nobody in: otherwise it
# would tell anyone who has an account here. The new account's owner then signs in like
# anyone else; whoever tried a taken email finds only a failed sign-in, which the sign-in
# limits count. (Both cases cost one password hash: see `service.create_user`.)
SIGNED_UP = ("Your account is ready: sign in with your email and password. (If this email "
             "already had an account, it is unchanged: sign in with its own password.)")


@bp.route("/signup", methods=["GET", "POST"])
@access(AUTH)
@limits.sign_up
def signup():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            service.create_user(form.email.data, form.password.data)
        except service.EmailTaken:
            pass  # answered as a new account: see SIGNED_UP
        except service.AccountError as exc:
            form[exc.field].errors.append(exc.message)
            return render_template("auth/signup.html", form=form), 400
        flash(SIGNED_UP, "success")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@access(AUTH)
@limits.password_for_email
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


# --- settings: API tokens, password, sessions, account deletion -----------------------------
# Account pages are AUTH routes (they keep working under the emergency data lock), so each
# one checks the sign-in itself.

def sign_in_first():
    return AppError(401, "unauthorized", "Sign in first: send a session cookie or an "
                    "'Authorization: Bearer <token>' header.")


def session_only(view):
    """Creating tokens, changing the password and deleting the account need a signed-in
    session: a bearer token cannot mint more tokens or lock its owner out of the account."""
    @wraps(view)
    def without_token(*args, **kwargs):
        if signed_in_with_token():
            raise AppError(403, "session_required", "An API token cannot do this: sign in "
                           "with your password (on the web, or with the session cookie).")
        return view(*args, **kwargs)

    return without_token


def account_page(view):
    """The signed-in user's account page: passes the User, or sends the visitor to sign in.
    A change the request did not confirm (wrong password, old sign-in) is shown on the page."""
    @wraps(view)
    def with_user(*args, **kwargs):
        principal = current_principal()
        user = db.session.get(User, principal.id) if principal else None
        if user is None:
            return redirect(url_for("auth.login", next="/settings"))
        try:
            return view(user, *args, **kwargs)
        except service.NotConfirmed as exc:
            flash(exc.description, "error")
            return _settings_page(user, status=exc.code)
        except service.AccountError as exc:
            flash(exc.message, "error")
            return _settings_page(user, status=exc.status)

    return with_user


@bp.get("/settings")
@access(AUTH)
@account_page
def settings(user):
    return _settings_page(user)


# How long a token form's marker is remembered once sent (a reload after that makes a token).
FORM_USE_SECONDS = 24 * 3600


def _settings_page(user, new_token=None, status=200):
    minutes = current_app.config["FRESH_SIGN_IN_MINUTES"]
    return render_template("auth/settings.html", user=user, tokens=service.my_tokens(user.id),
                           new_token=new_token, form=SignOutForm(), fresh_minutes=minutes,
                           token_form_marker=secrets.token_urlsafe(16),
                           needs_password=not signed_in_within(minutes * 60)), status


@bp.post("/settings/tokens")
@access(AUTH)
@session_only
@account_page
@limits.password_for_account
def create_token(user):
    service.confirm_owner(user, request.form.get("password"))
    if not _first_use_of_form(request.form.get("once", "")):
        # The browser sent the same form again (a reload of the page the token was shown
        # on): a second token nobody asked for, and the first one's secret lost.
        flash("This form was already sent (was the page reloaded?): the token it created is "
              "listed below; its secret was shown once. Create another token if you need "
              "one.", "error")
        return _settings_page(user, status=409)
    name = (request.form.get("name") or "").strip()[:100] or "api"
    # Shown once, in this response only (never through the session cookie).
    return _settings_page(user, new_token=service.issue_token(user, name=name), status=201)


def _first_use_of_form(marker):
    """Whether the token form carrying `marker` is sent for the first time. A form without a
    marker (an older page) counts as first; so does any form while the cache cannot tell."""
    if not marker:
        return True
    if cache.add(form_use_key(hash_secret(marker)), True, timeout=FORM_USE_SECONDS):
        return True
    return not cache_backend.reachable()


@bp.post("/settings/tokens/<int:token_id>/revoke")
@access(AUTH)
@account_page
def revoke_token(user, token_id):
    if not service.revoke_token(user.id, token_id):
        raise AppError(404, "not_found", "You have no token with that id.")
    flash("Token revoked: it stops working at once.", "success")
    return redirect(url_for("auth.settings"))


@bp.post("/settings/password")
@access(AUTH)
@session_only
@account_page
@limits.password_for_account
def change_password(user):
    service.confirm_owner(user, request.form.get("current_password"), field="current_password",
                          password_required=True)
    ended = service.change_password(user, request.form.get("new_password"))
    flash(f"Your password is changed. {_signed_out(ended)}", "success")
    return redirect(url_for("auth.settings"))


@bp.post("/settings/sign-out-everywhere")
@access(AUTH)
@account_page
def sign_out_everywhere(user):
    flash(_signed_out(end_other_sessions()), "success")
    return redirect(url_for("auth.settings"))


def _signed_out(count):
    return f"Signed out of {count} other session(s); this one stays signed in."


@bp.post("/settings/delete")
@access(AUTH)
@session_only
@account_page
@limits.password_for_account
def delete_account(user):
    service.confirm_owner(user, request.form.get("password"), password_required=True)
    service.delete_account(user)
    sign_out()
    flash("Your account and all its data have been deleted.", "info")
    return redirect(url_for("auth.signup"))


class Credentials(Body):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=service.MAX_PASSWORD)


class SignedUp(BaseModel):
    message: str = Field(description="the same whether or not the email already had an account")


class Token(BaseModel):
    token: str


class Me(BaseModel):
    id: int
    email: str
    cohort: str
    is_admin: bool
    isolation: bool


class PasswordChange(Body):
    current_password: str = Field(min_length=1, max_length=service.MAX_PASSWORD)
    new_password: str = Field(min_length=service.MIN_PASSWORD, max_length=service.MAX_PASSWORD)


class SessionsEnded(BaseModel):
    ended_sessions: int = Field(description="other sessions of the account now signed out")


class AccountDeletion(Body):
    password: str = Field(min_length=1, max_length=service.MAX_PASSWORD)


class AccountDeleted(BaseModel):
    id: int
    deleted: bool


@api_bp.post("/auth/signup")
@access(AUTH)
@documented(body=Credentials, response=SignedUp, status=202)
@limits.sign_up
def api_signup():
    """Create an account (in the cohort sign-ups join), then get a token with
    `POST /api/auth/tokens`.

    The answer is the same whether or not the email already had an account (that one is left
    unchanged): sign-up never tells who has an account here.
    """
    body = parse_body(Credentials)
    try:
        service.create_user(body.email, body.password)
    except service.EmailTaken:
        pass  # answered as a new account: see SIGNED_UP
    except service.AccountError as exc:
        raise AppError(exc.status, "validation_error", exc.message, field=exc.field) from None
    return jsonify(message=SIGNED_UP), 202


@api_bp.post("/auth/tokens")
@access(AUTH)
@documented(body=Credentials, response=Token, status=201)
@limits.password_for_email
def api_create_token():
    """Exchange email and password for an API token (shown once; send it as a Bearer token)."""
    body = parse_body(Credentials)
    user = service.authenticate(body.email, body.password)
    if user is None:
        raise AppError(401, "invalid_credentials", "Email or password is not right.")
    return jsonify(token=service.issue_token(user)), 201


def _api_user():
    principal = current_principal()
    user = db.session.get(User, principal.id) if principal else None
    if user is None:
        raise sign_in_first()
    return user


@api_bp.post("/auth/password")
@access(AUTH)
@documented(body=PasswordChange, response=SessionsEnded)
@session_only
@limits.password_for_account
def api_change_password():
    """Change the password; every other session of the account is signed out.

    Needs the current password, and a session (an API token gets a 403). This session stays
    signed in; API tokens keep working.
    """
    user = _api_user()
    body = parse_body(PasswordChange)
    service.confirm_owner(user, body.current_password, field="current_password",
                          password_required=True)
    return jsonify(ended_sessions=service.change_password(user, body.new_password))


@api_bp.post("/auth/sign-out-everywhere")
@access(AUTH)
@documented(response=SessionsEnded)
def api_sign_out_everywhere():
    """Sign out every other session of the account (this one stays).

    API tokens keep working: revoke them on the settings page.
    """
    if current_principal() is None:
        raise sign_in_first()
    return jsonify(ended_sessions=end_other_sessions())


@api_bp.delete("/auth/account")
@access(AUTH)
@documented(body=AccountDeletion, response=AccountDeleted)
@session_only
@limits.password_for_account
def api_delete_account():
    """Delete the account and all its data; it cannot be undone.

    Needs the password, and a session (an API token gets a 403).
    """
    user = _api_user()
    body = parse_body(AccountDeletion)
    service.confirm_owner(user, body.password, password_required=True)
    user_id = user.id
    service.delete_account(user)
    sign_out()
    return jsonify(id=user_id, deleted=True)


@api_bp.get("/me")
@access(AUTH)
@documented(response=Me)
def api_me():
    """Who the caller is, and whether their data is isolated right now."""
    principal = current_principal()
    if principal is None:
        raise sign_in_first()
    return jsonify(id=principal.id, email=principal.email, cohort=principal.cohort,
                   is_admin=principal.is_admin, isolation=isolation_on())
