"""The dashboard in a real browser (Debian's Chromium, headless): the charts are drawn, the
ledger badge and explanations show, and a new user gets the upload panel."""
from datetime import date

import pytest

from tests.conftest import PASSWORD, add_transactions, add_user, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

CHARTS = ("trend-chart", "category-chart", "merchant-chart")

# For each canvas: its size on the page, the Chart.js instance drawing it (if any), how many
# data points that chart holds and draws, and whether any pixel of it was painted.
CANVAS_REPORT = """() => [...document.querySelectorAll('canvas')].map((canvas) => {
  const chart = Chart.getChart(canvas);
  const box = canvas.getBoundingClientRect();
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {
    id: canvas.id, width: box.width, height: box.height, chart: chart !== undefined,
    points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0,
    drawn: chart ? chart.data.datasets.reduce(
      (n, d, i) => n + chart.getDatasetMeta(i).data.length, 0) : 0,
    painted,
  };
})"""


def test_the_dashboard_draws_its_charts(ledger, new_page, output_dir):
    set_isolation(ledger.app, ["staff"])  # Erin (staff) has a private ledger
    page = new_page()
    page.emulate_media(reduced_motion="reduce")  # no animation: the screenshot is final
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "erin@example.com", PASSWORD)
    assert page.locator(".badge.private").inner_text() == "Private ledger"
    page.wait_for_function("ids => ids.every(id => Chart.getChart(document.getElementById(id)))",
                           arg=list(CHARTS))
    report = {canvas["id"]: canvas for canvas in page.evaluate(CANVAS_REPORT)}
    assert set(report) == set(CHARTS)
    for name, canvas in report.items():
        assert canvas["width"] > 100 and canvas["height"] > 100, canvas
        assert canvas["chart"] and canvas["points"] > 0 and canvas["drawn"] > 0, canvas
        assert canvas["painted"] > 0, f"{name} is blank"
    assert page.locator("#month-explanation .headline").inner_text().startswith("In 2024-04")
    assert page.get_by_text("Frank").count() == 0
    assert errors == []
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)

    page.locator("tr", has_text="Espresso beans").get_by_role("link", name="Explain").click()
    page.wait_for_url("**/explain/transactions/*")
    assert "3.00× the usual amount" in page.locator("#transaction-explanation").inner_text()
    page.screenshot(path=str(output_dir / "explain-transaction.png"), full_page=True)


def test_new_user_sees_the_upload_panel(app, new_page, output_dir):
    add_user(app, "newbie@example.com")
    page = new_page()
    sign_in(page, "newbie@example.com", PASSWORD)
    panel = page.locator("#upload-panel")
    assert panel.is_visible()
    assert panel.locator("input[type=file]").count() == 1
    assert page.locator("canvas").count() == 0
    page.screenshot(path=str(output_dir / "empty-state.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_two_currencies_at_laptop_and_phone_width(app, new_page, output_dir, width):
    """A block of cards per currency, the charts in one, a link to draw them in the other;
    nothing wider than the screen."""
    user_id = add_user(app, "mia@example.com", "staff")
    add_transactions(app, user_id, [
        (date(2024, 6, 1), "2100.00", "June salary", "Initech", "Salary", "EUR"),
        (date(2024, 6, 3), "-1234.50", "Rent June", "Landlord", "Rent", "EUR"),
        (date(2024, 6, 5), "-80.00", "Weekly shop", "Fresh Market", "Groceries", "EUR"),
        (date(2024, 6, 9), "-45.00", "Weekly shop", "Tesco", "Groceries", "GBP"),
        (date(2024, 6, 12), "-9.99", "Streaming", "Netflix", "Subscriptions", "GBP"),
    ])
    page = new_page(width=width)
    page.emulate_media(reduced_motion="reduce")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "mia@example.com", PASSWORD)
    page.wait_for_function("ids => ids.every(id => Chart.getChart(document.getElementById(id)))",
                           arg=list(CHARTS))
    assert page.locator(".currency-summary").count() == 2
    assert "€785.50" in page.locator("#summary-EUR").inner_text()  # net: 2100 - 1314.50
    assert "−£54.99" in page.locator("#summary-GBP").inner_text()  # net, with a minus sign
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    page.screenshot(path=str(output_dir / f"dashboard-two-currencies-{width}.png"),
                    full_page=True)

    page.locator(".currency-switch").get_by_role("link", name="GBP").click()
    page.wait_for_url("**currency=GBP")
    page.wait_for_function("ids => ids.every(id => Chart.getChart(document.getElementById(id)))",
                           arg=list(CHARTS))
    assert "in GBP" in page.locator("#category-table").evaluate(
        "table => table.closest('.card').innerText")
    assert errors == []
    page.screenshot(path=str(output_dir / f"dashboard-charts-in-gbp-{width}.png"),
                    full_page=True)
