"""Manual entry and category management in a real browser (Debian's Chromium, headless), on a
laptop and on a phone: add a transaction and find it in the list; rename and merge
categories and read the counts. Screenshots in test-output/."""
import pytest

from tests.conftest import PASSWORD
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def fits(page, width):
    """The page never scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


def count_of(page, category):
    return page.locator("#category-table tr", has=page.get_by_role(
        "link", name=category, exact=True)).locator("td.count").inner_text()


@pytest.mark.parametrize("size", SIZES)
def test_add_a_transaction_by_hand_and_see_it_in_the_list(dana, new_page, output_dir, size):
    width, height = SIZES[size]
    page = new_page(width, height)
    sign_in(page, "dana@example.com", PASSWORD)
    page.goto("/transactions")
    page.get_by_role("link", name="Add transaction").click()
    page.wait_for_url("**/transactions/new")
    assert page.get_by_label("Expense (money out)").is_checked()
    assert fits(page, width)
    page.get_by_label("Amount").fill("23.40")
    page.get_by_label("Date").fill("2024-03-20")
    page.get_by_label("Description").fill("Hardware store")
    page.get_by_label("Merchant").fill("Tool Barn")
    page.get_by_label("Category").fill("Home")
    page.screenshot(path=str(output_dir / f"new-transaction-{size}.png"), full_page=True)
    page.get_by_role("button", name="Add transaction").click()
    page.wait_for_url("**/transactions#tx-*")
    assert page.locator(".flash.success").inner_text() == "Added “Hardware store”."
    row = page.locator("tr:target")  # the new row, scrolled to and highlighted
    assert row.is_visible()
    assert "Hardware store" in row.inner_text() and "−$23.40" in row.inner_text()
    assert row.locator("input[name=category]").input_value() == "Home"
    assert fits(page, width)
    page.screenshot(path=str(output_dir / f"list-with-new-row-{size}.png"))

    # A mistake shows beside its field, and what was typed stays.
    page.goto("/transactions/new")
    page.get_by_label("Amount").fill("abc")
    page.get_by_label("Description").fill("Typo")
    page.get_by_role("button", name="Add transaction").click()
    assert "is not a decimal amount" in page.locator(".field-error").inner_text()
    assert page.get_by_label("Description").input_value() == "Typo"
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(output_dir / f"new-transaction-error-{size}.png"), full_page=True)

    # Edit the row: income now.
    page.goto("/transactions?q=Hardware")
    page.get_by_role("link", name="Edit Hardware store").click()
    page.get_by_label("Income (money in)").check()
    page.get_by_label("Description").fill("Hardware refund")
    page.screenshot(path=str(output_dir / f"edit-transaction-{size}.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/transactions#tx-*")
    row = page.locator("tr:target")
    assert "Hardware refund" in row.inner_text() and "23.40" in row.inner_text()
    assert "−$23.40" not in row.inner_text()


@pytest.mark.parametrize("size", SIZES)
def test_rename_and_merge_categories_with_counts(dana, new_page, output_dir, size):
    width, height = SIZES[size]
    page = new_page(width, height)
    sign_in(page, "dana@example.com", PASSWORD)
    page.get_by_role("link", name="Categories").click()
    page.wait_for_url("**/categories")
    assert count_of(page, "Rent") == "1" and count_of(page, "Uncategorised") == "1"
    assert fits(page, width)
    page.screenshot(path=str(output_dir / f"categories-{size}.png"), full_page=True)

    page.get_by_label("Category", exact=True).select_option("Rent")
    page.get_by_label("New name").fill("Housing")
    page.get_by_role("button", name="Rename").click()
    page.wait_for_load_state()
    assert "Renamed “Rent” to “Housing”: 1 row changed." in page.locator(".flash").inner_text()
    assert count_of(page, "Housing") == "1"
    assert page.get_by_role("link", name="Rent", exact=True).count() == 0

    page.get_by_label("Merge", exact=True).select_option("Restaurants")
    page.get_by_label("into", exact=True).select_option("Groceries")
    page.get_by_role("button", name="Merge…").click()
    page.wait_for_url("**/categories/merge?*")
    assert page.locator("#merge-counts").inner_text().startswith(
        "1 transaction will move from “Restaurants” to “Groceries”, which has 1 already")
    assert fits(page, width)
    page.screenshot(path=str(output_dir / f"merge-confirm-{size}.png"), full_page=True)
    page.get_by_role("button", name="Merge").click()
    page.wait_for_url("**/categories")
    assert count_of(page, "Groceries") == "2"
    assert page.get_by_role("link", name="Restaurants", exact=True).count() == 0
    page.screenshot(path=str(output_dir / f"categories-after-merge-{size}.png"), full_page=True)
