"""Every page of the app, for browser tests parametrized over them (phone layout,
accessibility), and the data that fills them.

The pages are derived from the URL map (`tests/security/url_map.py`): every rule that
answers GET is a page unless it is JSON (under /api/), a file (its rule ends in an extension,
such as export.csv) or listed in `NOT_PAGES`. So a page added later is tested without being
listed here: it is opened by the viewer its `@access` kind calls for (`ROUTE_KINDS`), its
URL variables filled with a row its viewer owns (`<int:tx_id>`, `<int:batch_id>`, and any
`<int:<table>_id>` of an owned model); a variable nothing here can fill fails the test,
saying so. The last few `STATES` are pages a form leads to (an import preview, an error).
"""
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import ADMIN, DATA, MONITORING, PUBLIC, unscoped
from finance_app.models import Budget, ImportBatch, Owned, Rule, Transaction
from tests.conftest import (
    PASSWORD,
    People,
    add_batch,
    add_transactions,
    add_user,
    csrf_token,
    set_isolation,
)
from tests.isolation.route_matrix import ROUTE_KINDS
from tests.security.url_map import GET_ENDPOINTS
from tests.suggest.conftest import UNCATEGORISED, categorised_rows
from tests.support.browser import sign_in

# GET endpoints outside /api/ that answer no page (each says what it answers instead).
NOT_PAGES = {
    "static": "the stylesheet, scripts and icons",
    "health.healthz": "JSON for load balancers",
    "health.readyz": "JSON for load balancers",
    "observability.scrape": "Prometheus metrics (text)",
    "ingest.progress": "JSON polled by the import page",
    "suggest.table": "HTML fragment fetched by the suggestions page (tested in its place)",
}
FILE_RULE = re.compile(r"\.\w+$")  # /transactions/export.csv
# The pages for someone not signed in (other AUTH pages, like settings, need a session).
SIGNED_OUT = {"auth.login", "auth.signup"}

MEMBER = "alice"       # a user with a realistic ledger of her own (isolated: cohort staff)
NEWCOMER = "newcomer"  # isolated too, with no transactions yet
ADMINISTRATOR = "admin"


@dataclass(frozen=True)
class Page:
    name: str                 # the test id
    viewer: str = None        # signed in as `<viewer>@example.com`; None: signed out
    rule: str = None          # the URL rule to open, its variables filled by `Site.path`
    reach: Callable = None    # or: reach(browser_page) -> the response of a form's page
    status: int = 200

    def __str__(self):
        return self.name


def viewer_of(endpoint):
    """Who opens a page: whom its `@access` kind serves. Data pages and the AUTH pages of a
    session (settings) are opened by a member; an unclassified route is failed by
    tests/isolation/test_route_matrix.py and opened here as a member meanwhile."""
    kind = ROUTE_KINDS.get(endpoint, DATA)
    if kind in (ADMIN, MONITORING):
        return ADMINISTRATOR
    if kind == PUBLIC or endpoint in SIGNED_OUT:
        return None
    return MEMBER


def pages_of(get_endpoints):
    return [Page(f"{rule} ({endpoint})", viewer_of(endpoint), rule)
            for rule, endpoint in get_endpoints
            if not rule.startswith("/api/") and not FILE_RULE.search(rule)
            and endpoint not in NOT_PAGES]


# --- pages a form leads to ---------------------------------------------------------------------

PREVIEW_CSV = (
    "Date,Description,Merchant,Amount\n"
    "2024-12-01,CARD PAYMENT TO TESCO STORES 9911 LONDON GB REF 0042 9911 4471,Tesco,-23.40\n"
    "2024-12-02,SALARY DECEMBER ACME LIMITED,Acme,2500.00\n"
    "2024-12-03,UBER *TRIP 7781 HELP.UBER.COM,Uber,-14.10\n"
)


def _submit(browser_page, button):
    with browser_page.expect_navigation() as navigation:
        browser_page.click(button)
    return navigation.value


HEADER_ONLY_CSV = PREVIEW_CSV.splitlines(keepends=True)[0]
# Enough unreadable lines for the preview's list of them to scroll (among more good ones:
# a column mostly unreadable is no amount column at all).
BAD_LINES_CSV = (PREVIEW_CSV
                 + "".join(f"2024-12-{day:02},CARD PAYMENT {day},Shop,-{day}.00\n"
                           for day in range(4, 29))
                 + "".join(f"2024-12-{day:02},PAYMENT {day},Shop,not money\n"
                           for day in range(4, 24)))


