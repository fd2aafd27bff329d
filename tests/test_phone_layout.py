"""Every page fits a phone (390 px wide, Chromium): it never scrolls sideways, nothing in it
scrolls sideways or is cut off, and every link, button and field of the navigation and of the
page is on screen. Wide tables become one card per row, each cell under its column's name.
The pages are every page of the URL map (tests/support/pages.py), so a new page is checked
too. Screenshots of each at 390 and 1280 px go to test-output/."""
import re

import pytest

from tests.conftest import PASSWORD, set_isolation
from tests.support.browser import sign_in
from tests.security.url_map import GET_ENDPOINTS
from tests.support.pages import NOT_PAGES, PAGES, site  # noqa: F401 (site: a fixture)

pytestmark = pytest.mark.browser

PHONE = (390, 844)
DESKTOP = (1280, 800)

# Elements that scroll sideways or hide part of what they hold (form fields scroll their
# own text; a 1-pixel box is text for screen readers only).
SIDEWAYS = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.matches('input, select, textarea') && e.clientWidth > 1
               && getComputedStyle(e).overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className
            + ' ' + e.scrollWidth + '>' + e.clientWidth)"""

# Links, buttons and fields that are shown but not wholly within the viewport's width.
OFF_SCREEN = """(width) => [...document.querySelectorAll(
    'a, button, input:not([type=hidden]), select, textarea, summary')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => { const b = e.getBoundingClientRect(); return b.left < 0 || b.right > width + 0.5; })
  .map(e => e.outerHTML.slice(0, 120))"""


def assert_fits(page, width, name):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert page.evaluate(SIDEWAYS) == [], name
    assert page.evaluate(OFF_SCREEN, width) == [], name


@pytest.mark.parametrize("shown", PAGES, ids=str)
def test_every_page_fits_a_phone(site, shown, new_page, output_dir):  # noqa: F811
    page = new_page(*PHONE)
    site.open(page, shown)
    assert_fits(page, PHONE[0], shown.name)
    page.screenshot(path=str(output_dir / "390.png"), full_page=True)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    assert_fits(page, DESKTOP[0], shown.name)
    page.screenshot(path=str(output_dir / "1280.png"), full_page=True)


def test_what_is_no_page_is_still_a_route():
    assert set(NOT_PAGES) <= {endpoint for _, endpoint in GET_ENDPOINTS}


def test_a_page_outside_the_list_is_refused_by_name(site):  # noqa: F811
    """A new page whose URL variable names nothing pages.py can fill fails, saying so."""
    with pytest.raises(pytest.fail.Exception, match="cannot fill <slug>"):
        site.path("/reports/<slug>", "alice")
    assert site.path("/x/<int:tx_id>/<int:import_batch_id>", "alice").startswith("/x/")


# Per cell of the first row of the transactions table: its top, the label shown before it
# and its column's header.
FIRST_ROW = """() => { const table = document.querySelector('table.table');
  const headers = [...table.tHead.rows[0].cells]
    .map(th => th.textContent.replace(/[▲▼]/g, '').trim());
  return [...table.tBodies[0].rows[0].cells].map((td, i) => ({
    top: Math.round(td.getBoundingClientRect().top), header: headers[i],
    label: getComputedStyle(td, '::before').content })); }"""


def test_wide_tables_become_cards_on_a_phone(site, new_page):  # noqa: F811
    page = new_page(*PHONE)
    sign_in(page, "alice@example.com", PASSWORD)
    page.goto("/transactions")
    cells = page.evaluate(FIRST_ROW)
    # One under the other, each with its column's name before it.
    assert len({c["top"] for c in cells}) == len(cells)
    assert {'"Date"', '"Description"', '"Amount"'} <= {c["label"] for c in cells}
    assert all(c["label"] == f'"{c["header"]}"' for c in cells if c["header"])
    # The header's sort links stay on screen.
    assert page.get_by_role("link", name="Amount").is_visible()
    # Still a table to screen readers: Chromium keeps a display:block table's semantics
    # itself, other browsers drop them, so the cards say them in ARIA.
    assert page.get_by_role("cell", name=re.compile(r"alice salary$")).count() == 1
    assert page.locator("table.reflow[role=table] tbody[role=rowgroup] tr[role=row] "
                        "td[role=cell]").count() == page.locator("table.reflow td").count()
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    cells = page.evaluate(FIRST_ROW)
    assert len({c["top"] for c in cells}) == 1 and cells[0]["label"] == "none"


DATE_CELL_LINES = """() => [...document.querySelectorAll('td')]
  .filter(td => /^\\d{4}-\\d{2}-\\d{2}$/.test(td.textContent.trim()))
  .map(td => { const r = document.createRange(); r.selectNodeContents(td);
               return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; })"""


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dates_never_wrap(people, new_page, size):
    set_isolation(people.app, ["staff"])
    page = new_page(*size)
    sign_in(page, "bob@example.com", PASSWORD)
    for path in ("/", "/transactions"):
        page.goto(path)
        lines = page.evaluate(DATE_CELL_LINES)
        assert lines and set(lines) == {1}, (path, lines)
