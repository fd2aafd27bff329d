"""The whole path of an existing install, on SQLite and PostgreSQL, through the real commands:

legacy install → `db upgrade` stops at revision 2 → backfill dry run changes nothing →
backfill interrupted, then resumed → `db upgrade` to head → `db downgrade` to revision 1,
with the row count and the sum of amounts equal at every step.
"""
import signal
import time
from collections import defaultdict

import pytest

from finance_app.rollout import backfill
from tests.rollout.conftest import LEGACY, NULLABLE

ROWS = 10_000
BATCH = 1000


def write_map(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def batch_ids_by_name(install):
    """The legacy import batches by the name their files start with (alice-checking-2025.csv)."""
    by_name = defaultdict(list)
    for batch_id, filename in install.sql("SELECT id, filename FROM import_batches ORDER BY id"):
        by_name[filename.split("-")[0]].append(batch_id)
    return by_name


def test_a_legacy_install_walks_to_head_and_back(empty_install, tmp_path, monkeypatch):
    install = empty_install

    # A legacy install: revision 1, demo users, a shared ledger of unowned rows.
    made = install.invoke("demo", "legacy-db", "--rows", ROWS)
    assert made.exit_code == 0, made.output
    assert install.revision() == LEGACY
    assert "user_id" not in install.columns("transactions")
    start = install.ledger()
    assert start.transactions == ROWS and start.users == 4 and start.import_batches > 0

    # The backfill needs the owner column first.
    early = install.invoke("isolation", "backfill", "--owner", "admin@example.com")
    assert early.exit_code != 0
    assert "flask db upgrade" in early.output
    assert install.ledger() == start

    # `flask db upgrade` applies revision 2 and stops before NOT NULL, saying what to do.
    stopped = install.invoke("db", "upgrade")
    assert stopped.exit_code == 1
    assert "flask isolation backfill --owner EMAIL" in stopped.output
    assert f"{ROWS} rows in transactions" in stopped.output
    assert install.revision() == NULLABLE
    assert install.unowned() == ROWS
    assert install.ledger() == start

    # Alice's and Bob's CSV imports go to them; everything else to the admin.
    batches = batch_ids_by_name(install)
    mapping = write_map(tmp_path / "owners.csv", ["import_batch_id,email"] + [
        f"{batch_id},{name}@example.com"
        for name in ("alice", "bob") for batch_id in batches[name]])
    command = ("isolation", "backfill", "--map", mapping, "--owner", "admin@example.com",
               "--batch-size", BATCH)

    dry = install.invoke(*command, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output
    assert install.unowned() == ROWS
    assert install.unowned("import_batches") == start.import_batches
    assert install.ledger() == start

    # Interrupted (Ctrl-C) in the fourth batch, after its updates ran and before it committed.
    real_assign_range = backfill._assign_range
    calls = []

    def interrupted_in_fourth_batch(*args, **kwargs):
        assigned = real_assign_range(*args, **kwargs)
        calls.append(assigned)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return assigned

    monkeypatch.setattr(backfill, "_assign_range", interrupted_in_fourth_batch)
    stopped = install.invoke(*command)
    monkeypatch.undo()
    assert stopped.exit_code == 130, stopped.output
    assert f"Interrupted: {3 * BATCH} transactions were assigned" in stopped.output
    assert calls == [BATCH] * 4  # the fourth batch's updates ran, then rolled back
    assert install.unowned() == ROWS - 3 * BATCH
    assert install.unowned("import_batches") == 0  # batches go first, in one transaction
    assert install.ledger() == start

    # The same command again resumes and finishes, with its count check.
    resumed = install.invoke(*command)
    assert resumed.exit_code == 0, resumed.output
    assert "Count check:" in resumed.output and "MISMATCH" not in resumed.output
    assert f"Backfill done: {ROWS - 3 * BATCH} transactions" in resumed.output
    assert install.unowned() == 0
    assert install.ledger() == start

    owners = install.owners()
    batch_of = dict(install.sql("SELECT id, import_batch_id FROM transactions").all())
    batch_owner = install.owners("import_batches")
    for name in ("alice", "bob"):
        for batch_id in batches[name]:
            assert batch_owner[batch_id] == f"{name}@example.com"
    for row_id, owner in owners.items():
        expected = batch_owner.get(batch_of[row_id]) or "admin@example.com"
        assert owner == expected, row_id
    assert {"alice@example.com", "bob@example.com", "admin@example.com"} == set(owners.values())

    # Now revision 3 and everything after it apply.
    upgraded = install.invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert install.revision() == install.head()
    assert install.ledger() == start

    # Rollback: down to revision 1 keeps every row.
    down = install.invoke("db", "downgrade", LEGACY)
    assert down.exit_code == 0, down.output
    assert install.revision() == LEGACY
    assert "user_id" not in install.columns("transactions")
    assert install.ledger() == start


def _waiting_on_a_lock(install):
    return install.scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE transactions%'")


@pytest.mark.postgres
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_backfill_stopped_in_a_batch_resumes(empty_postgres_install, stop):
    """A real `flask isolation backfill` process, held by a row lock in its third batch
    (after two batches committed), is killed or interrupted; the same command resumes."""
    install = empty_postgres_install
    assert install.invoke("demo", "legacy-db", "--rows", 3000).exit_code == 0
    assert install.invoke("db", "upgrade", NULLABLE).exit_code == 0
    start = install.ledger()
    first_id = install.scalar("SELECT MIN(id) FROM transactions")

    with install.app.app_context():
        from finance_app.extensions import db

        holder = db.engine.connect()
    try:
        holder.begin()
        holder.exec_driver_sql("SELECT id FROM transactions WHERE id = %s FOR UPDATE",
                               (first_id + 2 * 500 + 7,))
        process = install.flask("isolation", "backfill", "--owner", "admin@example.com",
                                "--batch-size", 500, wait=False)
        deadline = time.monotonic() + 120
        while not _waiting_on_a_lock(install):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the backfill never reached the locked row"
            time.sleep(0.1)
        assert install.unowned() == 3000 - 2 * 500  # two batches committed
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()

    if stop == signal.SIGINT:
        assert process.returncode == 130, output
        assert "Interrupted: 1000 transactions were assigned" in output
        assert "run the same command again" in output.lower()
    else:
        assert process.returncode == -signal.SIGKILL
    assert install.unowned() == 2000  # the batch in flight rolled back
    assert install.ledger() == start

    again = install.invoke("isolation", "backfill", "--owner", "admin@example.com",
                           "--batch-size", 500)
    assert again.exit_code == 0, again.output
    assert "Backfill done: 2000 transactions" in again.output
    assert install.unowned() == 0 and install.unowned("import_batches") == 0
    assert install.ledger() == start
