"""Every page names its icon, and the icon is served: a browser that had to guess would ask
/favicon.ico on every page, and each 404 would count as a denial of the viewer's cohort on
the flag dashboard's last hour."""
import re

from tests.conftest import login


def icon_of(page):
    match = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page.text)
    assert match, "the page names no icon"
    return match.group(1)


def test_signed_out_and_signed_in_pages_name_an_icon_that_is_served(app, people):
    pages = [app.test_client().get("/login")]
    alice = people.client("alice")
    pages += [alice.get(path) for path in ("/", "/transactions", "/settings")]
    for page in pages:
        assert page.status_code == 200
        icon = alice.get(icon_of(page))
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert icon.data.startswith(b"<svg")
