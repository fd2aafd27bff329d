"""The routes of the real URL map, for tests parametrized over every route.

Parametrizing happens before any fixture exists, so the rules are read from an app built once
on a throwaway database; `test_url_map.py` checks they are the test app's rules."""
import re
import tempfile
from pathlib import Path

from finance_app.extensions import db

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _read_url_map():
    """(routes_of, get_endpoints_of) of an app built on a throwaway database."""
    from tests.conftest import make_app

    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder))
        try:
            return routes_of(app), get_endpoints_of(app)
        finally:
            app.extensions["flags"].close()
            with app.app_context():
                db.engine.dispose()


def routes_of(app):
    """(method, rule) for every method of every rule (HEAD and OPTIONS are Flask's own)."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})


def get_endpoints_of(app):
    """(rule, endpoint) for every rule that answers GET, in rule order."""
    return sorted((rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods)


def sample_path(rule):
    """The rule with each variable filled: 1 for a number, "x" otherwise (static: a real file)."""
    if rule == "/static/<path:filename>":
        return "/static/style.css"
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m.group(1) == "int" else "x", rule)


ROUTES, GET_ENDPOINTS = _read_url_map()
UNSAFE_API_ROUTES = [(m, r) for m, r in ROUTES if r.startswith("/api/") and m in UNSAFE_METHODS]


def route_id(route):
    return " ".join(route)
