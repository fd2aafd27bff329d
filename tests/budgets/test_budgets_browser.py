"""Budgets in a real browser (Debian's Chromium, headless) on a laptop and a phone: set
budgets through the form, see each one's progress on /budgets and on the dashboard, the one
over budget marked in colour and in words; the page never scrolls sideways."""
import base64
from datetime import date

import pytest

from tests.budgets.conftest import MONTH
from tests.conftest import PASSWORD, add_transactions
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SIZES = {"laptop": (1280, 900), "phone": (390, 844)}
# The colour of a pixel of a PNG (base64), a quarter in from its left, half way down:
# inside the filled part of a bar more than a quarter full. Decoded by the browser itself,
# on a blank page (no content security policy to refuse a data: image).
PIXEL = """async (png) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const [r, g, b] = context.getImageData(Math.floor(img.width / 4), Math.floor(img.height / 2), 1, 1).data;
  return `rgb(${r}, ${g}, ${b})`;
}"""
RED, GREEN = "rgb(180, 35, 24)", "rgb(23, 128, 74)"  # --bad and --good of style.css


def painted(bar, blank):
    """The colour the browser painted `bar`'s filled part in."""
    return blank.evaluate(PIXEL, base64.b64encode(bar.screenshot()).decode())


def add_budget(page, category, amount, currency="EUR"):
    form = page.locator("form.budget-form")
    form.get_by_label("Category").fill(category)
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Currency").fill(currency)
    form.get_by_role("button", name="Add budget").click()
    page.wait_for_load_state("load")
    assert page.locator(".flash.success").inner_text() == f"Budget for {category} saved."


def check_bars(page, scope, blank):
    """The two budgets' bars in `scope`: Coffee within budget, Groceries over it."""
    coffee = page.locator(f"{scope} li.budget", has_text="Coffee")
    groceries = page.locator(f"{scope} li.budget", has_text="Groceries")
    bar = coffee.get_by_role("progressbar", name="Coffee: budget used")
    assert (bar.get_attribute("max"), bar.get_attribute("value")) == ("40.00", "12.50")
    assert "€12.50 of €40.00 spent (31%)" in coffee.inner_text()
    assert "€27.50 left" in coffee.inner_text()
    assert "over" not in coffee.get_attribute("class")

    over = groceries.get_by_role("progressbar", name="Groceries: budget used")
    assert (over.get_attribute("max"), over.get_attribute("value")) == ("50.00", "50.00")
    assert "Over budget by €30.00" in groceries.locator(".over-text").inner_text()
    assert "over" in groceries.get_attribute("class")
    # Red for over budget, green within it (and the words above, not colour alone).
    assert (painted(over, blank), painted(bar, blank)) == (RED, GREEN)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_budgets_show_their_progress_on_the_page_and_dashboard(ledger, new_page, output_dir,
                                                               size):
    add_transactions(ledger.app, ledger.ids["alice"], [
        (date(2024, 11, 12), "-80.00", "weekly shop", "Market", "Groceries")])
    width, height = SIZES[size]
    page = new_page(width, height)
    page.emulate_media(reduced_motion="reduce")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "alice@example.com", PASSWORD)
    blank = new_page()
    blank.goto("about:blank")

    page.locator(".topbar nav").get_by_role("link", name="Budgets", exact=True).click()
    page.wait_for_url("**/budgets")
    add_budget(page, "Coffee", "40.00")
    add_budget(page, "Groceries", "50")
    page.goto(f"/budgets?month={MONTH}")
    check_bars(page, "#budget-progress", blank)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(output_dir / f"budgets-{size}.png"), full_page=True)

    # A refused form says why by the field, and keeps what was typed.
    form = page.locator("form.budget-form")
    form.get_by_label("Category").fill("Rent")
    form.get_by_label("Amount").fill("abc")
    form.get_by_role("button", name="Add budget").click()
    page.wait_for_load_state("load")
    assert "is not a decimal amount" in page.locator("#new-amount-error").inner_text()
    assert page.locator("#new-category").input_value() == "Rent"
    page.screenshot(path=str(output_dir / f"budgets-form-error-{size}.png"), full_page=True)

    page.goto(f"/?month={MONTH}")
    check_bars(page, "#dashboard-budgets", blank)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#dashboard-budgets").screenshot(
        path=str(output_dir / f"dashboard-budgets-{size}.png"))
    page.screenshot(path=str(output_dir / f"dashboard-{size}.png"), full_page=True)

    # Raise the groceries budget: no longer over. Then delete the coffee one.
    page.get_by_role("link", name="Manage budgets").click()
    page.get_by_role("link", name="Edit the budget for Groceries").click()
    page.get_by_label("Amount").fill("100")
    page.screenshot(path=str(output_dir / f"budget-edit-{size}.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    groceries = page.locator("#budget-progress li.budget", has_text="Groceries")
    assert "€20.00 left" in groceries.inner_text()
    assert "over" not in groceries.get_attribute("class")
    page.get_by_role("link", name="Delete the budget for Coffee").click()
    page.screenshot(path=str(output_dir / f"budget-delete-{size}.png"), full_page=True)
    page.get_by_role("button", name="Delete").click()
    page.wait_for_load_state("load")
    assert page.locator(".flash.success").inner_text() == "Deleted the budget for Coffee."
    assert page.locator("#budget-progress li.budget").count() == 1
    assert errors == []
