"""Behind a load balancer every connection comes from the balancer. With TRUSTED_PROXY_HOPS
set to the number of proxies in front of the app, the client's address is the one they add
to X-Forwarded-For (rate limits count per client, not for everyone at once) and the scheme
the one in X-Forwarded-Proto (over https, a form post must come from the app's own pages);
without it, a client's own X-Forwarded-For is ignored and cannot dodge a limit."""
import pytest

from tests.conftest import PASSWORD, add_user, csrf_token

BALANCER = "10.0.0.2"
CLIENT, OTHER_CLIENT = "203.0.113.7", "203.0.113.8"
LIMITS = {"RATE_LIMIT_PASSWORD_FAILURES_PER_ADDRESS": "2 per 15 minutes"}


def wrong_password(client, email, forwarded_for, remote_addr=BALANCER):
    """A failed password check (a token exchange for an unknown account); its status."""
    return client.post("/api/auth/tokens", json={"email": email, "password": "wrong password"},
                       headers={"X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": remote_addr}).status_code


def test_rate_limits_count_per_client_behind_the_balancer(app_with):
    client = app_with(TRUSTED_PROXY_HOPS=1, **LIMITS).test_client()
    # Another email each time: only the per-address limit can refuse.
    assert [wrong_password(client, f"guess{n}@example.com", CLIENT) for n in range(3)] == [
        401, 401, 429]
    assert wrong_password(client, "guess3@example.com", OTHER_CLIENT) == 401
    # The balancer appends the connection's address to what the client sent: a client's own
    # header is not read.
    assert wrong_password(client, "guess4@example.com", f"{OTHER_CLIENT}, {CLIENT}") == 429


def test_without_trusted_proxies_a_forwarded_address_is_ignored(app_with):
    client = app_with(**LIMITS).test_client()
    statuses = [wrong_password(client, f"guess{n}@example.com", forwarded_for, CLIENT)
                for n, forwarded_for in enumerate(["198.51.100.1", "198.51.100.2",
                                                   "198.51.100.3"])]
    assert statuses == [401, 401, 429]


@pytest.mark.parametrize("referrer, status", [("https://evil.example/login", 400),
                                              ("https://localhost/login", 302)])
def test_over_https_a_form_post_must_come_from_the_apps_own_pages(app_with, referrer, status):
    app = app_with(TRUSTED_PROXY_HOPS=1)
    add_user(app, "erin@example.com")
    client = app.test_client()
    token = csrf_token(client)
    signed_in = client.post("/login", data={"email": "erin@example.com", "password": PASSWORD,
                                            "csrf_token": token},
                            headers={"X-Forwarded-Proto": "https", "Referer": referrer},
                            environ_base={"REMOTE_ADDR": BALANCER})
    assert signed_in.status_code == status
