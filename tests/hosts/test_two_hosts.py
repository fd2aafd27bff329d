"""Two app hosts side by side, as behind a load balancer: two gunicorn masters with two
workers each, their own instance folders and ports, in production configuration with one
SECRET_KEY, on one PostgreSQL database and one Redis, with the embedded flag backend and
with a real Unleash server of the test's own. Whatever one host does, every worker of the
other follows: a cohort enabled or disabled, the emergency lock engaged or lifted (within
FLAG_REFRESH_SECONDS + 2 s), a session signed in or out, a token, a write (the next request
of every worker), an upload previewed.

Which worker answered comes from each host's gunicorn access log (tests/support/app_host.py):
a file only the test reads, so nothing is added to the app or to what its users see. Every
check asks until each worker of the host has answered at least once, and every answer
counts: a worker that answers otherwise even once fails the check. The checks against the
bound start only once the bound has passed since host A answered the change.
"""
import re
import secrets
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date

import pytest
import requests

from tests.support.app_host import AppHost
from tests.support.redis_server import PrivateRedis
from tests.support.services import fresh_postgres_database, require
from tests.support.unleash_server import running_unleash_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

FLAG_REFRESH_SECONDS = 1
# How long a change made on one host may take to reach every worker of every host.
BOUND_SECONDS = FLAG_REFRESH_SECONDS + 2
DEMO_PASSWORD = "demo-password"
REASON = "two-host test"
# `flask demo seed`: bob (cohort beta) and carol (general) share the ledger, each with
# merchants of their own; admin (staff) is an admin. The staged flag isolates staff.
BOB_MERCHANT, CAROL_MERCHANT = "Trader Joe's", "Safeway"


@dataclass
class Hosts:
    a: AppHost
    b: AppHost
    tokens: dict  # demo user name -> an API token issued by host A

    def bearer(self, name):
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def change_on_a(self, method, path, body):
        """An admin's change through host A's JSON API; when host A answered it."""
        answer = self.a.request(None, method, path, json=body, headers=self.bearer("admin"))
        assert answer.response.status_code == 200, answer.response.text
        assert answer.response.json()["changed"] is True
        return time.monotonic()


@pytest.fixture(scope="module", params=["embedded", pytest.param("remote",
                                                                  marks=pytest.mark.unleash)])
def hosts(request, tmp_path_factory):
    """Hosts A and B on one fresh database (migrated, demo data seeded) and one Redis of
    their own, with flags embedded or on an unleash-server of their own; all stopped and
    dropped after the module's tests."""
    folder = tmp_path_factory.mktemp(f"hosts-{request.param}")
    with ExitStack() as stack:
        database_url, drop_database = fresh_postgres_database("finance_hosts")
        stack.callback(drop_database)
        require("redis-server", shutil.which("redis-server"), "needs Debian's redis-server")
        redis = PrivateRedis(_folder(folder / "redis"))
        redis.start()
        stack.callback(redis.stop)
        settings = {"DATABASE_URL": database_url, "REDIS_URL": redis.url,
                    "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": "0",
                    "FLAG_REFRESH_SECONDS": str(FLAG_REFRESH_SECONDS),
                    # Upload previews wait in a folder both hosts share (see the import test).
                    "IMPORT_PREVIEW_DIR": str(_folder(folder / "shared-previews"))}
        if request.param == "remote":
            unleash = stack.enter_context(running_unleash_server(_folder(folder / "unleash")))
            settings |= {"UNLEASH_URL": unleash.server.api_url,
                         "UNLEASH_API_TOKEN": unleash.server.backend_token,
                         "UNLEASH_ADMIN_TOKEN": unleash.server.admin_token}
        a, b = AppHost("a", folder, settings), AppHost("b", folder, settings)
        a.flask("db", "upgrade")
        a.flask("demo", "seed")
        for host in (a, b):
            stack.callback(host.stop)
            host.start()
        tokens = {name: _token(a, f"{name}@example.com") for name in ("admin", "bob", "carol")}
        yield Hosts(a, b, tokens)


