"""One error shape: `{"error": {"code", "message"}}` for /api/, a plain page for the web.

Raise `AppError(status, code, message, **details)` (or any werkzeug HTTPException) anywhere;
the handlers here render it. The database unreachable is a 503 with Retry-After. A statement
PostgreSQL refused for want of privilege — a row-level security policy, the second wall
behind `scope()` — is the 404 of a row that is not yours, counted. Unexpected exceptions
become a 500 in the same shape, logged.
"""
import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sqlalchemy_errors
from werkzeug.exceptions import HTTPException

from .extensions import db
from .observability import metrics

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    401: "Sign in first: send a session cookie or an 'Authorization: Bearer <token>' header.",
    404: "Not found.",
    405: "This method is not allowed on this URL.",
    413: "The request is too large.",
    500: "Something went wrong on our side; it has been logged.",
}


# The database driver's errors for a database that cannot serve now (connection refused or
# lost, the server shutting down, a file that cannot be opened, a lock or pool wait that ran
# out): worth retrying, unlike a programming error.
DATABASE_UNAVAILABLE_ERRORS = (sqlalchemy_errors.OperationalError,
                               sqlalchemy_errors.InterfaceError,
                               sqlalchemy_errors.TimeoutError)
DATABASE_UNAVAILABLE_MESSAGE = ("The database is unavailable right now. Nothing was changed; "
                                "please try again in a moment.")
RETRY_AFTER_SECONDS = 15
# PostgreSQL's SQLSTATE insufficient_privilege: what a write refused by a row-level security
# policy raises (a read the policy hides simply finds nothing).
INSUFFICIENT_PRIVILEGE = "42501"


class AppError(HTTPException):
    """An HTTP error with a machine-readable code and optional details (e.g. `field`)."""

    def __init__(self, status, code, message, **details):
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.details = details


def is_api_request():
    """A program's request: under /api/, or authenticated with a bearer token (a browser never
    adds one on its own, so such a request is neither a page view nor a forged form post)."""
    scheme = request.headers.get("Authorization", "").partition(" ")[0]
    return request.path.startswith("/api/") or scheme.lower() == "bearer"


def error_response(status, code, message, identity_known=True, **details):
    if is_api_request():
        response = jsonify({"error": {"code": code, "message": message, **details}})
        response.status_code = status
        return response
    # A page names who is signed in, unless looking that up is what failed.
    names = {} if identity_known else {"current_principal": lambda: None}
    return render_template("errors/error.html", status=status, message=message, **names), status


def _message_for(exc):
    if isinstance(exc, CSRFError):
        return "The form expired or did not come from this site. Reload the page and try again."
    if exc.code == 413:
        return "The upload is larger than the allowed size."
    described = exc.description or ""
    default = type(exc).description
    if described and described != default:
        return described
    return MESSAGES.get(exc.code, described or "Request failed.")


def register_error_handlers(app):
    @app.errorhandler(HTTPException)
    def handle_http_error(exc):
        if exc.code is None or exc.code < 400:  # redirects raised as exceptions
            return exc
        code = getattr(exc, "error_code", None) or CODES.get(exc.code, "error")
        response = error_response(exc.code, code, _message_for(exc), **getattr(exc, "details", {}))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response = app.make_response(response)
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    def handle_database_unavailable(exc):
        log.warning("the database is unavailable on %s %s: %s", request.method, request.path,
                    exc)
        response = app.make_response(error_response(
            503, CODES[503], DATABASE_UNAVAILABLE_MESSAGE, identity_known=False))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for error in DATABASE_UNAVAILABLE_ERRORS:
        app.register_error_handler(error, handle_database_unavailable)

    @app.errorhandler(sqlalchemy_errors.ProgrammingError)
    def handle_policy_refusal(exc):
        if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            return handle_unexpected(exc)
        from .isolation.principal import loaded_principal  # the core imports this module

        db.session.rollback()
        # The driver's own words name the table and the policy; the statement is not logged.
        log.error("the database refused a statement at %s: %s", request.endpoint,
                  getattr(getattr(exc.orig, "diag", None), "message_primary", None))
        metrics.policy_refused(loaded_principal(), request.endpoint)
        return error_response(404, CODES[404], MESSAGES[404])

    @app.errorhandler(Exception)
    def handle_unexpected(exc):
        propagate = app.config.get("PROPAGATE_EXCEPTIONS")
        if propagate is None:  # Flask's own rule: tests and the debugger see the exception
            propagate = app.testing or app.debug
        if propagate:
            raise exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, CODES[500], MESSAGES[500])
