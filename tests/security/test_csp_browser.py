"""The Content-Security-Policy in a real browser (Debian's Chromium): the pages that run
script — the dashboard's charts, the import preview's progress, the confirmations of account
deletion and import undo — work with it on, and the browser reports no violation."""
import pytest

from tests.conftest import PASSWORD, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

# Collected in every document of the page, from its first script on.
WATCH_VIOLATIONS = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""
CSV = "Date,Description,Amount\n2024-04-20,Bakery,-4.20\n2024-04-21,Bookshop,-12.00\n"


@pytest.fixture
def watched_page(new_page):
    """A page whose console and CSP violation reports are collected; `check()` asserts none."""
    page = new_page()
    console, errors = [], []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(WATCH_VIOLATIONS)

    def check():
        assert page.evaluate("window.__violations") == []
        assert not [m for m in console if "Content Security Policy" in m], console
        assert errors == []

    page.check = check
    return page


def test_the_dashboard_charts_draw_with_the_policy_on(ledger, watched_page, output_dir):
    set_isolation(ledger.app, ["staff"])
    page = watched_page
    sign_in(page, "erin@example.com", PASSWORD)
    assert "script-src 'self'" in page.context.request.get("/").headers[
        "content-security-policy"]
    ids = ["trend-chart", "category-chart", "merchant-chart"]
    page.wait_for_function("ids => ids.every(id => Chart.getChart(document.getElementById(id)))",
                           arg=ids)
    page.check()
    page.screenshot(path=str(output_dir / "dashboard-with-csp.png"), full_page=True)


def test_confirmations_and_import_progress_run_from_static_scripts(app, watched_page, tmp_path):
    from tests.conftest import add_user

    add_user(app, "gina@example.com")
    page = watched_page
    sign_in(page, "gina@example.com", PASSWORD)

    # The import preview loads its progress script; confirming imports the rows.
    page.goto("/import")
    upload = tmp_path / "bank.csv"
    upload.write_text(CSV)
    page.set_input_files("input[type=file]", str(upload))
    page.locator("#upload-panel button[type=submit]").click()
    page.wait_for_selector("#import-form")
    page.click("#confirm-import")
    page.wait_for_url("**/transactions?batch=*")
    assert page.get_by_text("Bookshop").count() == 1
    page.check()

    # Undoing the import asks first: dismissed, nothing happens; accepted, it is undone.
    page.goto("/import")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Undo import").click()
    assert page.get_by_role("button", name="Undo import").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo import").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Undo import").count() == 0

    # Deleting the account asks too: dismissed, the account stays.
    page.goto("/settings")
    page.fill("#delete-password", PASSWORD)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete my account").click()
    assert asked == ["Delete your account and all its data?"]
    assert page.url.endswith("/settings")
    assert page.evaluate("fetch('/api/me').then(r => r.status)") == 200
    page.check()
