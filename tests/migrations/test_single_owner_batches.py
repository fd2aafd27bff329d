"""Migration 0007: import batches are single-owner (SQLite and PostgreSQL).

A database at revision 0006 can hold an import batch with other owners' transactions (the
rollout backfill's transaction lines make them); undoing that batch used to cascade into
those rows. The upgrade moves each other owner's rows into a batch of their own, then makes
the foreign key (import_batch_id, user_id), so the database itself refuses a mixed batch.
"""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from finance_app.extensions import db
from tests.conftest import PASSWORD, login
from tests.migrations.test_migration_chain import (  # noqa: F401 (empty_db_app: a fixture)
    FINGERPRINT_INDEX,
    HEAD,
    NOW,
    accounted,
    batches_t,
    current_revision,
    empty_db_app,
    owned,
    sqlite_fk_violations,
    transactions_t,
    users_t,
)

NAMES = ("alice", "bob", "carol")


def build_at_0006():
    """Users alice, bob, carol; alice's batch holds rows of all three (a backfill with
    transaction lines), bob's and carol's batches are clean, and some rows have no batch.
    Returns {name: user id} and {name: batch id}."""
    upgrade(revision=FINGERPRINT_INDEX)
    with db.engine.begin() as conn:
        ids = {name: conn.execute(sa.insert(users_t).returning(users_t.c.id), dict(
            email=f"{name}@example.com",
            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"),
            cohort="general", is_admin=False, auth_version=1, created_at=NOW)).scalar_one()
            for name in NAMES}
        batches = {name: conn.execute(
            sa.insert(owned(batches_t)).returning(sa.column("id")), dict(
                filename=f"{name}.csv", row_count=rows, created_at=NOW, user_id=ids[name],
            )).scalar_one() for name, rows in (("alice", 7), ("bob", 2), ("carol", 2))}

        def rows(owner, batch, days):
            return [dict(date=date(2024, 11, d), amount=Decimal(f"-{d}.{ids[owner]}7"),
                         currency="EUR", description=f"{owner} {batch} {d}",
                         import_batch_id=batches.get(batch), created_at=NOW,
                         user_id=ids[owner]) for d in days]

        conn.execute(sa.insert(owned(transactions_t)), [
            *rows("alice", "alice", range(1, 5)),   # 4 of alice's own
            *rows("carol", "alice", range(5, 7)),   # 2 of carol's in alice's batch
            *rows("bob", "alice", range(7, 8)),     # 1 of bob's in alice's batch
            *rows("bob", "bob", range(1, 3)),
            *rows("carol", "carol", range(1, 3)),
            *rows("alice", None, range(20, 23)),
            *rows("carol", None, range(20, 22)),
        ])
    return ids, batches


def per_owner():
    """Per owner: transactions, import batches and sum of amounts; each row's owner."""
    with db.engine.connect() as conn:
        def by_owner(stmt):
            return {owner: value for owner, value in conn.execute(stmt).all()}

        t = owned(transactions_t)
        b = owned(batches_t)
        return {
            "transactions": by_owner(sa.select(t.c.user_id, sa.func.count()).group_by(t.c.user_id)),
            "sums": {owner: Decimal(total).quantize(Decimal("0.01")) for owner, total in by_owner(
                sa.select(t.c.user_id, sa.func.sum(t.c.amount)).group_by(t.c.user_id)).items()},
            "batches": by_owner(sa.select(b.c.user_id, sa.func.count()).group_by(b.c.user_id)),
            "row_owners": dict(conn.execute(sa.select(t.c.id, t.c.user_id)).all()),
        }


def mixed_rows():
    """Transactions whose import batch belongs to someone else."""
    with db.engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT t.id FROM transactions t JOIN import_batches b ON b.id = t.import_batch_id "
            "WHERE b.user_id <> t.user_id")).scalars().all()


def batches_now():
    """{batch id: (owner, filename, created_at, row_count, [its transaction ids])}"""
    with db.engine.connect() as conn:
        members = {}
        for tid, batch_id in conn.execute(sa.text(
                "SELECT id, import_batch_id FROM transactions "
                "WHERE import_batch_id IS NOT NULL ORDER BY id")):
            members.setdefault(batch_id, []).append(tid)
        return {row.id: (row.user_id, row.filename, row.created_at, row.row_count,
                         members.get(row.id, []))
                for row in conn.execute(sa.text(
                    "SELECT id, user_id, filename, created_at, row_count FROM import_batches"))}


def batch_foreign_key():
    return [(fk["constrained_columns"], fk["referred_columns"],
             (fk["options"].get("ondelete") or "").upper())
            for fk in sa.inspect(db.engine).get_foreign_keys("transactions")
            if fk["referred_table"] == "import_batches"]


