"""Security headers on every response of every route: a Content-Security-Policy without
inline script, nosniff, no framing, a Referrer-Policy, and HSTS in production only.

Before, /settings and /admin/flags could be framed (clickjacking) and nothing limited where
a page's scripts may come from."""
import re
import secrets

import pytest

from tests.security.test_secret_key import production_app
from tests.security.url_map import ROUTES, route_id, sample_path

# Inline script in a page: a <script> element with code in it (a JSON data block is not
# run), or an event-handler attribute such as onsubmit="...".
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
                           r"|<[^>]+\son[a-z]+\s*=", re.I)


def policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy", "")
    return {name: values for name, *values in
            (part.split() for part in header.split(";") if part.strip())}


def assert_security_headers(response):
    csp = policy(response)
    assert csp.get("default-src") == ["'self'"], response.headers
    assert csp.get("script-src") == ["'self'"]  # no 'unsafe-inline', no other origin
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("object-src") == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # production only


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_route_answers_with_the_security_headers(app, people, route):
    """Each route, called by a signed-in admin (every route reachable), whatever it answers —
    a page, JSON, a redirect, a 4xx — carries the headers; its pages carry no inline script."""
    method, rule = route
    response = people.client("admin").open(sample_path(rule), method=method)
    assert response.status_code < 500, response.text
    assert_security_headers(response)
    if response.mimetype == "text/html":
        assert not INLINE_SCRIPT.findall(response.text)


def test_anonymous_and_unknown_urls_get_them_too(client):
    for path in ("/", "/login", "/no-such-page", "/api/no-such-thing", "/admin/flags"):
        assert_security_headers(client.get(path))


def test_the_pages_that_had_inline_script_have_none(app, people):
    """The settings page (its delete confirmation), the import history (undo confirmation)
    and the import preview (its progress bar) ran inline script; now it is in static/."""
    from tests.ingest.test_import_web import post_file

    alice = people.client("alice")
    preview = post_file(alice, "/import", b"Date,Description,Amount\n2024-11-03,tea,-2.00\n")
    for page in (alice.get("/settings"), alice.get("/import"), preview):
        assert page.status_code == 200
        assert not INLINE_SCRIPT.findall(page.text)
    assert 'data-confirm="' in alice.get("/settings").text


def test_hsts_in_production_only(tmp_path, client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    app = production_app(tmp_path, SECRET_KEY=secrets.token_hex(32))
    try:
        hsts = app.test_client().get("/healthz").headers["Strict-Transport-Security"]
        assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
        assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600
    finally:
        app.extensions["flags"].close()
