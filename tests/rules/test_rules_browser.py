"""Rules in a real browser (Debian's Chromium, headless), on a laptop and on a phone: a rule
made from a suggestion ("Always"), seen on /rules, previewed and applied."""
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, add_transactions, set_isolation
from tests.rules.conftest import categories
from tests.suggest.conftest import Ledger
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_rule_from_a_suggestion_previewed_and_applied(app, new_page, output_dir, size):
    set_isolation(app, ["staff"])
    erin = Ledger(app, "erin@example.com", "staff")
    # More of the same shop, not yet categorised: what the rule will file.
    more = add_transactions(app, erin.user_id, [
        (date(2024, 11, 20 + d), f"-{d}.50", f"TESCO STORES 77{d}", "Tesco") for d in range(3)])
    width, height = SIZES[size]
    page = new_page(width, height)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "erin@example.com", PASSWORD)

    page.goto("/suggestions")
    # The page's script swaps the suggestions in once they are worked out.
    expect(page.get_by_role("button", name="Accept all 7")).to_be_visible()
    page.screenshot(path=str(output_dir / f"{size}-1-suggestions.png"), full_page=True)
    page.get_by_role("button", name="Accept and always file Tesco under Groceries").first.click()
    flash = page.locator(".flash.success")
    assert "a rule made: merchant contains “tesco” → Groceries" in flash.inner_text()

    page.get_by_role("link", name="Rules").click()
    row = page.locator("table.rules tbody tr")
    assert row.count() == 1 and "merchant contains tesco" in row.inner_text()
    assert "Groceries" in row.inner_text()
    page.screenshot(path=str(output_dir / f"{size}-2-rules.png"), full_page=True)

    row.get_by_role("link", name="Preview").click()
    # The Tesco rows accepting left uncategorised: one of Erin's originals was accepted.
    assert "would categorise 3 transactions" in page.locator("main").inner_text()
    assert page.locator("table tbody tr").count() == 3
    assert categories(app, more) == dict.fromkeys(more)  # a preview changes nothing
    page.screenshot(path=str(output_dir / f"{size}-3-preview.png"), full_page=True)

    page.get_by_role("button", name="Apply to 3 transactions").click()
    assert "Rule applied: 3 transactions categorised." in page.locator(".flash").inner_text()
    assert categories(app, more) == dict.fromkeys(more, "Groceries")
    page.screenshot(path=str(output_dir / f"{size}-4-applied.png"), full_page=True)
    for path in ("/rules", "/suggestions"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    assert errors == []
