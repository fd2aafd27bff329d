"""Private response headers and the emergency lock."""
import pytest

from finance_app.isolation.access import LOCK_MESSAGE
from finance_app.isolation.flags import ISOLATION_FLAG
from finance_app.isolation.unleash_sdk import SdkClient
from tests.conftest import make_app, set_isolation


def assert_private(response):
    assert response.headers["Cache-Control"] == "private, no-store"
    assert {"Cookie", "Authorization"} <= set(response.vary)


def test_data_responses_are_private(app, people):
    alice = people.client("alice")
    for path in ("/", "/api/me"):
        assert_private(alice.get(path))
    token = alice.post("/api/auth/tokens", json={"email": "alice@example.com",
                                                  "password": "correct horse battery"}).json["token"]
    assert_private(app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}))


def test_static_files_stay_cacheable(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def _locked_app(tmp_path, by):
    if by == "config":
        return make_app(tmp_path, EMERGENCY_DATA_LOCK=True)
    app = make_app(tmp_path)
    with app.app_context():
        app.extensions["flags"].set_lock(True)
    return app


@pytest.mark.parametrize("by", ["config", "flag"])
def test_emergency_lock_closes_data_but_not_auth_or_health(app, people, tmp_path, by):
    locked = _locked_app(tmp_path, by)
    try:
        set_isolation(locked, ["staff"])
        client = locked.test_client()
        client.set_cookie("session", people.client("carol").get_cookie("session").value)
        page = client.get("/")
        assert page.status_code == 503 and LOCK_MESSAGE in page.text
        assert client.get("/api/me").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/login").status_code == 200
    finally:
        locked.extensions["flags"].close()


def test_lock_flag_can_be_lifted(app, people):
    flags = app.extensions["flags"]
    with app.app_context():
        flags.set_lock(True)
    carol = people.client("carol")
    assert carol.get("/").status_code == 503
    with app.app_context():
        flags.set_lock(False)
        assert flags.lock_state() is False
    assert carol.get("/").status_code == 200


@pytest.fixture
def evaluations(monkeypatch):
    """The flag names the SDK is asked about, in order, by every flag client of the test."""
    asked = []
    evaluate = SdkClient.is_enabled

    def counted(self, name, context, default):
        asked.append(name)
        return evaluate(self, name, context, default)

    monkeypatch.setattr(SdkClient, "is_enabled", counted)
    return asked


def test_one_flag_evaluation_per_data_request_answers_isolation_and_the_lock(
        app, people, evaluations):
    set_isolation(app, ["staff"])
    carol = people.client("carol")
    assert carol.get("/api/transactions").status_code == 200  # the flag client has started

    def evaluated_by(client, path, status):
        evaluations.clear()
        assert client.get(path).status_code == status
        return list(evaluations)

    assert evaluated_by(carol, "/api/transactions", 200) == [ISOLATION_FLAG]
    with app.app_context():
        app.extensions["flags"].set_lock(True)
    assert evaluated_by(carol, "/api/transactions", 503) == []
    with app.app_context():
        app.extensions["flags"].set_lock(False)
    assert evaluated_by(carol, "/api/transactions", 200) == [ISOLATION_FLAG]
