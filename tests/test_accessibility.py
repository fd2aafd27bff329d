"""axe-core (through axe-playwright-python, its bundled axe.min.js: no network) finds no
serious or critical accessibility violation on any page of the app, on a laptop (1280 px)
and on a phone (390 px). The pages are every page of the URL map (tests/support/pages.py)."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.pages import PAGES, site  # noqa: F401 (site: a fixture)

pytestmark = pytest.mark.browser

SIZES = {"1280": (1280, 800), "390": (390, 844)}
BLOCKING = {"serious", "critical"}


def blocking_violations(page):
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            for v in violations if v["impact"] in BLOCKING]


@pytest.mark.parametrize("shown", PAGES, ids=str)
def test_no_serious_accessibility_violations(site, shown, new_page):  # noqa: F811
    page = new_page(*SIZES["1280"])
    site.open(page, shown)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert blocking_violations(page) == [], f"{shown.name} at {name} px"
