"""The database down: a clear 503 with Retry-After (the JSON error shape, or a page), sign-in
included, and service again once it is back. PostgreSQL is a cluster of the test's own,
stopped mid-test; SQLite is a file that cannot be opened."""
import pytest
from flask_migrate import upgrade

from finance_app.extensions import db
from tests.conftest import PASSWORD, People, csrf_token, make_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(tmp_path, private_postgres):
    app = make_app(tmp_path, database_url=private_postgres.url)
    with app.app_context():
        upgrade()
    yield app
    app.extensions["flags"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def assert_unavailable(response, json=True):
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    if json:
        assert response.json["error"]["code"] == "unavailable"
        assert "database" in response.json["error"]["message"]
    else:
        assert "text/html" in response.content_type
        assert "try again" in response.text
    assert "psycopg" not in response.text and "127.0.0.1" not in response.text


def test_postgres_down_answers_503_and_recovers(pg_app, private_postgres):
    people = People(pg_app)
    bob = people.client("bob")
    assert bob.get("/api/transactions").status_code == 200
    stranger = pg_app.test_client()
    token = csrf_token(stranger)
    private_postgres.stop()

    assert_unavailable(bob.get("/api/transactions"))
    assert_unavailable(bob.get("/transactions"), json=False)
    assert_unavailable(bob.post("/api/transactions", json={
        "date": "2024-11-05", "amount": "-3.00", "description": "bob tea"}))
    assert_unavailable(stranger.post("/login", data={
        "email": "carol@example.com", "password": PASSWORD, "csrf_token": token}), json=False)
    assert_unavailable(stranger.post("/api/auth/tokens", json={
        "email": "carol@example.com", "password": PASSWORD}))
    ready = stranger.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "not ready",
                          "checks": {"database": "unavailable", "cache": "ok"}}

    private_postgres.start()
    assert bob.get("/api/transactions").status_code == 200
    assert stranger.get("/readyz").json["status"] == "ready"


def test_sqlite_unreadable_answers_503(tmp_path):
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path}/missing/dir/app.db")
    try:
        client = app.test_client()
        token = csrf_token(client)
        assert_unavailable(client.post("/login", data={
            "email": "carol@example.com", "password": PASSWORD, "csrf_token": token}),
            json=False)
        assert_unavailable(client.post("/api/auth/tokens", json={
            "email": "carol@example.com", "password": PASSWORD}))
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "unavailable"
        assert "missing/dir" not in ready.text
    finally:
        app.extensions["flags"].close()
