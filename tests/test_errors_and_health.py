"""One JSON error shape for every status on /api/, and the liveness probe (readiness:
tests/health/)."""
import pytest

from finance_app.isolation import PUBLIC, access
from tests.conftest import PASSWORD


def assert_error_shape(response, status, code):
    assert response.status_code == status
    assert response.is_json
    error = response.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


def test_400_body_not_json(client):
    response = client.post("/api/auth/signup", data="email=a", content_type="text/plain")
    assert_error_shape(response, 400, "bad_request")


def test_401(client):
    assert_error_shape(client.get("/api/me"), 401, "unauthorized")


def test_404(client):
    assert_error_shape(client.get("/api/no-such-thing"), 404, "not_found")


def test_405(client):
    response = client.get("/api/auth/signup")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_413(app_with):
    app = app_with(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post(
        "/api/auth/signup", json={"email": "a@example.com", "password": "x" * 5000})
    assert_error_shape(response, 413, "payload_too_large")


def test_422(client):
    response = client.post("/api/auth/signup", json={"email": "x", "password": PASSWORD})
    assert_error_shape(response, 422, "validation_error")


def test_500_is_json_and_hides_the_exception(app_with):
    app = app_with(PROPAGATE_EXCEPTIONS=False)

    @access(PUBLIC)
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/test-boom", "test_boom", boom)
    response = app.test_client().get("/api/test-boom")
    assert_error_shape(response, 500, "internal_error")
    assert "secret internals" not in response.text
    page = app.test_client().get("/api/nope")
    assert page.status_code == 404


def test_web_errors_are_pages_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_healthz_needs_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_production_refuses_the_development_secret(monkeypatch):
    from config import ProductionConfig
    from finance_app import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY="dev-only-insecure-secret")
