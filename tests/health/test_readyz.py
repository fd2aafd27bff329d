"""The readiness probe: safe under concurrent probes, and generic in what it prints."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import make_app

PROBES = 400


def test_readyz_reports_database_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}


@pytest.mark.parametrize("cache", ["file", pytest.param("redis", marks=pytest.mark.redis)])
def test_concurrent_probes_do_not_fail_each_other(request, cache, app_with):
    overrides = {}
    if cache == "redis":
        overrides["REDIS_URL"] = request.getfixturevalue("private_redis").url
    app = app_with(**overrides)

    def probe(_):
        return app.test_client().get("/readyz").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, range(PROBES)))
    assert statuses.count(200) == PROBES, f"{PROBES - statuses.count(200)} false failures"


def test_readyz_prints_no_error_text(tmp_path):
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path}/missing/dir/app.db")
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json == {"status": "not ready",
                                 "checks": {"database": "unavailable", "cache": "ok"}}
    finally:
        app.extensions["flags"].close()