def test_upgrade_splits_mixed_batches_keeping_every_row_and_downgrade_keeps_them(empty_db_app):
    ids, batches = build_at_0006()
    before, batches_before = per_owner(), batches_now()
    assert len(mixed_rows()) == 3
    assert batch_foreign_key() == [(["import_batch_id"], ["id"], "CASCADE")]

    upgrade()
    assert current_revision() == HEAD
    after = per_owner()
    assert mixed_rows() == []
    assert after["transactions"] == before["transactions"]
    assert after["sums"] == before["sums"]
    assert after["row_owners"] == before["row_owners"]  # each row still has its owner
    assert after["batches"] == {ids["alice"]: 1, ids["bob"]: 2, ids["carol"]: 2}
    assert sqlite_fk_violations() == []
    assert batch_foreign_key() == [(["import_batch_id", "user_id"], ["id", "user_id"],
                                    "CASCADE")]

    now = batches_now()
    # Clean batches are untouched; alice's keeps only her rows, counted.
    for name in ("bob", "carol"):
        assert now[batches[name]] == batches_before[batches[name]]
    owner, filename, created_at, row_count, members = now[batches["alice"]]
    alices = [tid for tid in batches_before[batches["alice"]][4]
              if before["row_owners"][tid] == ids["alice"]]
    assert (owner, filename, row_count, members) == (ids["alice"], "alice.csv", 4, alices)
    # One new batch per other owner: same file and time, that owner's rows, counted.
    split = {b: batch for b, batch in now.items() if b not in batches_before}
    assert sorted(batch[0] for batch in split.values()) == sorted([ids["bob"], ids["carol"]])
    for owner, filename, created_at, row_count, members in split.values():
        moved = [tid for tid in batches_before[batches["alice"]][4]
                 if before["row_owners"][tid] == owner]
        assert (filename, created_at, members, row_count) == (
            "alice.csv", batches_before[batches["alice"]][2], moved, len(moved))

    downgrade(revision=FINGERPRINT_INDEX)
    assert current_revision() == FINGERPRINT_INDEX
    assert per_owner() == after  # the split batches stay, every row kept
    assert batches_now() == now
    assert batch_foreign_key() == [(["import_batch_id"], ["id"], "CASCADE")]
    assert sqlite_fk_violations() == []

    upgrade()  # nothing left to split
    assert batches_now() == now and per_owner() == after


def test_at_head_a_transaction_cannot_join_another_owner_s_batch(empty_db_app):
    ids, batches = build_at_0006()
    upgrade()
    with db.engine.connect() as conn:  # carol's rows moved into her default account
        account = conn.execute(sa.text("SELECT id FROM accounts WHERE user_id = :u"),
                               {"u": ids["carol"]}).scalar_one()
    row = dict(date=date(2025, 1, 2), amount=Decimal("-1.00"), currency="EUR",
               description="carol's", created_at=NOW, user_id=ids["carol"], account_id=account)
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(accounted(transactions_t)),
                         dict(row, import_batch_id=batches["alice"]))
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE transactions SET import_batch_id = :b WHERE user_id = :u"),
                {"b": batches["alice"], "u": ids["carol"]})
    assert mixed_rows() == []
    # The same row in carol's own batch is fine.
    with db.engine.begin() as conn:
        conn.execute(sa.insert(accounted(transactions_t)),
                     dict(row, import_batch_id=batches["carol"]))


def test_after_the_split_alice_undoing_her_batch_leaves_carol_s_rows(empty_db_app):
    ids, batches = build_at_0006()
    before = per_owner()
    carol_rows = {tid for tid, owner in before["row_owners"].items() if owner == ids["carol"]}
    upgrade()

    alice = login(empty_db_app.test_client(), "alice@example.com")
    response = alice.delete(f"/api/ingest/batches/{batches['alice']}")
    assert response.status_code == 200
    assert response.json["deleted"] == 4

    after = per_owner()
    assert {tid for tid, owner in after["row_owners"].items() if owner == ids["carol"]} \
        == carol_rows
    assert after["transactions"] == {ids["alice"]: 3, ids["bob"]: 3, ids["carol"]: 6}
    assert after["batches"] == {ids["bob"]: 2, ids["carol"]: 2}

    # And the cascade itself (a batch deleted in SQL) reaches only the batch owner's rows.
    carols_split = next(b for b, batch in batches_now().items()
                        if batch[0] == ids["carol"] and b != batches["carol"])
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM import_batches WHERE id = :b"), {"b": carols_split})
    assert per_owner()["transactions"] == {ids["alice"]: 3, ids["bob"]: 3, ids["carol"]: 4}
