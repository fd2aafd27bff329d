"""The dashboard in a real browser: the ledger badge, and the upload panel when empty."""
import pytest

from tests.conftest import PASSWORD, add_user, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def test_dashboard_shows_private_ledger_and_rows(people, new_page, output_dir):
    set_isolation(people.app, ["staff"])
    page = new_page()
    sign_in(page, "alice@example.com", PASSWORD)
    assert page.locator(".badge.private").inner_text() == "Private ledger"
    assert page.get_by_text("alice coffee").count() == 1
    assert page.get_by_text("bob coffee").count() == 0
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)


def test_new_user_sees_the_upload_panel(app, new_page, output_dir):
    add_user(app, "newbie@example.com")
    page = new_page()
    sign_in(page, "newbie@example.com", PASSWORD)
    panel = page.locator("#upload-panel")
    assert panel.is_visible()
    assert panel.locator("input[type=file]").count() == 1
    page.screenshot(path=str(output_dir / "empty-state.png"), full_page=True)
