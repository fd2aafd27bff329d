"""Uploading an OFX statement in a real browser (Debian's Chromium, headless), at laptop and
phone width: the preview names the account and currency, shows the dates and total, and the
import leads to exactly its rows."""
import pytest

from tests.conftest import PASSWORD, add_user
from tests.ingest.test_import import FIXTURES
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser
STATEMENT = FIXTURES / "ofx" / "checking_v1.ofx"


@pytest.mark.parametrize("width", [1280, 390])
def test_upload_an_ofx_statement(app, new_page, output_dir, width):
    add_user(app, "erin@example.com")
    page = new_page(width=width)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "erin@example.com", PASSWORD)
    page.goto("/import")
    page.set_input_files("#upload-panel input[type=file]", str(STATEMENT))
    page.click("#upload-panel button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "000123456789" in page.locator("#statement").inner_text()
    summary = page.locator("#import-summary").inner_text()
    assert "2024-03-02 to 2024-03-20, total $1,291.00" in summary
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(output_dir / f"ofx-preview-{width}.png"), full_page=True)

    page.click("#confirm-import")
    page.wait_for_url("**/transactions?batch=*")
    assert page.locator("#batch-filter").is_visible()
    assert page.get_by_text("ACME CORP PAYROLL").count() >= 1
    page.screenshot(path=str(output_dir / f"ofx-imported-{width}.png"), full_page=True)

    page.goto("/import")
    page.set_input_files("#upload-panel input[type=file]", str(STATEMENT))
    page.click("#upload-panel button[type=submit]")
    page.wait_for_selector("#nothing-new")
    assert page.locator("#confirm-import").count() == 0
    page.screenshot(path=str(output_dir / f"ofx-nothing-new-{width}.png"), full_page=True)
    assert errors == []
