"""Rate limits on what checks a password or creates an account (Flask-Limiter).

Each password check costs a deliberately slow hash, so unlimited attempts both guess
passwords and exhaust the CPU. Failed checks — signing in, exchanging email and password for
an API token, and the account changes confirmed by password (a token on the settings page, a
new password, deleting the account) — count in one bucket per account, whichever form they
come through, and in one per client address. Only failures count (a limit is tested before
the view and charged after it answers 4xx), so signing in often never slows anyone down; but
once a bucket is full even the right password waits, which is what stops guessing. Every
sign-up counts, per address and per email. A request over a limit is refused before any
password is hashed: 429 with Retry-After, the JSON error shape on /api/, a page on the web.

The client address is the connection's (`request.remote_addr`): behind load balancers, set
TRUSTED_PROXY_HOPS (the app then reads the address they add to X-Forwarded-For), or every
client shares the balancer's.
"""
import math
import time

from flask import current_app, request

from ..errors import error_response
from ..extensions import limiter
from ..isolation import current_principal
from ..models import normalise_email

LONGEST_EMAIL = 254  # RFC 5321; anything longer is keyed by its first 254 characters
UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]


def _configured(name):
    return lambda: current_app.config[name]


def client_address():
    return request.remote_addr or "unknown"


def _email_in_request():
    """The email a sign-in, token exchange or sign-up names (form or JSON), as stored."""
    email = request.form.get("email")
    if email is None and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep to parse: the view refuses it
            body = None
        email = body.get("email") if isinstance(body, dict) else None
    # Never empty: Flask-Limiter skips (and logs) a limit whose key is empty.
    return normalise_email(email if isinstance(email, str) else "")[:LONGEST_EMAIL] or "-"


def _signed_in_email():
    principal = current_principal()
    return principal.email if principal is not None else "-"


def _refused(response):
    return response.status_code >= 400


def _password_limits(account_key):
    per_account = limiter.shared_limit(
        _configured("RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT"), "password-failures:account",
        key_func=account_key, deduct_when=_refused, methods=UNSAFE)
    per_address = limiter.shared_limit(
        _configured("RATE_LIMIT_PASSWORD_FAILURES_PER_ADDRESS"), "password-failures:address",
        key_func=client_address, deduct_when=_refused, methods=UNSAFE)
    return lambda view: per_account(per_address(view))


# A password checked for the account an email names: sign-in and the token exchange.
password_for_email = _password_limits(_email_in_request)
# A password checked for the signed-in account: account changes.
password_for_account = _password_limits(_signed_in_email)


def _sign_up_limits():
    per_address = limiter.shared_limit(
        _configured("RATE_LIMIT_SIGN_UPS_PER_ADDRESS"), "sign-ups:address",
        key_func=client_address, methods=UNSAFE)
    per_email = limiter.shared_limit(
        _configured("RATE_LIMIT_SIGN_UPS_PER_EMAIL"), "sign-ups:email",
        key_func=_email_in_request, methods=UNSAFE)
    return lambda view: per_email(per_address(view))


sign_up = _sign_up_limits()


def answer_too_many_requests(app):
    """429 in the app's error shape, with Retry-After: the seconds until the limit that was
    hit lets a request through again."""
    from flask_limiter import RateLimitExceeded

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(exc):
        wait = max(1, math.ceil(limiter.current_limit.window.reset_time - time.time()))
        minutes = math.ceil(wait / 60)
        response = app.make_response(error_response(
            429, "too_many_requests",
            f"Too many attempts for this account or from this address. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}."))
        response.headers["Retry-After"] = str(wait)
        return response
