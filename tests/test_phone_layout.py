"""Every signed-in page fits a phone (390 px wide, Chromium): the page never scrolls
sideways and every link of the navigation is on screen (it wraps under the brand). A wide
table scrolls inside its own card."""
import pytest

from tests.conftest import PASSWORD, set_isolation
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

PHONE = (390, 844)
PAGES = ("/", "/transactions", "/accounts", "/import", "/suggestions", "/settings",
         "/admin/flags")


def test_every_page_fits_a_phone(people, new_page, output_dir):
    set_isolation(people.app, ["staff"])
    page = new_page(*PHONE)
    sign_in(page, "admin@example.com", PASSWORD)
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0], path
        links = page.locator(".topbar nav a, .topbar nav button")
        assert links.count() >= 6
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], \
                (path, links.nth(i).inner_text())
        page.screenshot(path=str(output_dir / f"phone{path.replace('/', '_')}.png"), full_page=True)


DATE_CELL_LINES = """() => [...document.querySelectorAll('td')]
  .filter(td => /^\\d{4}-\\d{2}-\\d{2}$/.test(td.textContent.trim()))
  .map(td => { const r = document.createRange(); r.selectNodeContents(td);
               return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; })"""


@pytest.mark.parametrize("size", [PHONE, (1280, 800)], ids=["phone", "desktop"])
def test_dates_never_wrap(people, new_page, size):
    set_isolation(people.app, ["staff"])
    page = new_page(*size)
    sign_in(page, "bob@example.com", PASSWORD)
    for path in ("/", "/transactions"):
        page.goto(path)
        lines = page.evaluate(DATE_CELL_LINES)
        assert lines and set(lines) == {1}, (path, lines)