def _folder(path):
    path.mkdir()
    return path


def _token(host, email):
    answer = host.request(None, "POST", "/api/auth/tokens",
                          json={"email": email, "password": DEMO_PASSWORD})
    assert answer.response.status_code == 201, answer.response.text
    return answer.response.json()["token"]


def past_the_bound(changed_at):
    time.sleep(max(0.0, changed_at + BOUND_SECONDS - time.monotonic()))


def rows_of(host, headers, merchant, cookies=None):
    """A request for the caller's visible rows at `merchant`."""
    return lambda: host.request(None, "GET", "/api/transactions",
                                params={"q": merchant, "limit": 1}, headers=headers,
                                cookies=cookies)


def sees_rows(response):
    assert response.status_code == 200, response.text
    return response.json()["total"] > 0


def status(response):
    return response.status_code


def error_code(response):
    """The status and the error's code (None for an answer that is no error)."""
    body = response.json()
    return response.status_code, body["error"]["code"] if "error" in body else None


# --- flags: a cohort and the lock ---------------------------------------------------------

def test_a_cohort_enabled_on_one_host_is_enforced_by_every_worker_of_the_other(hosts):
    b = hosts.b
    bob_sees_carol = rows_of(b, hosts.bearer("bob"), CAROL_MERCHANT)
    carol_sees_bob = rows_of(b, hosts.bearer("carol"), BOB_MERCHANT)
    # Cohort beta (bob) is not isolated: bob and carol share the ledger.
    assert b.outcomes(bob_sees_carol, sees_rows) == b.every(True)
    assert b.outcomes(carol_sees_bob, sees_rows) == b.every(True)

    enabled = hosts.change_on_a("PUT", "/api/admin/isolation/cohorts/beta",
                                {"enabled": True, "reason": REASON})
    past_the_bound(enabled)
    # Both sides, on every worker: bob sees only his rows, and his rows leave carol's ledger.
    assert b.outcomes(bob_sees_carol, sees_rows) == b.every(False)
    assert b.outcomes(carol_sees_bob, sees_rows) == b.every(False)

    disabled = hosts.change_on_a("PUT", "/api/admin/isolation/cohorts/beta",
                                 {"enabled": False, "reason": REASON})
    past_the_bound(disabled)
    assert b.outcomes(bob_sees_carol, sees_rows) == b.every(True)
    assert b.outcomes(carol_sees_bob, sees_rows) == b.every(True)


def test_the_lock_engaged_on_one_host_closes_every_worker_of_the_other(hosts):
    b = hosts.b
    bob_lists = rows_of(b, hosts.bearer("bob"), CAROL_MERCHANT)
    assert b.outcomes(bob_lists, status) == b.every(200)

    engaged = hosts.change_on_a("PUT", "/api/admin/isolation/lock",
                                {"on": True, "reason": REASON})
    try:
        past_the_bound(engaged)
        assert b.outcomes(bob_lists, error_code) == b.every((503, "data_locked"))
        # Health and identity keep working under the lock.
        assert b.outcomes(lambda: b.request(None, "GET", "/readyz"), status) == b.every(200)
        assert b.outcomes(lambda: b.request(None, "GET", "/api/me", headers=hosts.bearer("bob")),
                          status) == b.every(200)
    finally:
        lifted = hosts.change_on_a("PUT", "/api/admin/isolation/lock",
                                   {"on": False, "reason": REASON})
    past_the_bound(lifted)
    assert b.outcomes(bob_lists, status) == b.every(200)


# --- identity: sessions and tokens --------------------------------------------------------

def form_token(page):
    assert page.status_code == 200, page.text
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert field, "no CSRF token on the page"
    return field.group(1)


def sign_in(host, browser, email):
    """Sign `browser` (a requests.Session) in through the web form of `host`."""
    login_form = host.request(browser, "GET", "/login").response
    signed_in = host.request(browser, "POST", "/login", data={
        "email": email, "password": DEMO_PASSWORD, "csrf_token": form_token(login_form)})
    assert signed_in.response.status_code == 302, signed_in.response.text


