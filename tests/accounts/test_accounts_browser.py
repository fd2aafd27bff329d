"""The accounts page, the import panel's account choice, the transactions list of one account
and the dashboard's accounts panel, in a real browser at laptop and phone widths."""
from datetime import date

import pytest

from tests.conftest import PASSWORD, add_transactions, add_user, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

WIDTHS = {"laptop": 1280, "phone": 390}


@pytest.mark.parametrize("device", WIDTHS)
def test_create_an_account_and_see_it_everywhere(app, new_page, output_dir, device):
    set_isolation(app, ["general"])
    user_id = add_user(app, "ann@example.com")
    add_transactions(app, user_id, [(date(2024, 11, 1), "-10.00", "ann lunch", "Deli", "Food"),
                                    (date(2024, 11, 2), "100.00", "ann refund")])
    page = new_page(width=WIDTHS[device])
    sign_in(page, "ann@example.com", PASSWORD)

    page.get_by_role("link", name="Accounts").click()
    page.wait_for_url("**/accounts")
    page.get_by_label("Name", exact=True).fill("Credit card")
    page.get_by_label("Kind").select_option("card")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Opening balance").fill("-20.00")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    assert page.locator(".flash.success").inner_text() == "Account “Credit card” created."
    rows = page.locator("table.accounts tbody tr")
    assert rows.count() == 2
    assert "−€20.00" in rows.nth(0).inner_text() and "€90.00" in rows.nth(1).inner_text()
    page.screenshot(path=str(output_dir / f"accounts-{device}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device]

    page.get_by_role("link", name="Main account").click()
    page.wait_for_load_state()
    assert page.locator("td.running-balance").all_inner_texts() == ["€90.00", "−€10.00"]
    page.screenshot(path=str(output_dir / f"transactions-of-account-{device}.png"),
                    full_page=True)

    page.goto("/import")
    options = page.locator("#import-account option").all_inner_texts()
    assert options[1:] == ["Credit card (EUR)", "Main account (EUR)", "New account…"]
    page.screenshot(path=str(output_dir / f"import-{device}.png"), full_page=True)

    page.goto("/?month=2024-11")
    panel = page.locator("#accounts-panel")
    assert "Credit card" in panel.inner_text() and "€90.00" in panel.inner_text()
    page.locator("#dashboard-account").select_option(label="Credit card (EUR)")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "account=" in page.url
    assert "None in 2024-11" in page.locator("section.recent").inner_text()
    page.screenshot(path=str(output_dir / f"dashboard-account-{device}.png"), full_page=True)
