"""The flag dashboard in a real browser: the admin enables cohort beta, bob (beta) then sees
only his own transactions while carol (general) keeps the shared ledger, without bob's rows
now; the admin reverts the change from the audit log and bob sees the shared ledger again."""
import pytest

from tests.conftest import PASSWORD, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

# Staff (alice, admin) is isolated throughout: the shared ledger is bob's and carol's rows.
SHARED = {"bob coffee", "bob salary", "carol coffee", "carol salary"}


def ledger_of(page):
    """The descriptions on /transactions (the fixture's 8 rows fit on one page)."""
    page.goto("/transactions")
    return set(page.locator("table.table tbody tr td:nth-child(2)").all_inner_texts())


def test_enable_beta_then_revert_from_the_audit_log(people, new_page, output_dir):
    set_isolation(people.app, ["staff"])
    admin, bob, carol = new_page(), new_page(), new_page()
    for page, name in ((admin, "admin"), (bob, "bob"), (carol, "carol")):
        sign_in(page, f"{name}@example.com", PASSWORD)

    assert ledger_of(bob) == SHARED

    admin.get_by_role("link", name="Admin").click()
    admin.wait_for_url("**/admin/flags")
    beta = admin.locator('tr[data-cohort="beta"]')
    assert beta.locator(".state").inner_text() == "off"
    assert beta.locator(".verdict").inner_text() == "amber"
    admin.screenshot(path=str(output_dir / "1-dashboard-before.png"), full_page=True)

    beta.locator('input[name="reason"]').fill("beta testers asked for private ledgers")
    beta.get_by_role("button", name="Enable isolation").click()
    admin.wait_for_load_state()
    assert admin.locator(".flash.success").inner_text() == "Enabled isolation for cohort beta."
    assert admin.locator('tr[data-cohort="beta"] .state').inner_text() == "on"
    admin.screenshot(path=str(output_dir / "2-beta-enabled.png"), full_page=True)

    seen_by_bob = ledger_of(bob)
    assert seen_by_bob == {"bob coffee", "bob salary"}
    assert bob.locator(".badge.private").inner_text() == "Private ledger"
    bob.screenshot(path=str(output_dir / "3-bob-private.png"), full_page=True)
    assert ledger_of(carol) == {"carol coffee", "carol salary"}
    assert carol.locator(".badge.shared").inner_text() == "Shared ledger"

    # Revert from the audit log.
    admin.goto("/admin/flags")
    event = admin.locator("#audit tbody tr").first
    assert "Enabled isolation for cohort beta" in event.inner_text()
    event.locator('input[name="reason"]').fill("rolling back: support tickets")
    event.get_by_role("button", name="Revert").click()
    admin.wait_for_load_state()
    assert admin.locator(".flash.success").inner_text().startswith("Revert of #")
    assert admin.locator('tr[data-cohort="beta"] .state').inner_text() == "off"
    assert "reverted by #" in admin.locator("#audit tbody tr").nth(1).inner_text()
    admin.screenshot(path=str(output_dir / "4-reverted.png"), full_page=True)

    assert ledger_of(bob) == SHARED
    assert bob.locator(".badge.shared").inner_text() == "Shared ledger"
    bob.screenshot(path=str(output_dir / "5-bob-shared-again.png"), full_page=True)
