"""One JSON line per request with its request id (also returned in X-Request-ID, errors
included), user, cohort, isolation decision, status and duration; never bank data."""
import json
import logging
import threading
import urllib.request

import pytest
from flask import request
from sqlalchemy import text
from werkzeug.serving import make_server

from finance_app.extensions import db
from finance_app.isolation import DATA, access
from finance_app.observability.requests import request_log_formatter
from tests.conftest import People, set_isolation
from tests.isolation.conftest import add_probe_routes
from tests.observability.support import csv_upload

# Bank data the requests below carry; none of it may reach any log.
SECRETS = ("Zyxwvut Pharmacy", "Qwertz Merchant", "4321.98", "Plumbus Bakery", "7777.77",
           "zyxwvut")


@pytest.fixture
def logs(caplog):
    """Every record of every logger at any level, the request lines formatted as the app
    formats them."""
    caplog.set_level(logging.DEBUG)
    requests_log = logging.getLogger("finance_app.requests")
    requests_log.addHandler(caplog.handler)  # it does not propagate to the root
    yield caplog
    requests_log.removeHandler(caplog.handler)


def request_lines(caplog):
    formatter = request_log_formatter()
    return [json.loads(formatter.format(r)) for r in caplog.records
            if r.name == "finance_app.requests"]


def everything_logged(caplog):
    return caplog.text + "\n".join(json.dumps(line) for line in request_lines(caplog))


def test_one_json_line_per_request_with_who_what_and_how_long(app, people, logs):
    set_isolation(app, ["staff"])
    alice, carol = people.client("alice"), people.client("carol")
    logs.clear()
    response = alice.get("/api/transactions?q=coffee")
    carol.get("/api/transactions")
    lines = request_lines(logs)
    assert len(lines) == 2
    line = lines[0]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert {k: line[k] for k in ("logger", "level", "method", "path", "endpoint", "user_id",
                                 "cohort", "isolation", "status")} == {
        "logger": "finance_app.requests", "level": "INFO", "method": "GET",
        "path": "/api/transactions", "endpoint": "transactions_api.api_list",
        "user_id": people.ids["alice"], "cohort": "staff", "isolation": "on", "status": 200}
    assert line["duration_ms"] >= 0 and "time" in line and "pid" in line
    assert (lines[1]["cohort"], lines[1]["isolation"]) == ("general", "off")


def test_anonymous_and_public_requests_name_nobody(app, logs):
    app.test_client().get("/healthz")
    line, = request_lines(logs)
    assert (line["user_id"], line["cohort"], line["isolation"], line["status"]) == (
        None, None, None, 200)


def test_a_well_formed_request_id_is_kept_and_any_other_replaced(app, logs):
    client = app.test_client()
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-4f2a.9:c_1"})
    assert kept.headers["X-Request-ID"] == "lb-4f2a.9:c_1"
    for bad in ("has spaces", "x" * 129, "a;b", "<script>", ""):
        replaced = client.get("/healthz", headers={"X-Request-ID": bad})
        assert replaced.headers["X-Request-ID"] not in (bad, "")
        assert len(replaced.headers["X-Request-ID"]) == 32
    ids = [line["request_id"] for line in request_lines(logs)]
    assert ids[0] == "lb-4f2a.9:c_1" and len(set(ids)) == len(ids)


def test_every_response_carries_its_request_id_errors_included(app_with, logs):
    app = add_probe_routes(app_with(ISOLATION_GUARD_MODE="refuse", PROPAGATE_EXCEPTIONS=False))
    people = People(app)
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    logs.clear()
    responses = [app.test_client().get("/api/transactions"),  # 401
                 alice.get("/api/transactions/999999"),  # 404
                 alice.get("/no-such-page"),  # 404 page
                 alice.get("/api/_probe/unscoped"),  # 500
                 alice.post("/api/transactions", json={"amount": "x"}),  # 422
                 app.test_client().get("/static/style.css")]
    assert [r.status_code for r in responses] == [401, 404, 404, 500, 422, 200]
    ids = [r.headers["X-Request-ID"] for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    assert [line["request_id"] for line in request_lines(logs)] == ids
    assert [line["status"] for line in request_lines(logs)] == [401, 404, 404, 500, 422, 200]


def test_no_bank_data_reaches_the_logs(app_with, logs):
    app = app_with(PROPAGATE_EXCEPTIONS=False)

    @access(DATA)
    def failing_statement():
        db.session.execute(text("SELECT * FROM no_such_table WHERE description = :d"),
                           {"d": request.args["d"]})

    app.add_url_rule("/api/_probe/failing", "probe_failing", failing_statement)
    people = People(app)
    alice = people.client("alice")
    logs.clear()
    created = alice.post("/api/transactions", json={
        "date": "2024-11-04", "amount": "-4321.98", "description": "Zyxwvut Pharmacy",
        "merchant": "Qwertz Merchant", "category": "Health"})
    assert created.status_code == 201, created.text
    alice.get("/api/transactions?q=Zyxwvut+Pharmacy&merchant=Qwertz+Merchant")
    alice.get("/transactions?q=zyxwvut")
    alice.get("/transactions/export.csv?q=zyxwvut")
    alice.patch(f"/api/transactions/{created.json['id']}",
                json={"description": "Plumbus Bakery", "amount": "bad 7777.77"})
    csv_upload(alice, [("2024-11-05", "Plumbus Bakery", "-7777.77")])
    # A failing statement: its error is logged with its SQL, never its parameters.
    assert alice.get("/api/_probe/failing?d=Zyxwvut+Pharmacy").status_code == 503
    assert "no_such_table" in logs.text
    assert len(request_lines(logs)) == 7
    logged = everything_logged(logs)
    leaked = [secret for secret in SECRETS if secret.lower() in logged.lower()]
    assert not leaked, f"bank data in the logs: {leaked}"


def test_the_development_server_logs_the_json_line_only(app, people, logs):
    """Werkzeug's own access line carries the query string: it is dropped."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/login?next=/transactions%3Fq%3Dzyxwvut"
    with urllib.request.urlopen(url) as response:
        assert response.status == 200
    thread.join(timeout=10)
    server.server_close()
    assert [r for r in logs.records if r.name == "werkzeug"] == []
    line, = request_lines(logs)
    assert line["path"] == "/login" and "zyxwvut" not in json.dumps(line)
