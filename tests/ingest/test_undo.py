"""Undoing an import is personal on every ledger: only the caller's own batches, exactly
their rows, and the caller's cached views go stale."""
from datetime import date

import pytest
from sqlalchemy import select

from finance_app.extensions import cache, db
from finance_app.isolation.keys import LEGACY_NAMESPACE, generation_key, user_namespace
from finance_app.models import ImportBatch, Transaction
from tests.conftest import add_batch, add_transactions, csrf_token, set_isolation

API, WEB = "api", "web"


def undo(client, batch_id, via):
    if via == API:
        return client.delete(f"/api/ingest/batches/{batch_id}")
    return client.post(f"/import/batches/{batch_id}/undo",
                       data={"csrf_token": csrf_token(client, "/import")})


def rows_by_id(app):
    with app.app_context():
        return {t.id: (t.user_id, t.import_batch_id, t.description) for t in
                db.session.execute(select(Transaction)).scalars()}


def batch_ids(app):
    with app.app_context():
        return set(db.session.execute(select(ImportBatch.id)).scalars())


def generations(app, *user_ids):
    with app.app_context():
        return {ns: cache.get(generation_key(ns))
                for ns in [LEGACY_NAMESPACE, *map(user_namespace, user_ids)]}


@pytest.mark.parametrize("via", [API, WEB])
def test_another_user_s_batch_is_404_on_the_shared_ledger(app, people, via):
    set_isolation(app, ["staff"])  # alice isolated; carol (general) on the shared ledger
    carol = people.client("carol")
    # The shared ledger shows carol alice's rows; her batch is still not carol's to undo.
    listed = carol.get("/api/transactions?limit=500").json["items"]
    assert people.rows["bob"][0] in [t["id"] for t in listed]
    before_rows, before_batches = rows_by_id(app), batch_ids(app)

    for owner in ("alice", "bob"):
        response = undo(carol, people.batches[owner], via)
        assert response.status_code == 404
        if via == API:
            assert response.json["error"]["code"] == "not_found"
        assert f"{owner}-statement.csv" not in response.get_data(as_text=True)
    # A batch id that does not exist answers the same.
    missing = undo(carol, max(before_batches) + 100, via)
    assert missing.status_code == 404
    assert rows_by_id(app) == before_rows and batch_ids(app) == before_batches


@pytest.mark.parametrize("via", [API, WEB])
@pytest.mark.parametrize("cohorts", [["staff"], []], ids=["isolated", "shared-ledger"])
def test_undoing_my_batch_removes_exactly_its_rows_and_my_cached_views(app, people, via,
                                                                       cohorts):
    set_isolation(app, cohorts)
    alice, bob = people.ids["alice"], people.ids["bob"]
    # A second import of alice's, so the batch holds more than one row and others stay.
    more = add_transactions(app, alice, [(date(2024, 11, 5), "-3.10", "alice bakery"),
                                         (date(2024, 11, 6), "-4.20", "alice bakery")])
    batch = add_batch(app, alice, "alice-second.csv", more)
    before = rows_by_id(app)
    gen_before = generations(app, alice, bob)

    response = undo(people.client("alice"), batch, via)
    assert response.status_code == (200 if via == API else 302)
    if via == API:
        assert response.json == {"batch_id": batch, "deleted": 2}

    expected = {i: row for i, row in before.items() if i not in more}
    assert rows_by_id(app) == expected
    assert batch not in batch_ids(app) and people.batches["alice"] in batch_ids(app)
    gen_after = generations(app, alice, bob)
    assert gen_after[user_namespace(alice)] != gen_before[user_namespace(alice)]
    assert gen_after[LEGACY_NAMESPACE] != gen_before[LEGACY_NAMESPACE]
    assert gen_after[user_namespace(bob)] == gen_before[user_namespace(bob)]
