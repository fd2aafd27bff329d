"""The dashboard's last-hour charts draw in a real browser under the CSP (no inline script)."""
import pytest

from tests.conftest import PASSWORD, set_isolation
from tests.security.test_csp_browser import watched_page  # noqa: F401
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def test_the_last_hour_charts_draw_with_the_policy_on(people, watched_page,  # noqa: F811
                                                      output_dir):
    app = people.app
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    for _ in range(3):
        assert alice.get("/api/transactions/999999").status_code == 404
    assert app.test_client().get("/api/transactions").status_code == 401
    app.extensions["observability"].tick()

    page = watched_page
    sign_in(page, "admin@example.com", PASSWORD)
    page.goto("/admin/flags")
    charts = page.locator("#last-hour canvas[data-last-hour-cohort]")
    assert charts.count() == 2  # (anonymous) and staff
    page.wait_for_function("() => [...document.querySelectorAll("
                           "'#last-hour canvas[data-last-hour-cohort]')]"
                           ".every(canvas => Chart.getChart(canvas))")
    assert page.locator('#last-hour-table tbody[data-cohort="staff"] tr.total').inner_text()\
        .split() == ["staff", "last", "hour", "0", "3", "0", "0", "0", "0"]
    page.check()
    page.locator("#last-hour").screenshot(path=str(output_dir / "last-hour.png"))