def test_a_session_made_on_one_host_works_on_the_other_and_signing_out_there_ends_it(hosts):
    a, b = hosts.a, hosts.b
    browser = requests.Session()
    sign_in(a, browser, "carol@example.com")
    cookie = browser.cookies.get_dict()  # a copy: what a replay of the cookie would send
    me = lambda host: lambda: host.request(None, "GET", "/api/me", cookies=cookie)  # noqa: E731

    assert b.outcomes(me(b), lambda r: (r.status_code, r.json().get("email"))) == b.every(
        (200, "carol@example.com"))
    assert b.outcomes(rows_of(b, {}, CAROL_MERCHANT, cookie), sees_rows) == b.every(True)

    settings_page = b.request(browser, "GET", "/settings").response
    signed_out = b.request(browser, "POST", "/logout",
                           data={"csrf_token": form_token(settings_page)})
    assert signed_out.response.status_code == 302, signed_out.response.text
    # The copy of the cookie is anonymous on every worker of both hosts.
    for host in (a, b):
        assert host.outcomes(rows_of(host, {}, CAROL_MERCHANT, cookie), error_code) == (
            host.every((401, "unauthorized")))


def test_a_token_issued_on_one_host_works_on_every_worker_of_the_other(hosts):
    b = hosts.b
    token = _token(hosts.a, "carol@example.com")
    me = lambda: b.request(None, "GET", "/api/me",  # noqa: E731
                           headers={"Authorization": f"Bearer {token}"})
    assert b.outcomes(me, lambda r: (r.status_code, r.json().get("email"))) == b.every(
        (200, "carol@example.com"))


# --- data: the shared cache and upload previews -------------------------------------------

def test_a_write_on_one_host_makes_the_other_hosts_cached_aggregates_fresh(hosts):
    a, b = hosts.a, hosts.b
    today = date.today()
    summary = lambda: b.request(None, "GET", "/api/charts/summary",  # noqa: E731
                                params={"month": today.strftime("%Y-%m")},
                                headers=hosts.bearer("carol"))
    count = lambda r: r.json()["count"]  # noqa: E731
    primed = b.outcomes(summary, count)  # every worker of B has read the cached aggregate
    (before,) = set().union(*primed.values())

    written = a.request(None, "POST", "/api/transactions", headers=hosts.bearer("carol"),
                        json={"date": today.isoformat(), "amount": "-4.20",
                              "description": "carol tea on host A"})
    assert written.response.status_code == 201, written.response.text
    assert b.outcomes(summary, count) == b.every(before + 1)


def test_an_upload_previewed_on_one_host_is_confirmed_on_the_other(hosts):
    """Hosts that share IMPORT_PREVIEW_DIR need no sticky sessions for an import."""
    a, b = hosts.a, hosts.b
    browser = requests.Session()
    sign_in(a, browser, "carol@example.com")
    csv = b"Date,Description,Amount\n2024-03-01,carol previewed on A,-1.00\n"
    upload_form = a.request(browser, "GET", "/import").response
    preview = a.request(browser, "POST", "/import",
                        data={"csrf_token": form_token(upload_form)},
                        files={"file": ("bank.csv", csv, "text/csv")}).response
    assert preview.status_code == 200, preview.text
    token = re.search(r"/import/([0-9a-f]{32})/confirm", preview.text).group(1)

    confirmed = b.request(browser, "POST", f"/import/{token}/confirm",
                          data={"csrf_token": form_token(preview)}).response
    assert confirmed.status_code == 302, confirmed.text
    assert confirmed.headers["Location"].startswith("/transactions?batch=")  # its rows
    imported = a.request(None, "GET", "/api/transactions", headers=hosts.bearer("carol"),
                         params={"q": "carol previewed on A"}).response
    assert imported.json()["total"] == 1
