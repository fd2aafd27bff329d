"""Identity is cheap: a steady-state authenticated request queries nothing for identity or flags."""
import threading
from contextlib import contextmanager

from sqlalchemy import event

from finance_app.extensions import db
from tests.auth.sessions import age_sessions
from tests.conftest import PASSWORD, set_isolation


@contextmanager
def statements_on_this_thread(app):
    """SQL run by request handling (the SDK's background reload runs on another thread)."""
    seen = []
    thread = threading.get_ident()

    def record(conn, cursor, statement, *args):
        if threading.get_ident() == thread:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_steady_state_session_request_makes_no_query(app, people):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    alice.get("/api/me")  # warm: the principal is now in the shared cache
    with statements_on_this_thread(app) as seen:
        response = alice.get("/api/me")
    assert response.json["isolation"] is True
    assert seen == []


def test_the_session_check_reads_the_database_only_when_the_cache_lost_the_session(app, people):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    alice.get("/api/me")
    age_sessions(app, people.ids["alice"], seconds=1)  # drops the cached session record
    with statements_on_this_thread(app) as seen:
        assert alice.get("/api/me").status_code == 200
    [lookup] = seen
    assert "from user_sessions" in lookup.lower()
    with statements_on_this_thread(app) as seen:
        assert alice.get("/api/me").status_code == 200
    assert seen == []


def test_steady_state_bearer_request_makes_no_query(app, people):
    set_isolation(app, [])
    token = app.test_client().post("/api/auth/tokens", json={
        "email": "carol@example.com", "password": PASSWORD}).json["token"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/me", headers=headers)
    with statements_on_this_thread(app) as seen:
        response = client.get("/api/me", headers=headers)
    assert response.json["email"] == "carol@example.com"
    assert seen == []


def test_data_request_queries_only_data(app, people):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    alice.get("/")
    with statements_on_this_thread(app) as seen:
        assert alice.get("/").status_code == 200
    assert seen, "the dashboard reads transactions"
    for statement in seen:
        lowered = statement.lower()
        assert "from users" not in lowered and "flag_definitions" not in lowered
        assert "api_tokens" not in lowered and "user_sessions" not in lowered
