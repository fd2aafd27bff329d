"""The route matrix: every route of the app, its class, and how each data route is probed.

When you add a route, add it here. `test_route_matrix.py` fails for a route (or a method of
one) that is missing, classified differently from its `@access(...)`, listed with a path and
method that no URL rule of its endpoint serves, or that shows or changes rows its viewer may
not see.

Who may see what is the two-sided isolation contract (DESIGN.md section 2), the table `SEES`:
a viewer isolated by the flag sees and changes only their own rows; a viewer on the shared
ledger sees and changes their own rows, unowned rows and rows of owners who are not isolated,
never an isolated owner's. Import batches are personal on every ledger.

Each data route is probed by both kinds of viewer (`VIEWERS`) against rows of every kind of
owner (`OWNERS`: isolated by cohort, isolated by the percentage rollout, not isolated, no
owner; see matrix_ledger.py), by shape:
- "list": a read of many rows (page, list, search, export, explanation, assistant tool):
  shows an owner's markers exactly when the viewer may see that owner's rows;
- "aggregate": numbers without row text (charts): equal `reference(rows)`, the analytics
  reference of tests/charts/ledger.py over exactly the rows the viewer may see;
- "personal": the viewer's own things whatever the flag (import history): own markers only;
- "row": called with each owner's transaction id: a read (GET) answers 200 and a write
  changes the row when the viewer may see it; otherwise 404 (never 403), no marker, and
  nothing of that owner changes;
- "batch": as "row", with each owner's import batch, personal on every ledger;
- "bulk": a write over many rows at once (a category rename): one request changes the rows
  of exactly the owners the viewer may reach, and nothing of any other owner;
- "create": stamps the viewer as the owner of what it creates, whatever the flag;
- "covered": a flow held per upload session, or a route that names a budget (the probes
  take transaction and batch ids only), which the generic probe cannot drive; `covered_by`
  names the test that checks it for owner vs other user.
Every entry, of every shape, answers 503 under the emergency lock, and every response the
matrix gets carries the privacy headers.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from finance_app.isolation import ADMIN, AUTH, DATA, MONITORING, PUBLIC
from tests.charts import ledger as ref

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
    "auth.change_password": AUTH,
    "auth.sign_out_everywhere": AUTH,
    "auth_api.api_change_password": AUTH,
    "auth_api.api_sign_out_everywhere": AUTH,
    "auth_api.api_delete_account": AUTH,
    "dashboard.index": DATA,
    "transactions.index": DATA,
    "transactions.set_category": DATA,
    "transactions.delete": DATA,
    "transactions.export": DATA,
    "transactions.new": DATA,
    "transactions.edit": DATA,
    "categories.index": DATA,
    "categories.merge": DATA,
    "categories.rename": DATA,
    "categories_api.api_list": DATA,
    "categories_api.api_rename": DATA,
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
    "suggest.accept_all": DATA,
    "suggest_api.api_accept_all": DATA,
    "rules.index": DATA,
    "rules.create": DATA,
    "rules.delete": DATA,
    "rules.preview": DATA,
    "rules.apply": DATA,
    "rules_api.api_list": DATA,
    "rules_api.api_create": DATA,
    "rules_api.api_get": DATA,
    "rules_api.api_delete": DATA,
    "rules_api.api_preview": DATA,
    "rules_api.api_apply": DATA,
    "agent_api.api_tools": PUBLIC,
    "agent_api.api_run_tool": DATA,
    "openapi.openapi_document": PUBLIC,
    # Prometheus metrics: admins and callers on this host (404 for everyone else).
    "observability.scrape": MONITORING,
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
    "budgets.index": DATA,
    "budgets.create": DATA,
    "budgets.edit": DATA,
    "budgets.delete": DATA,
    "budgets_api.api_list": DATA,
    "budgets_api.api_create": DATA,
    "budgets_api.api_get": DATA,
    "budgets_api.api_update": DATA,
    "budgets_api.api_delete": DATA,
}


# --- who may see whose rows ------------------------------------------------------------------

ISOLATED, SHARED, NOBODY = "isolated", "shared ledger", "nobody"
UNOWNED = "unowned"
# The owners of the matrix's rows and their ledger under its flag (cohort staff enabled, and
# a percentage rollout that reaches dora and neither bob nor carol).
OWNERS = {
    "alice": ISOLATED,  # by her cohort
    "admin": ISOLATED,  # by cohort too: being an admin gives no sight of others' rows
    "dora": ISOLATED,   # by the percentage rollout only
    "bob": SHARED,
    "carol": SHARED,
    UNOWNED: NOBODY,    # user_id NULL, as before migration 0003
}
VIEWERS = ("alice", "carol")  # one isolated, one on the shared ledger
# Whose rows a viewer on each ledger may see and change besides their own.
SEES = {ISOLATED: set(), SHARED: {SHARED, NOBODY}}
PERSONAL_SHAPES = ("personal", "batch")


def may_reach(route, viewer, owner):
    if owner == viewer:
        return True
    return route.shape not in PERSONAL_SHAPES and OWNERS[owner] in SEES[OWNERS[viewer]]


# --- the data routes --------------------------------------------------------------------------

MONTH = "2024-11"          # every row of the matrix's ledger is dated in this month
UPLOAD_TOKEN = "0" * 32    # fills "{token}": an upload no session holds
CREATED = "matrix create"  # the description of what the "create" routes make


@dataclass(frozen=True)
class DataRoute:
    endpoint: str
    path: str                     # "{row}", "{batch}", "{token}": see `url`
    shape: str = "list"           # see the module docstring
    method: str = "GET"
    body: dict = field(default=None)    # JSON body
    form: dict = field(default=None)    # web form fields (a CSRF token is added)
    upload: str = None                  # CSV text, sent as the multipart field "file"
    reference: Callable = None          # shape "aggregate": visible rows -> expected JSON
    covered_by: str = None              # shape "covered": "tests/<file>.py::<test function>"

    @property
    def is_api(self):
        return self.path.startswith("/api/")

    @property
    def is_write(self):
        """Whether it changes rows (assistant tools are POSTs that only read)."""
        return (self.shape in ("create", "batch", "bulk")
                or (self.shape == "row" and self.method != "GET"))

    def url(self, row, batch, token=UPLOAD_TOKEN):
        """The path with a transaction id, an import batch id and an upload token filled in."""
        return self.path.format(row=row, batch=batch, token=token)

    def __str__(self):
        return f"{self.method} {self.path}"


def tool(name, body, reference=None):
    """An assistant tool, run through POST /api/agent/tools/<name>: an aggregate when it
    answers numbers (`reference` gives them from the visible rows), else a list."""
    if reference is None:
        return DataRoute("agent_api.api_run_tool", f"/api/agent/tools/{name}", method="POST",
                         body=body)
    return DataRoute("agent_api.api_run_tool", f"/api/agent/tools/{name}", shape="aggregate",
                     method="POST", body=body,
                     reference=lambda rows: {"tool": name, "result": reference(rows)})


def category_counts(rows):
    """GET /api/categories of these (date, amount, description, merchant, category, ...)
    rows."""
    categories = [row[4] for row in rows]
    named = Counter(category for category in categories if category)
    return {"categories": [{"name": name, "count": n} for name, n in sorted(named.items())],
            "uncategorised": sum(1 for category in categories if not category)}


# Pages whose only data is category names and counts (no owner's marker to look for).
CATEGORY_PAGES = "tests/transactions/test_categories.py::test_pages_show_only_visible_categories"
MANUAL_ENTRY = {"kind": "expense", "amount": "1.00", "date": f"{MONTH}-30",
                "description": CREATED}

UPLOAD_SESSIONS = ("tests/ingest/test_import_web.py::"
                   "test_another_session_cannot_confirm_my_upload")
# Budget routes by id: until the probes can name a budget, the budgets' own isolation tests.
BUDGET_BY_ID = ("tests/budgets/test_isolation.py::"
                "test_an_isolated_owners_budget_is_404_to_everyone_else")
BUDGET_CREATE = "tests/budgets/test_isolation.py::test_create_stamps_the_caller_whatever_the_ledger"
BUDGET = "/budgets/0"  # any id: the covered tests probe real ones
# Routes naming a rule ({rule}): the probe knows transaction and batch ids only, so these are
# checked owner vs other isolated user vs shared-ledger viewer in the rules' own test.
RULE_ROUTES = "tests/rules/test_rule_isolation.py::test_another_users_rule_is_a_404_and_unchanged"

DATA_ROUTES = [
    DataRoute("dashboard.index", "/"),
    DataRoute("transactions.index", "/transactions"),
    DataRoute("transactions.index", "/transactions?q=coffee"),
    DataRoute("transactions.export", "/transactions/export.csv"),
    DataRoute("transactions.delete", "/transactions/{row}/delete", shape="row"),  # confirm page
    DataRoute("transactions.delete", "/transactions/{row}/delete", shape="row", method="POST",
              form={}),
    DataRoute("transactions.set_category", "/transactions/{row}/category", shape="row",
              method="POST", form={"category": "Matrix"}),
    DataRoute("transactions.new", "/transactions/new", shape="covered",
              covered_by=CATEGORY_PAGES),  # the form offers the visible categories
    DataRoute("transactions.new", "/transactions/new", shape="create", method="POST",
              form=MANUAL_ENTRY),
    DataRoute("transactions.edit", "/transactions/{row}/edit", shape="row"),
    DataRoute("transactions.edit", "/transactions/{row}/edit", shape="row", method="POST",
              form=dict(MANUAL_ENTRY, description="matrix edit")),
    DataRoute("categories.index", "/categories", shape="covered", covered_by=CATEGORY_PAGES),
    DataRoute("categories.merge", "/categories/merge?from=Coffee&into=Salary", shape="covered",
              covered_by=CATEGORY_PAGES),
    DataRoute("categories.rename", "/categories/rename", shape="bulk", method="POST",
              form={"from": "Coffee", "to": "Matrix"}),
    DataRoute("categories.rename", "/categories/rename", shape="bulk", method="POST",
              form={"from": "Coffee", "to": "Salary", "confirmed": "1"}),  # a merge
    DataRoute("categories_api.api_list", "/api/categories", shape="aggregate",
              reference=category_counts),
    DataRoute("categories_api.api_rename", "/api/categories/rename", shape="bulk",
              method="POST", body={"from": "Coffee", "to": "Matrix"}),
    DataRoute("transactions_api.api_list", "/api/transactions"),
    DataRoute("transactions_api.api_list", "/api/transactions?q=coffee"),
    DataRoute("transactions_api.api_create", "/api/transactions", shape="create", method="POST",
              body={"date": f"{MONTH}-30", "amount": "-1.00", "description": CREATED}),
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
    DataRoute("ingest_api.api_import", "/api/ingest", shape="create", method="POST",
              upload=f"Date,Description,Amount\n{MONTH}-30,{CREATED},-1.00\n"),
    DataRoute("ingest.upload", "/import", shape="covered", method="POST",
              covered_by=UPLOAD_SESSIONS),
    DataRoute("ingest.remap", "/import/{token}/preview", shape="covered", method="POST",
              covered_by=UPLOAD_SESSIONS),
    DataRoute("ingest.confirm", "/import/{token}/confirm", shape="covered", method="POST",
              covered_by=UPLOAD_SESSIONS),
    DataRoute("ingest.progress", "/import/{token}/progress", shape="covered",
              covered_by=UPLOAD_SESSIONS),
    # The page lists the latest categorised rows it learns from.
    DataRoute("suggest.index", "/suggestions"),
    DataRoute("suggest.accept", "/suggestions/{row}/accept", shape="row", method="POST",
              form={"category": "Matrix"}),
    # Too few categorised rows for a model, so nothing is suggested: probe the row filter.
    DataRoute("suggest_api.api_list", "/api/suggestions?transaction_id={row}", shape="row"),
    DataRoute("suggest_api.api_accept", "/api/suggestions/{row}/accept", shape="row",
              method="POST", body={"category": "Matrix"}),
    DataRoute("suggest_api.api_accept_all", "/api/suggestions/accept-all", shape="covered",
              method="POST",
              covered_by="tests/suggest/test_accept_all.py::test_another_users_row_is_a_404_and_nothing_is_saved"),
    DataRoute("suggest.accept_all", "/suggestions/accept-all", shape="covered", method="POST",
              covered_by="tests/suggest/test_accept_all.py::test_web_accept_all_of_another_users_row_is_a_404"),
    # The page and the lists show rules, not transactions: no row markers to probe.
    DataRoute("rules.index", "/rules", shape="covered", covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_list", "/api/rules", shape="covered", covered_by=RULE_ROUTES),
    DataRoute("rules.create", "/rules", shape="covered", method="POST", covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_create", "/api/rules", shape="covered", method="POST",
              covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_get", "/api/rules/{row}", shape="covered", covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_delete", "/api/rules/{row}", shape="covered", method="DELETE",
              covered_by=RULE_ROUTES),
    DataRoute("rules.delete", "/rules/{row}/delete", shape="covered", method="POST",
              covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_preview", "/api/rules/{row}/preview", shape="covered",
              covered_by=RULE_ROUTES),
    DataRoute("rules.preview", "/rules/{row}/preview", shape="covered", covered_by=RULE_ROUTES),
    DataRoute("rules_api.api_apply", "/api/rules/{row}/apply", shape="covered", method="POST",
              covered_by=RULE_ROUTES),
    DataRoute("rules.apply", "/rules/{row}/apply", shape="covered", method="POST",
              covered_by=RULE_ROUTES),
    tool("search_transactions", {"query": "coffee"}),
    tool("explain_month", {"month": MONTH}),
    tool("spending_summary", {"month": MONTH}, lambda rows: ref.summary(rows, MONTH)),
    tool("category_breakdown", {"month": MONTH}, lambda rows: ref.categories(rows, MONTH)),
    tool("top_merchants", {}, lambda rows: ref.merchants(rows, None, 10)),
    DataRoute("charts_api.api_summary", f"/api/charts/summary?month={MONTH}", shape="aggregate",
              reference=lambda rows: ref.summary(rows, MONTH)),
    DataRoute("charts_api.api_categories", f"/api/charts/categories?month={MONTH}",
              shape="aggregate", reference=lambda rows: ref.categories(rows, MONTH)),
    DataRoute("charts_api.api_trends", "/api/charts/trends?months=3", shape="aggregate",
              reference=lambda rows: ref.trends(rows, 3)),
    DataRoute("charts_api.api_merchants", f"/api/charts/merchants?month={MONTH}",
              shape="aggregate", reference=lambda rows: ref.merchants(rows, MONTH, 10)),
    # The charts in the matrix's other currency (its bank fees'): never added to the main one.
    tool("category_breakdown", {"month": MONTH, "currency": "eur"},
         lambda rows: ref.categories(rows, MONTH, "EUR")),
    DataRoute("charts_api.api_categories", f"/api/charts/categories?month={MONTH}&currency=EUR",
              shape="aggregate", reference=lambda rows: ref.categories(rows, MONTH, "EUR")),
    DataRoute("charts_api.api_trends", "/api/charts/trends?months=3&currency=EUR",
              shape="aggregate", reference=lambda rows: ref.trends(rows, 3, "EUR")),
    DataRoute("explain_api.api_month", f"/api/explain/month/{MONTH}"),
    DataRoute("explain_api.api_transaction", "/api/explain/transactions/{row}", shape="row"),
    DataRoute("explain.transaction", "/explain/transactions/{row}", shape="row"),
    # Each owner of the matrix ledger has a repeating budget whose category is a marker.
    DataRoute("budgets.index", f"/budgets?month={MONTH}"),
    DataRoute("budgets_api.api_list", f"/api/budgets?month={MONTH}"),
    DataRoute("budgets.create", "/budgets", shape="covered", method="POST", form={},
              covered_by=BUDGET_CREATE),
    DataRoute("budgets_api.api_create", "/api/budgets", shape="covered", method="POST",
              body={}, covered_by=BUDGET_CREATE),
    DataRoute("budgets.edit", f"{BUDGET}/edit", shape="covered", covered_by=BUDGET_BY_ID),
    DataRoute("budgets.edit", f"{BUDGET}/edit", shape="covered", method="POST", form={},
              covered_by=BUDGET_BY_ID),
    DataRoute("budgets.delete", f"{BUDGET}/delete", shape="covered", covered_by=BUDGET_BY_ID),
    DataRoute("budgets.delete", f"{BUDGET}/delete", shape="covered", method="POST", form={},
              covered_by=BUDGET_BY_ID),
    DataRoute("budgets_api.api_get", f"/api{BUDGET}", shape="covered", covered_by=BUDGET_BY_ID),
    DataRoute("budgets_api.api_update", f"/api{BUDGET}", shape="covered", method="PATCH",
              body={}, covered_by=BUDGET_BY_ID),
    DataRoute("budgets_api.api_delete", f"/api{BUDGET}", shape="covered", method="DELETE",
              covered_by=BUDGET_BY_ID),
]