def preview_an_import(csv):
    def reach(browser_page):
        browser_page.goto("/import")
        browser_page.set_input_files("input[name=file]", files=[{
            "name": "december-statement.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
        return _submit(browser_page, "#upload-panel button[type=submit]")
    return reach


def refused_sign_in(browser_page):
    browser_page.goto("/login")
    browser_page.fill("input[name=email]", "alice@example.com")
    browser_page.fill("input[name=password]", "not the password")
    return _submit(browser_page, "main button[type=submit]")


STATES = [
    Page("import preview", MEMBER, reach=preview_an_import(PREVIEW_CSV)),
    Page("import preview with bad lines", MEMBER, reach=preview_an_import(BAD_LINES_CSV)),
    Page("import of a file with no rows", MEMBER, reach=preview_an_import(HEADER_ONLY_CSV),
         status=422),
    Page("dashboard of a new user", NEWCOMER, "/"),
    Page("sign-in refused", None, reach=refused_sign_in, status=400),
    Page("page not found", MEMBER, "/no-such-page", status=404),
]

PAGES = pages_of(GET_ENDPOINTS) + STATES


# --- the data behind them ----------------------------------------------------------------------

VARIABLE = re.compile(r"<(?:\w+:)?(\w+)>")
# Variables whose names do not follow `<table in the singular>_id`.
OWNED_BY_VARIABLE = {"tx_id": Transaction, "batch_id": ImportBatch}
LONG_DESCRIPTION = ("DIRECT DEBIT PAYMENT TO NORTHERN ELECTRICITY AND GAS SUPPLY COMPANY "
                    "REF 00012345678901234567 MANDATE NO 0099")


def owned_model(variable):
    """The owned model a URL variable names: tx_id, batch_id, or `<table singular>_id`."""
    if variable in OWNED_BY_VARIABLE:
        return OWNED_BY_VARIABLE[variable]
    for mapper in db.Model.registry.mappers:
        model, table = mapper.class_, mapper.class_.__tablename__
        singulars = {table[:-1], table[:-2], table[:-3] + "y"}  # accounts, batches, categories
        if issubclass(model, Owned) and variable.removesuffix("_id") in singulars:
            return model
    return None


class Site:
    """The People of tests/conftest.py (cohort staff isolated), alice with a ledger long
    enough for every table (suggestions, imports), a newcomer with none, one change in the
    flag dashboard's audit log and a few denials in its last hour."""

    def __init__(self, app):
        self.app = app
        self.people = People(app)
        set_isolation(app, ["staff"])
        alice = self.people.ids[MEMBER]
        rows = categorised_rows() + [row for row, _ in UNCATEGORISED]
        imported = add_transactions(app, alice, rows + [
            (date(2024, 11, 28), "-131.07", LONG_DESCRIPTION, "Northern Electricity", None)])
        add_batch(app, alice, "current-account-statement-2024-06-01-to-2024-11-30.csv",
                  imported[-5:])
        # A budget (over, so its bar is red) and a rule, for their pages.
        with app.app_context(), unscoped("tests: alice's budget and rule"):
            db.session.add_all([
                Budget(user_id=alice, category="Groceries", amount=Decimal("50.00"),
                       currency=app.config["DEFAULT_CURRENCY"]),
                Rule(user_id=alice, field="merchant", pattern="tesco", category="Groceries")])
            db.session.commit()
        self.ids = dict(self.people.ids, newcomer=add_user(app, "newcomer@example.com", "staff"))
        admin = self.people.client(ADMINISTRATOR)
        created = admin.post("/admin/flags/cohorts", data={
            "name": "pilot", "reason": "A first group to try private ledgers",
            "csrf_token": csrf_token(admin, "/admin/flags")})
        assert created.status_code == 302
        # Denials for the dashboard's last hour (its charts and widest table).
        assert self.people.client(MEMBER).get("/api/transactions/999999").status_code == 404
        assert app.test_client().get("/api/transactions").status_code == 401
        app.extensions["observability"].tick()

    def path(self, rule, viewer):
        """The rule with each variable filled by the first row of its kind `viewer` owns."""
        return VARIABLE.sub(lambda m: str(self._owned_id(rule, m.group(1), viewer)), rule)

    def _owned_id(self, rule, variable, viewer):
        with self.app.app_context():
            model = owned_model(variable)
            if model is None:
                pytest.fail(f"{rule}: tests/support/pages.py cannot fill <{variable}>: add it to "
                            "OWNED_BY_VARIABLE, or list the page in STATES")
            with unscoped("tests: a row to open a page with"):
                row_id = db.session.scalar(select(model.id).where(
                    model.user_id == self.ids[viewer]).order_by(model.id).limit(1))
        if row_id is None:
            pytest.fail(f"{rule}: {viewer} owns no {model.__name__}; give them one in "
                        "tests/support/pages.py Site")
        return row_id

    def open(self, browser_page, page):
        """Sign in as the page's viewer and open it; fails unless it answers its HTML page."""
        if page.viewer:
            sign_in(browser_page, f"{page.viewer}@example.com", PASSWORD)
        response = (page.reach(browser_page) if page.reach
                    else browser_page.goto(self.path(page.rule, page.viewer)))
        assert response.status == page.status, (page.name, response.status)
        assert response.headers["content-type"].startswith("text/html"), (
            f"{page.name} answers {response.headers['content-type']}, not a page: list its "
            "endpoint in NOT_PAGES of tests/support/pages.py")
        browser_page.wait_for_load_state("networkidle")


@pytest.fixture
def site(app):
    return Site(app)
