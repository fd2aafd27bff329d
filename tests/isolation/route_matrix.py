"""The route matrix: every route of the app, its class, and how to exercise each data route.

When you add a route, add it here. `test_route_matrix.py` fails for a route that is missing,
classified differently from its `@access(...)`, or (for data routes) leaks across users.

A data route is exercised as a user of the People fixture: "list" routes must show the
user's own marker rows and, with isolation on, none of another user's; "row" routes are
called with the user's own row id and with another user's (404 when isolated).
"""
from dataclasses import dataclass, field

from finance_app.isolation import ADMIN, AUTH, DATA, PUBLIC

ROUTE_KINDS = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "auth.signup": AUTH,
    "auth.login": AUTH,
    "auth.logout": AUTH,
    "auth_api.api_signup": AUTH,
    "auth_api.api_create_token": AUTH,
    "auth_api.api_me": AUTH,
    "dashboard.index": DATA,
}


@dataclass(frozen=True)
class DataRoute:
    endpoint: str
    path: str                     # "{row}" is replaced by a transaction id
    shape: str = "list"           # "list" or "row"
    method: str = "GET"
    body: dict = field(default=None)

    @property
    def is_api(self):
        return self.path.startswith("/api/")


DATA_ROUTES = [
    DataRoute("dashboard.index", "/"),
]
