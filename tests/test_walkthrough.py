"""A new user's first session, in a real browser at laptop and phone widths (issue 14's "done
when"): sign up → create an account → import a CSV and an OFX statement into it → see the
sums, date range and imported rows → make a rule from a suggestion → set a budget → see the
dashboard with balances, budgets and per-currency totals.

Every step leaves a screenshot in test-output/<test>/ (CI keeps the folder as an artifact).
"""
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
OFX = Path(__file__).parent / "ingest" / "fixtures" / "ofx" / "checking_v1.ofx"  # USD, 2024-03
EMAIL, PASSWORD = "walker@example.com", "a long walkthrough password"


def bank_csv():
    """A March 2024 export: 12 categorised rows in two categories (enough to learn from) and
    an uncategorised coffee, in the account's currency (the file names none)."""
    lines = ["Date,Description,Merchant,Category,Amount"]
    day = date(2024, 3, 1)
    for n in range(6):
        lines.append(f"{day + timedelta(days=n)},CARD PAYMENT BLUE BOTTLE COFFEE {n},"
                     f"BLUE BOTTLE COFFEE,Coffee,-4.{n}0")
        lines.append(f"{day + timedelta(days=n)},CARD PAYMENT TESCO STORES 77{n},"
                     f"TESCO,Groceries,-2{n}.00")
    lines.append("2024-03-20,CARD PAYMENT BLUE BOTTLE COFFEE 9,BLUE BOTTLE COFFEE,,-4.90")
    return "\n".join(lines) + "\n"


class Walk:
    """The page, the step counter and the screenshots."""

    def __init__(self, page, folder, width):
        self.page, self.folder, self.width, self.step = page, folder, width, 0

    def shot(self, name):
        self.step += 1
        self.page.screenshot(path=str(self.folder / f"{self.step:02d}-{name}.png"),
                             full_page=True)
        assert self.page.evaluate("document.documentElement.scrollWidth") <= self.width, name

    def nav(self, name):
        self.page.locator(".topbar nav").get_by_role("link", name=name, exact=True).click()
        self.page.wait_for_load_state()

    def upload(self, name, content, account):
        self.nav("Import")
        self.page.locator("input[type=file]").set_input_files(
            files=[{"name": name, "mimeType": "text/plain", "buffer": content}])
        self.page.locator("#import-account").select_option(label=account)
        self.page.get_by_role("button", name="Upload and preview").click()
        self.page.wait_for_load_state()


@pytest.mark.parametrize("size", SIZES)
def test_a_new_users_first_session(app, new_page, output_dir, size):
    width, height = SIZES[size]
    page = new_page(width, height)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    walk = Walk(page, output_dir, width)

    # Sign up.
    page.goto("/signup")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    walk.shot("signup")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r".*/login"))
    sign_in(page, EMAIL, PASSWORD)
    assert "No transactions yet" in page.locator("main").inner_text()
    walk.shot("empty-dashboard")

    # An account.
    walk.nav("Accounts")
    page.get_by_label("Name", exact=True).fill("Checking")
    page.get_by_label("Kind").select_option("checking")
    page.get_by_label("Currency").fill("USD")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    assert "Checking" in page.locator("table.accounts").inner_text()
    walk.shot("account")

    # A CSV into it: the preview's dates and sum, then the imported rows.
    walk.upload("march.csv", bank_csv().encode(), "Checking (USD)")
    summary = page.locator("#import-summary").inner_text()
    assert "2024-03-01 to 2024-03-20" in summary and "−$165.40" in summary, summary
    walk.shot("csv-preview")
    page.get_by_role("button", name="Import 13 transaction(s)").click()
    page.wait_for_url(re.compile(r".*/transactions\?batch=\d+"))
    assert "Imported 13 transaction(s) from march.csv" in page.locator(".flash").inner_text()
    assert page.locator("table.table tbody tr").count() == 13
    walk.shot("csv-rows")

    # An OFX statement into the same account (USD, as the account).
    walk.upload("checking.ofx", OFX.read_bytes(), "Checking (USD)")
    summary = page.locator("#import-summary").inner_text()
    assert re.search(r"2024-03-\d\d to 2024-03-\d\d, total ", summary), summary
    new = int(re.search(r"Import (\d+) transaction", page.locator("#confirm-import").inner_text())
              .group(1))
    walk.shot("ofx-preview")
    page.locator("#confirm-import").click()
    page.wait_for_url(re.compile(r".*/transactions\?batch=\d+"))
    assert page.locator("table.table tbody tr").count() == new
    walk.shot("ofx-rows")

    # A rule from a suggestion ("Always").
    walk.nav("Suggestions")
    always = page.get_by_role("button", name=re.compile(r"^Accept and always file BLUE BOTTLE"))
    label = always.first.get_attribute("aria-label")
    category = label.rsplit(" under ", 1)[1]
    walk.shot("suggestions")
    always.first.click()
    page.wait_for_load_state()
    assert "a rule made" in page.locator(".flash.success").inner_text()
    walk.nav("Rules")
    rules = page.locator("table.rules tbody tr")
    assert rules.count() == 1 and category in rules.inner_text()
    walk.shot("rules")

    # A budget.
    walk.nav("Budgets")
    form = page.locator("form.budget-form")
    form.get_by_label("Category").fill("Groceries")
    form.get_by_label("Amount").fill("100")
    form.get_by_label("Currency").fill("USD")
    form.get_by_role("button", name="Add budget").click()
    page.wait_for_load_state()
    assert page.locator(".flash.success").inner_text() == "Budget for Groceries saved."
    walk.shot("budget")

    # A cash expense in another currency, by hand.
    walk.nav("Transactions")
    page.get_by_role("link", name="Add transaction").click()
    page.get_by_label("Amount").fill("12.00")
    page.get_by_label("Date").fill("2024-03-21")
    page.get_by_label("Description").fill("London taxi")
    page.get_by_label("Currency").fill("GBP")
    page.get_by_role("button", name="Add transaction").click()
    page.wait_for_load_state()
    assert page.locator("tr", has_text="London taxi").count() == 1
    walk.shot("manual-entry")

    # The dashboard: balances, budgets, and totals per currency.
    page.goto("/?month=2024-03")
    accounts = page.locator("#accounts-panel").inner_text()
    assert "Checking" in accounts and "$" in accounts and "£" in accounts
    groceries = page.locator("#dashboard-budgets li.budget", has_text="Groceries")
    assert "Over budget by $35.00" in groceries.inner_text()  # 135.00 spent of 100.00
    assert page.locator("#summary-USD").is_visible() and page.locator("#summary-GBP").is_visible()
    assert "−£12.00" in page.locator("#summary-GBP").inner_text()
    walk.shot("dashboard")
    assert errors == []
