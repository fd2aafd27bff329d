"""The suggestions page in a real browser (Debian's Chromium, headless), on a laptop and on a
phone: it answers with its status, its script swaps the suggestions in, and a failure says so
with a way to try again."""
import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.suggest.conftest import Ledger
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def open_suggestions(app, new_page, size):
    Ledger(app, "erin@example.com", "staff")
    page = new_page(*SIZES[size])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "erin@example.com", PASSWORD)
    return page, errors


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_the_suggestions_arrive_in_the_page(app, new_page, output_dir, size):
    page, errors = open_suggestions(app, new_page, size)
    page.goto("/suggestions")
    rows = page.locator("table.suggestions tbody tr")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("status")).to_have_text("Suggestions ready.")
    assert page.get_by_role("status").bounding_box()["width"] <= 1  # for screen readers only
    assert page.get_by_role("button", name="Accept all 4").is_visible()
    width = SIZES[size][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if size == "phone":  # tables.js reflowed the table that came later, too
        assert rows.first.locator("td").first.get_attribute("data-label") == "Date"
    page.screenshot(path=str(output_dir / f"{size}-suggestions.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())  # "Save all 4 suggested categories?"
    page.get_by_role("button", name="Accept all 4").click()
    expect(page.locator(".flash.success")).to_have_text("4 categories saved.")
    expect(page.locator("#suggestions-results")).to_contain_text("Nothing to suggest")
    assert errors == []


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_a_failure_says_so_and_can_be_retried(app, new_page, output_dir, size):
    page, errors = open_suggestions(app, new_page, size)
    page.route("**/suggestions/table", lambda route: route.fulfill(status=500, body="boom"))
    page.goto("/suggestions")
    status = page.get_by_role("status")
    expect(status).to_contain_text("The suggestions could not be worked out just now.")
    assert page.locator("table.suggestions").count() == 0
    page.screenshot(path=str(output_dir / f"{size}-failed.png"), full_page=True)

    page.unroute("**/suggestions/table")
    status.get_by_role("link", name="Try again").click()
    expect(page.locator("table.suggestions tbody tr")).to_have_count(4)
    assert page.url.endswith("/suggestions")  # fetched again, not navigated
    assert errors == []


def test_the_status_shows_while_the_suggestions_are_worked_out(app, new_page, output_dir):
    page, _ = open_suggestions(app, new_page, "desktop")
    held = []
    page.route("**/suggestions/table", lambda route: held.append(route))  # not answered until released
    page.goto("/suggestions")
    status = page.get_by_role("status")
    expect(status).to_have_text("Working out suggestions…")
    expect(status).to_be_visible()
    page.screenshot(path=str(output_dir / "working.png"), full_page=True)
    held[0].continue_()
    expect(page.locator("table.suggestions tbody tr")).to_have_count(4)
