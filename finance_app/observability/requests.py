"""One JSON line per request (logger `finance_app.requests`), the response metrics and the
request id, from one pair of hooks.

The request id is the caller's X-Request-ID when it is well formed (a proxy or a client
tracing a call), else a new one; every response carries it back, errors included. The line
says what an operator follows a rollout step with — method, path, endpoint, user id, cohort,
isolation decision, status, duration — and never bank data: the path goes without its query
string (searches travel there), and no body, description, amount or merchant is logged.
Werkzeug's development server logs its own line per request, query string included: it is
dropped here (gunicorn writes no access log unless asked).
"""
import logging
import re
import sys
import uuid
from time import perf_counter

from flask import current_app, g, request
from pythonjsonlogger.json import JsonFormatter

from ..isolation.principal import loaded_principal
from . import metrics

log = logging.getLogger("finance_app.requests")

REQUEST_ID_HEADER = "X-Request-ID"
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_LOGGED_PATH = 300
# The development server's own lines about a request: "<address> - - [<date>] <message>".
WERKZEUG_REQUEST_LINE = re.compile(r"\S* - - \[")


def init_request_hooks(app):
    """Registered before every other hook: its start runs first and its end runs last, so
    the line has the final status and covers the other hooks."""

    @app.before_request
    def start_request():
        g.request_started = perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = (incoming if WELL_FORMED_REQUEST_ID.fullmatch(incoming)
                        else uuid.uuid4().hex)
        current_app.extensions["observability"].ensure_started()

    @app.after_request
    def finish_request(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        principal = loaded_principal()
        metrics.responded(principal, request.blueprint or request.endpoint or "unrouted",
                          response.status_code)
        started = g.get("request_started")
        decision = g.get("isolation_on")
        log.info("request", extra={
            "request_id": request_id, "method": request.method,
            "path": request.path[:MAX_LOGGED_PATH], "endpoint": request.endpoint,
            "user_id": principal.id if principal else None,
            "cohort": principal.cohort if principal else None,
            "isolation": None if decision is None else ("on" if decision else "off"),
            "status": response.status_code,
            "duration_ms": round((perf_counter() - started) * 1000, 1) if started else None,
        })
        return response


def configure_request_log():
    """JSON lines on standard error, once per process (apps made later share it)."""
    if not any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(request_log_formatter())
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the root's text lines would repeat it
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropWerkzeugRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(DropWerkzeugRequestLines())


def request_log_formatter():
    return JsonFormatter("{levelname}{name}{process}{message}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger",
                                        "process": "pid"})


class DropWerkzeugRequestLines(logging.Filter):
    """The development server's per-request lines (its access line, its notes on malformed
    requests) carry the query string; the JSON line replaces them. Its start-up lines stay."""

    def filter(self, record):
        return not (isinstance(record.msg, str) and WERKZEUG_REQUEST_LINE.match(record.msg))
