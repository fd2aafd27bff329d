"""Accounts: sign-up, password checks, API tokens, and changes that end sessions."""
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..admin.settings import signup_cohort
from ..errors import AppError
from ..extensions import db
from ..isolation import forget_principal, scope, unscoped
from ..isolation.cache_keys import drop_user_namespace, invalidate_namespaces
from ..isolation.principal import forget_sessions, forget_tokens, hash_secret, signed_in_within
from ..isolation.scoping import on_behalf_of
from ..isolation.sessions import end_other_sessions
from ..models import ApiToken, User, UserSession, normalise_email
from .signals import account_deleted

MIN_PASSWORD = 8
MAX_PASSWORD = 128

# What a password is checked against when the email has no account: the hash of a random,
# forgotten password, made by `hash_password` (same method and cost; a test keeps them equal),
# so an unknown email costs exactly what a wrong password does.
STAND_IN_PASSWORD_HASH = (
    "scrypt:32768:8:1$sLk0jD1arcibX5eP$16d47af39aa4d1a603a23dfc3cc0b56683f10835b6530ca26bbfb437"
    "ec8fbbf4f596d9279dc647afbbcaa25d99c7289225e0bc5536142409cad095e712191101")


class AccountError(ValueError):
    def __init__(self, field, message, status=422):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


class EmailTaken(AccountError):
    def __init__(self):
        super().__init__("email", "An account with this email already exists. Sign in instead.",
                         status=409)


class NotConfirmed(AppError):
    """The request did not show that the account's owner is at the keyboard right now."""

    def __init__(self, code, message, field):
        super().__init__(403, code, message, field=field)


def clean_email(email):
    try:
        return normalise_email(validate_email((email or "").strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise AccountError("email", f"That email address is not valid: {exc}") from None


def check_password_rules(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError("password", f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError("password", f"Passwords are at most {MAX_PASSWORD} characters.")


def hash_password(password):
    return generate_password_hash(password, method="scrypt")


def find_user(email):
    return db.session.execute(select(User).where(User.email == normalise_email(email))).scalar()


def create_user(email, password, cohort=None, is_admin=False):
    """No `cohort`: the cohort the admin chose for sign-ups (`general` until then). Raises
    EmailTaken if the email has an account, after the same work as creating one (the password
    is hashed first), so that a sign-up cannot time its way to who has an account."""
    email = clean_email(email)
    check_password_rules(password)
    password_hash = hash_password(password)
    if find_user(email) is not None:
        raise EmailTaken()
    user = User(email=email, password_hash=password_hash,
                cohort=cohort or signup_cohort(), is_admin=is_admin)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same email signed up a moment ago, in another request
        db.session.rollback()
        raise EmailTaken() from None
    return user


def authenticate(email, password):
    """The user with these credentials, or None. An unknown email, a wrong password and a
    right one cost one password check each: the answer and its timing are the same."""
    user = find_user(email or "")
    password_hash = user.password_hash if user is not None else STAND_IN_PASSWORD_HASH
    matches = check_password_hash(password_hash, password if isinstance(password, str) else "")
    return user if matches and user is not None else None


def confirm_owner(user, password, field="password", password_required=False):
    """Account changes (a new API token, a new password, deleting the account) need the
    current password in the same request or, where the password is not required, a sign-in
    of this session within the last FRESH_SIGN_IN_MINUTES. (Bearer tokens never get here.)"""
    if password:
        if not check_password_hash(user.password_hash, password):
            raise NotConfirmed("wrong_password", "The current password is not right.", field)
        return
    if password_required:
        raise NotConfirmed("password_required", "Enter your current password to confirm.", field)
    minutes = current_app.config["FRESH_SIGN_IN_MINUTES"]
    if not signed_in_within(minutes * 60):
        raise NotConfirmed("sign_in_again", f"You signed in more than {minutes} minutes ago: "
                           "enter your password to confirm it is you.", field)


def issue_token(user, name="api"):
    """Create an API token; the token itself is returned once and only its hash is kept."""
    token = "fa_" + secrets.token_urlsafe(32)
    # The caller has just proved the password; there may be no session principal to stamp with.
    with on_behalf_of(user.id):
        db.session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_secret(token)))
        db.session.commit()
    return token


def my_tokens(user_id):
    """The account's API tokens (never their secrets), newest first."""
    # Tokens are personal whatever the isolation flag: always filtered by owner.
    return db.session.execute(scope(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    )).scalars().all()


def revoke_token(user_id, token_id):
    """Revoke one of the account's tokens; False if it has no such token."""
    token = db.session.execute(scope(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.id == token_id)
    )).scalar()
    if token is None:
        return False
    token_hash = token.token_hash
    db.session.delete(token)
    db.session.commit()
    forget_tokens([token_hash])
    return True


def change_password(user, new_password):
    """Set a new password and end every other session of the account (this one stays);
    returns how many ended. API tokens keep working: revoke them on the settings page."""
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    return end_other_sessions()  # commits the new hash in the same transaction


def change_cohort(user, cohort):
    user.cohort = cohort
    db.session.commit()
    forget_principal(user.id)
    # Who is isolated changed: the shared ledger's aggregates may count (or miss) the rows
    # of this user.
    invalidate_namespaces([user.id])


def delete_account(user):
    """Delete the account and everything it owns, everywhere it is kept: its rows (the
    foreign keys cascade), its cached principal, tokens and sessions, its cache namespace,
    the shared-ledger aggregates that counted its rows, and (through `account_deleted`)
    what other features keep outside the database."""
    user_id = user.id
    # The account's own tokens and sessions whatever the flag (explicit owner filter), so
    # that their cached records can be dropped; this also runs outside any request.
    with unscoped("tokens and sessions of an account being deleted", quiet=True):
        token_hashes = db.session.execute(
            select(ApiToken.token_hash).where(ApiToken.user_id == user_id)).scalars().all()
        session_hashes = db.session.execute(
            select(UserSession.session_hash).where(UserSession.user_id == user_id)
        ).scalars().all()
    db.session.delete(user)
    db.session.commit()
    forget_principal(user_id)
    forget_tokens(token_hashes)
    forget_sessions(session_hashes)
    drop_user_namespace(user_id)
    account_deleted.send(current_app._get_current_object(), user_id=user_id)
