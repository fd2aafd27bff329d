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
- "row": called with each owner's row of an owned model, named in the path by a placeholder
  of `PLACEHOLDERS` (`{row}` a transaction, `{batch}` an import batch, `{account}` an
  account, `{rule}`, `{budget}`): a read (GET) answers 200 and a write changes the row when the viewer may see
  it; otherwise 404 (never 403), no marker, and nothing of that owner changes. A
  placeholder's model may be personal on every ledger (import batches);
- "bulk": a write over many rows at once (a category rename): one request changes the rows
  of exactly the owners the viewer may reach, and nothing of any other owner;
- "create": stamps the viewer as the owner of what it creates, whatever the flag (201 from
  the API, a redirect from a page);
- "covered": a flow held per upload session, which the generic probe cannot drive;
  `covered_by` names the test that checks it for owner vs other user.
Every entry, of every shape, answers 503 under the emergency lock, and every response the
matrix gets carries the privacy headers.
"""
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from finance_app.isolation import ADMIN, AUTH, DATA, MONITORING, PUBLIC
from finance_app.models import Account, Budget, ImportBatch, Rule, Transaction
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
    "suggest.table": DATA,
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
    "accounts.index": DATA,
    "accounts.create": DATA,
    "accounts.rename": DATA,
    "accounts_api.api_list": DATA,
    "accounts_api.api_create": DATA,
    "accounts_api.api_get": DATA,
    "accounts_api.api_update": DATA,
    "accounts_api.api_delete": DATA,
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


# --- the owned rows a route can name --------------------------------------------------------

@dataclass(frozen=True)
class Placeholder:
    """An owned model whose rows data routes name in their paths (`{name}`). The matrix's
    ledger gives every owner in OWNERS one row of it (the owner's own, made by `make`), whose
    `marker` column names the owner, so that a leak shows in a response; the probe checks
    the owner's row against every route that names the placeholder, and `matrix.state`
    compares every column of every owner's rows of every model here before and after.

    A model added to the app is covered by adding its entry here, then its routes to
    ROUTE_KINDS and DATA_ROUTES with `{name}` in their paths."""

    model: type
    marker: str                # the column holding the owner-naming text
    text: str                  # that text, with "{name}" for the owner's name
    make: Callable = None      # (ledger, owner name, user id or None) -> the row's id
    personal: bool = False     # the owner's own on every ledger (import batches)

    def marker_of(self, name):
        return self.text.format(name=name)


def _make_account(ledger, name, user_id):
    """An empty account of the owner's (an unowned one for UNOWNED): deletable, renamable."""
    return ledger.add_row(Account(user_id=user_id, name=f"{name} savings", kind="savings",
                                  currency="EUR"))


def _make_rule(ledger, name, user_id):
    """A rule filing uncategorised "bank fee" rows under a category naming the owner: applied
    (overwriting), it changes the fees of exactly the owners its viewer may change."""
    return ledger.add_row(Rule(user_id=user_id, field="description", pattern="bank fee",
                               category=f"{name} rule"))


def _make_budget(ledger, name, user_id):
    """A repeating budget whose category names the owner."""
    return ledger.add_row(Budget(user_id=user_id, category=f"{name} budget",
                                 amount=Decimal("50.00"), currency="EUR"))


PLACEHOLDERS = {
    # The owner's coffee row and the import batch holding it are the ledger's own rows (the
    # People fixture's rows and batches carry these markers).
    "row": Placeholder(Transaction, "description", "{name} coffee"),
    "batch": Placeholder(ImportBatch, "filename", "{name}-statement.csv", personal=True),
    "account": Placeholder(Account, "name", "{name} savings", make=_make_account),
    "rule": Placeholder(Rule, "category", "{name} rule", make=_make_rule),
    "budget": Placeholder(Budget, "category", "{name} budget", make=_make_budget),
}


def may_reach(route, viewer, owner):
    if owner == viewer:
        return True
    personal = route.shape == "personal" or (route.shape == "row" and route.placeholder.personal)
    return not personal and OWNERS[owner] in SEES[OWNERS[viewer]]


# --- the data routes --------------------------------------------------------------------------

MONTH = "2024-11"          # every row of the matrix's ledger is dated in this month
UPLOAD_TOKEN = "0" * 32    # fills "{token}": an upload no session holds
CREATED = "matrix create"  # the description of what the "create" routes make


@dataclass(frozen=True)
class DataRoute:
    endpoint: str
    path: str                     # PLACEHOLDERS' "{row}", "{batch}", ..., "{token}": see `url`
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
        return (self.shape in ("create", "bulk")
                or (self.shape == "row" and self.method != "GET"))

    @property
    def placeholder(self):
        """The PLACEHOLDERS entry a "row" route names in its path."""
        named = [p for name, p in PLACEHOLDERS.items() if f"{{{name}}}" in self.path]
        assert len(named) == 1, f"{self}: a row route names one of {sorted(PLACEHOLDERS)}"
        return named[0]

    def url(self, token=UPLOAD_TOKEN, **ids):
        """The path with an id for each placeholder (`row=`, `batch=`, ...) and an upload
        token filled in."""
        return self.path.format(token=token, **ids)

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
    DataRoute("ingest_api.api_undo", "/api/ingest/batches/{batch}", shape="row",
              method="DELETE"),
    DataRoute("ingest.undo", "/import/batches/{batch}/undo", shape="row", method="POST",
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
    # The suggestions list the latest categorised rows they learn from: in the page with
    # ?now=1 (without it the page holds no rows: its script fetches /suggestions/table).
    DataRoute("suggest.index", "/suggestions?now=1"),
    DataRoute("suggest.table", "/suggestions/table"),
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
    DataRoute("rules.index", "/rules"),
    DataRoute("rules_api.api_list", "/api/rules"),
    DataRoute("rules.create", "/rules", shape="create", method="POST",
              form={"field": "merchant", "pattern": "matrix", "category": CREATED}),
    DataRoute("rules_api.api_create", "/api/rules", shape="create", method="POST",
              body={"field": "merchant", "pattern": "matrix", "category": CREATED}),
    DataRoute("rules_api.api_get", "/api/rules/{rule}", shape="row"),
    DataRoute("rules_api.api_delete", "/api/rules/{rule}", shape="row", method="DELETE"),
    DataRoute("rules.delete", "/rules/{rule}/delete", shape="row", method="POST", form={}),
    DataRoute("rules_api.api_preview", "/api/rules/{rule}/preview?overwrite=1", shape="row"),
    DataRoute("rules.preview", "/rules/{rule}/preview?overwrite=1", shape="row"),
    # Overwriting: rows another owner's rule filed already change too.
    DataRoute("rules_api.api_apply", "/api/rules/{rule}/apply", shape="row", method="POST",
              body={"overwrite": True}),
    DataRoute("rules.apply", "/rules/{rule}/apply", shape="row", method="POST",
              form={"overwrite": "1"}),
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
    DataRoute("accounts.index", "/accounts"),
    DataRoute("accounts.create", "/accounts", shape="create", method="POST",
              form={"name": CREATED, "currency": "EUR"}),
    DataRoute("accounts.rename", "/accounts/{account}/rename", shape="row", method="POST",
              form={"name": "Matrix"}),
    DataRoute("accounts_api.api_list", "/api/accounts"),
    DataRoute("accounts_api.api_create", "/api/accounts", shape="create", method="POST",
              body={"name": CREATED, "currency": "EUR"}),
    DataRoute("accounts_api.api_get", "/api/accounts/{account}", shape="row"),
    DataRoute("accounts_api.api_update", "/api/accounts/{account}", shape="row",
              method="PATCH", body={"name": "Matrix"}),
    DataRoute("accounts_api.api_delete", "/api/accounts/{account}", shape="row",
              method="DELETE"),
    # One account's rows, with running balances: the account must be visible.
    DataRoute("transactions_api.api_list", "/api/transactions?account={account}", shape="row"),
    DataRoute("transactions.index", "/transactions?account={account}", shape="row"),
    DataRoute("budgets.index", f"/budgets?month={MONTH}"),
    DataRoute("budgets_api.api_list", f"/api/budgets?month={MONTH}"),
    DataRoute("budgets.create", "/budgets", shape="create", method="POST",
              form={"category": CREATED, "amount": "5.00", "currency": "EUR", "month": ""}),
    DataRoute("budgets_api.api_create", "/api/budgets", shape="create", method="POST",
              body={"category": CREATED, "amount": "5.00", "currency": "EUR"}),
    DataRoute("budgets.edit", "/budgets/{budget}/edit", shape="row"),
    DataRoute("budgets.edit", "/budgets/{budget}/edit", shape="row", method="POST",
              form={"category": "Matrix", "amount": "7.00", "currency": "EUR", "month": ""}),
    DataRoute("budgets.delete", "/budgets/{budget}/delete", shape="row"),
    DataRoute("budgets.delete", "/budgets/{budget}/delete", shape="row", method="POST",
              form={}),
    DataRoute("budgets_api.api_get", "/api/budgets/{budget}", shape="row"),
    DataRoute("budgets_api.api_update", "/api/budgets/{budget}", shape="row", method="PATCH",
              body={"amount": "7.00"}),
    DataRoute("budgets_api.api_delete", "/api/budgets/{budget}", shape="row", method="DELETE"),
]
