"""GET /metrics answers admins (session or bearer token) and callers on this host; anyone
else gets the app's unknown-URL 404, whatever the method."""
import pytest

from tests.support.api_doc import bearer

ELSEWHERE = "203.0.113.7"  # a documentation address: not this host


def from_elsewhere(client):
    client.environ_base["REMOTE_ADDR"] = ELSEWHERE
    return client


def assert_unknown_url(client, method="GET"):
    """The answer is exactly the one of a URL the app does not have."""
    answer = client.open("/metrics", method=method)
    unknown = client.open("/no-such-page", method=method)
    assert answer.status_code == unknown.status_code == 404
    assert answer.get_data() == unknown.get_data()
    assert "finance_responses" not in answer.get_data(as_text=True)


def test_a_scraper_on_this_host_reads_the_metrics(app):
    response = app.test_client().get("/metrics")  # the test client calls from 127.0.0.1
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "# TYPE finance_responses_total counter" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_admin_reads_them_from_anywhere_with_a_session_or_a_token(app, people):
    for admin in (people.client("admin"), bearer(app, "admin@example.com")):
        from_elsewhere(admin)
        assert admin.get("/api/me").json["email"] == "admin@example.com"
        response = admin.get("/metrics")
        assert response.status_code == 200
        assert "finance_responses_total" in response.get_data(as_text=True)
        assert admin.post("/metrics").status_code == 405


@pytest.mark.parametrize("who", ["anonymous", "alice", "alice-token"])
def test_anyone_else_gets_the_unknown_url_404(app, people, who):
    client = {"anonymous": lambda: app.test_client(),
              "alice": lambda: people.client("alice"),
              "alice-token": lambda: bearer(app, "alice@example.com")}[who]()
    from_elsewhere(client)
    if who != "anonymous":  # still signed in from there
        assert client.get("/api/me").json["email"] == "alice@example.com"
    assert_unknown_url(client)
    assert_unknown_url(client, "POST")  # no 405 saying the URL exists


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_request_relayed_by_a_proxy_on_this_host_is_not_from_this_host(app, header):
    client = app.test_client()
    client.environ_base["HTTP_" + header.upper().replace("-", "_")] = "198.51.100.4"
    assert_unknown_url(client)
