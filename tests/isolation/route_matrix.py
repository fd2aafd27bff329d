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
    "auth.settings": AUTH,
    "auth.create_token": AUTH,
    "auth.revoke_token": AUTH,
    "auth.delete_account": AUTH,
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
    "suggest.index": DATA,
    "suggest.accept": DATA,
    "suggest_api.api_list": DATA,
    "suggest_api.api_accept": DATA,
    "agent_api.api_tools": PUBLIC,
    "agent_api.api_run_tool": DATA,
    "openapi.openapi_document": PUBLIC,
    # The flag dashboard: admins only (404 for everyone else), aggregates and user lists.
    "admin.flags": ADMIN,
    "admin.create_cohort": ADMIN,
    "admin.cohort_isolation": ADMIN,
    "admin.move_users": ADMIN,
    "admin.rollout": ADMIN,
    "admin.lock": ADMIN,
    "admin.revert": ADMIN,
    "admin.signup_cohort": ADMIN,
    "admin_api.api_cohorts": ADMIN,
    "admin_api.api_create_cohort": ADMIN,
    "admin_api.api_move_users": ADMIN,
    "admin_api.api_move_user": ADMIN,
    "admin_api.api_isolation": ADMIN,
    "admin_api.api_cohort_isolation": ADMIN,
    "admin_api.api_rollout": ADMIN,
    "admin_api.api_lock": ADMIN,
    "admin_api.api_preflight": ADMIN,
    "admin_api.api_audit": ADMIN,
    "admin_api.api_revert": ADMIN,
    "admin_api.api_signup_cohort": ADMIN,
    "admin_api.api_set_signup_cohort": ADMIN,
    "charts_api.api_summary": DATA,
    "charts_api.api_categories": DATA,
    "charts_api.api_trends": DATA,
    "charts_api.api_merchants": DATA,
    "explain_api.api_month": DATA,
    "explain_api.api_transaction": DATA,
    "explain.transaction": DATA,
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
    # The page lists the latest categorised rows it learns from (the fixture has no others).
    DataRoute("suggest.index", "/suggestions"),
    DataRoute("suggest.accept", "/suggestions/{row}/accept", shape="row", method="POST",
              form={"category": "Matrix"}),
    # The fixture's rows are all categorised, so nothing is suggested: probe the row filter.
    DataRoute("suggest_api.api_list", "/api/suggestions?transaction_id={row}", shape="row"),
    DataRoute("suggest_api.api_accept", "/api/suggestions/{row}/accept", shape="row",
              method="POST", body={"category": "Matrix"}),
    DataRoute("agent_api.api_run_tool", "/api/agent/tools/search_transactions", method="POST",
              body={"query": "coffee"}),
    DataRoute("agent_api.api_run_tool", "/api/agent/tools/top_merchants", method="POST",
              body={}),
    # Analytics: merchants and month drivers name the fixture's cafés; the other charts are
    # numbers only, checked against each user's rows by the named test.
    DataRoute("charts_api.api_merchants", "/api/charts/merchants?month=2024-11"),
    *[DataRoute(f"charts_api.api_{view}", f"/api/charts/{view}", shape="covered",
                covered_by="tests/charts/test_isolation.py::"
                           "test_isolated_charts_hold_none_of_another_users_rows")
      for view in ("summary", "categories", "trends")],
    DataRoute("explain_api.api_month", "/api/explain/month/2024-11"),
    DataRoute("explain_api.api_transaction", "/api/explain/transactions/{row}", shape="row"),
    DataRoute("explain.transaction", "/explain/transactions/{row}", shape="row"),
]
