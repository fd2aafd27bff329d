"""The route matrix: every route of the app, its class, and how to exercise each data route.

When you add a route, add it here. `test_route_matrix.py` fails for a route that is missing,
classified differently from its `@access(...)`, or (for data routes) leaks across users.

A data route is exercised as a user of the People fixture, by shape:
- "list": shows the user's own marker rows and, with isolation on, none of another user's
  (with isolation off, everyone's);
- "personal": the user's own things (e.g. import history) whatever the flag;
- "row" / "batch": called with the user's own transaction / import batch id and with another
  user's: 404 when isolated, and the other user's data unchanged;
- "create": stamps the caller as owner whatever the flag;
- "covered": a flow the generic probe cannot drive (uploads held per session); `covered_by`
  names the test that checks it for owner vs other user, and the matrix checks it exists.
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
    "transactions.index": DATA,
    "transactions.set_category": DATA,
    "transactions.delete": DATA,
    "transactions.export": DATA,
    "transactions_api.api_list": DATA,
    "transactions_api.api_create": DATA,
    "transactions_api.api_get": DATA,
    "transactions_api.api_update": DATA,
    "transactions_api.api_delete": DATA,
    "ingest.upload_form": DATA,
    "ingest.upload": DATA,
    "ingest.remap": DATA,
    "ingest.confirm": DATA,
    "ingest.progress": DATA,
    "ingest.undo": DATA,
    "ingest_api.api_import": DATA,
    "ingest_api.api_batches": DATA,
    "ingest_api.api_undo": DATA,
}


@dataclass(frozen=True)
class DataRoute:
    endpoint: str
    path: str                     # "{row}" is replaced by a transaction id
    shape: str = "list"           # see SHAPES
    method: str = "GET"
    body: dict = field(default=None)   # JSON body
    form: dict = field(default=None)   # web form fields (a CSRF token is added)
    covered_by: str = None             # shape "covered": "tests/<file>.py::<test function>"

    @property
    def is_api(self):
        return self.path.startswith("/api/")


DATA_ROUTES = [
    DataRoute("dashboard.index", "/"),
    DataRoute("transactions.index", "/transactions"),
    DataRoute("transactions.export", "/transactions/export.csv"),
    DataRoute("transactions.delete", "/transactions/{row}/delete", shape="row"),
    DataRoute("transactions.set_category", "/transactions/{row}/category", shape="row",
              method="POST", form={"category": "Matrix"}),
    DataRoute("transactions_api.api_list", "/api/transactions"),
    DataRoute("transactions_api.api_create", "/api/transactions", shape="create", method="POST",
              body={"date": "2024-11-30", "amount": "-1.00", "description": "matrix create"}),
    DataRoute("transactions_api.api_get", "/api/transactions/{row}", shape="row"),
    DataRoute("transactions_api.api_update", "/api/transactions/{row}", shape="row",
              method="PATCH", body={"category": "Matrix"}),
    DataRoute("transactions_api.api_delete", "/api/transactions/{row}", shape="row",
              method="DELETE"),
    DataRoute("ingest.upload_form", "/import", shape="personal"),
    DataRoute("ingest_api.api_batches", "/api/ingest/batches", shape="personal"),
    DataRoute("ingest_api.api_undo", "/api/ingest/batches/{batch}", shape="batch",
              method="DELETE"),
    DataRoute("ingest.undo", "/import/batches/{batch}/undo", shape="batch", method="POST",
              form={}),
    DataRoute("ingest_api.api_import", "/api/ingest", shape="covered", method="POST",
              covered_by="tests/ingest/test_import.py::"
                         "test_an_import_is_private_when_isolated_and_shared_on_the_legacy_ledger"),
    *[DataRoute(f"ingest.{view}", f"/import/<token>/{view}", shape="covered", method="POST",
                covered_by="tests/ingest/test_import_web.py::"
                           "test_another_session_cannot_confirm_my_upload")
      for view in ("upload", "remap", "confirm", "progress")],
]
