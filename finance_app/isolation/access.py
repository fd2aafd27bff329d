"""Route classification and what each class of route gets.

Every view is classified with `@access(kind)`:
- public: anyone (health, static);
- auth: sign-up, sign-in, tokens, identity (each view checks what it needs);
- data: a signed-in user; subject to the emergency lock;
- admin: a signed-in admin; anyone else, signed in or not, gets 404 whatever the method
  (no oracle that the page exists: not a sign-in prompt, nor a 405 or OPTIONS listing
  the methods it takes);
- monitoring (metrics): an admin, or a caller on this host (a Prometheus scraper beside the
  app: a loopback address, and no proxy's forwarding header, since a reverse proxy on the
  same host relays everyone from loopback); anyone else gets the admin routes' 404.
An unclassified view is treated as data (fail closed) and fails the route-matrix test.

Every response except static files carries `Cache-Control: private, no-store` and
`Vary: Cookie, Authorization`: pages and JSON alike may carry user data. Every response
carries the security headers (`SECURITY_HEADERS`, and HSTS in production).
"""
import ipaddress

from flask import redirect, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from ..errors import AppError, is_api_request
from .decision import data_lock_engaged
from .principal import current_principal

PUBLIC, AUTH, DATA, ADMIN, MONITORING = "public", "auth", "data", "admin", "monitoring"
KINDS = (PUBLIC, AUTH, DATA, ADMIN, MONITORING)
# Headers a proxy adds to a request it relays: such a request is not from this host.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

# Scripts, styles and everything else only from this site, and no inline script (pages keep
# theirs in static/), so injected markup cannot run; no page may be framed (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    # URLs (months, searches) never leave the site; same-origin posts keep their Referer,
    # which Flask-WTF requires of form posts over HTTPS.
    "Referrer-Policy": "same-origin",
}
# Production is served over HTTPS only: browsers never try plain HTTP again for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

LOCK_MESSAGE = ("Data access is temporarily locked by the operators while they check "
                "something. Your data is safe; please try again later.")


def access(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown access kind {kind!r}")

    def mark(view):
        view.access_kind = kind
        return view

    return mark


def route_kind(app, endpoint):
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_kind", None)


def init_access(app):
    app.view_functions["static"].access_kind = PUBLIC
    app.jinja_env.globals["current_principal"] = current_principal

    @app.before_request
    def enforce_access():
        if request.endpoint is None:  # no route: the 404/405 handler answers
            if not _may_reach(_kind_of_route_with_another_method(app)):
                raise AppError(404, "not_found", "Not found.")
            return None
        kind = route_kind(app, request.endpoint) or DATA
        if not _may_reach(kind):
            raise AppError(404, "not_found", "Not found.")
        if kind in (PUBLIC, AUTH, MONITORING):
            return None
        principal = current_principal()
        if principal is None:
            if is_api_request():
                raise AppError(401, "unauthorized", "Sign in first: send a session cookie or "
                               "an 'Authorization: Bearer <token>' header.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if kind == DATA and data_lock_engaged():
            raise AppError(503, "data_locked", LOCK_MESSAGE)
        return None

    @app.after_request
    def private_headers(response):
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "private, no-store"
            response.vary.update(("Cookie", "Authorization"))
        return response

    production = app.config["FINANCE_ENV"] == "production"

    @app.after_request
    def security_headers(response):
        response.headers.update(SECURITY_HEADERS)
        if production:
            response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
        return response


def _may_reach(kind):
    """Whether this caller may know that a route of this kind exists."""
    if kind == ADMIN:
        return _is_admin()
    if kind == MONITORING:
        return _is_admin() or _from_this_host()
    return True


def _is_admin():
    principal = current_principal()
    return principal is not None and principal.is_admin


def _from_this_host():
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:  # not an IP address (a Unix socket)
        return False


def _kind_of_route_with_another_method(app):
    """The kind of the route at this unrouted request's URL, if it is one asked with a
    method it does not take (None otherwise)."""
    refused = request.routing_exception
    if not isinstance(refused, MethodNotAllowed) or not refused.valid_methods:
        return None
    endpoint, _ = app.create_url_adapter(request).match(method=refused.valid_methods[0])
    return route_kind(app, endpoint)
