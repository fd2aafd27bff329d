"""A write that committed answers success even when the cache invalidation after it fails:
the rows are saved, the client is told so, and the cache, once back, serves nothing from
before the write. Redis is a server of the test's own, stopped right after the commit and
brought back with the data it had before."""
import io

import pytest
from sqlalchemy import event, func, select

from finance_app.extensions import db
from finance_app.models import ImportBatch, Transaction
from tests.conftest import PASSWORD, People, app_on_fresh_database, set_isolation
from tests.faults.test_redis_down import cache_in_use_again

pytestmark = pytest.mark.redis

ROWS = 300


@pytest.fixture
def redis_app(tmp_path, private_redis):
    with app_on_fresh_database(tmp_path, "sqlite", REDIS_URL=private_redis.url,
                               FLAG_REFRESH_SECONDS=1, CACHE_REDIS_TIMEOUT_SECONDS=0.2) as app:
        yield app


def statement(rows):
    lines = ["Date,Amount,Description"]
    lines += [f"2024-11-{1 + i % 28:02d},-{1 + i % 50}.25,shop {i}" for i in range(rows)]
    return "\n".join(lines).encode()


def test_an_import_that_committed_answers_201_when_the_cache_fails_after(redis_app,
                                                                          private_redis):
    people = People(redis_app)
    set_isolation(redis_app, ["staff"])
    carol = people.client("carol")
    token = redis_app.test_client().post("/api/auth/tokens", json={
        "email": "bob@example.com", "password": PASSWORD}).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert carol.get("/api/charts/summary?month=2024-11").json["count"] == 4  # cached
    snapshot = private_redis.snapshot("before-the-import.rdb")

    def stop_redis(session):
        private_redis.stop()

    event.listen(db.session, "after_commit", stop_redis, once=True)
    try:
        response = redis_app.test_client().post(
            "/api/ingest", headers=bearer, content_type="multipart/form-data",
            data={"file": (io.BytesIO(statement(ROWS)), "november.csv")})
    finally:
        event.remove(db.session, "after_commit", stop_redis)
    private_redis.restore(snapshot)  # back, with the entries from before the import

    assert response.status_code == 201, response.text
    assert response.json["imported"] == ROWS
    with redis_app.app_context():
        assert db.session.execute(select(func.count(Transaction.id)).where(
            Transaction.import_batch_id == response.json["batch_id"])).scalar() == ROWS
        assert db.session.get(ImportBatch, response.json["batch_id"]).row_count == ROWS
    # None of the entries from before the import is served, before or after this process
    # uses Redis again.
    assert carol.get("/api/charts/summary?month=2024-11").json["count"] == 4 + ROWS
    assert cache_in_use_again(redis_app)
    assert carol.get("/api/charts/summary?month=2024-11").json["count"] == 4 + ROWS
