"""A map's transaction lines can give rows of one import batch to other owners: the backfill
says so (dry run and real run, counts per batch) and migration 0007 then moves each such
row to an import batch of its owner's own, so undoing a batch never takes another's rows."""
import re

from finance_app.demo import DEMO_PASSWORD
from tests.conftest import login
from tests.rollout.conftest import NULLABLE

ROWS = 600


def write_map(tmp_path, *lines):
    path = tmp_path / "owners.csv"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def batch_ids(install, name):
    return [i for i, f in install.sql("SELECT id, filename FROM import_batches ORDER BY id")
            if f.startswith(f"{name}-")]


def rows_of_batch(install, batch_id):
    return install.sql("SELECT id FROM transactions WHERE import_batch_id = :b ORDER BY id",
                       b=batch_id).scalars().all()


def mixed_report(output):
    """The lines of the plan about rows going to another owner than their batch's."""
    return [line for line in output.splitlines()
            if "someone other than the batch's owner" in line or "goes to" in line
            or "go to others" in line]


def test_rows_given_away_from_a_batch_are_listed_then_split_by_0007(empty_install, tmp_path):
    install = empty_install
    assert install.invoke("demo", "legacy-db", "--rows", ROWS).exit_code == 0
    assert install.invoke("db", "upgrade").exit_code == 1  # stops at revision 2
    assert install.revision() == NULLABLE
    start = install.ledger()
    alice_batch = batch_ids(install, "alice")[0]
    filename = install.scalar("SELECT filename FROM import_batches WHERE id = :b", b=alice_batch)
    to_carol, to_bob, *alices = rows_of_batch(install, alice_batch)
    mapping = write_map(tmp_path, "import_batch_id,transaction_id,email",
                        f"{alice_batch},,alice@example.com",
                        f",{to_carol},carol@example.com", f",{to_bob},bob@example.com")
    command = ("isolation", "backfill", "--map", mapping, "--owner", "admin@example.com")

    dry = install.invoke(*command, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert install.unowned() == ROWS
    report = mixed_report(dry.output)
    assert report == [
        "  2 transaction(s) in 1 import batch(es) go to someone other than the batch's owner; "
        "migration 0007 moves each to an import batch of its owner's own (same file name):",
        f"    import batch {alice_batch} (alice@example.com): 2 transaction(s) go to others: "
        "1 to bob@example.com, 1 to carol@example.com",
        f"      transaction {to_carol} of import batch {alice_batch} (alice@example.com) "
        "goes to carol@example.com",
        f"      transaction {to_bob} of import batch {alice_batch} (alice@example.com) "
        "goes to bob@example.com",
    ]

    done = install.invoke(*command)
    assert done.exit_code == 0, done.output
    assert mixed_report(done.output) == report
    assert "MISMATCH" not in done.output and install.ledger() == start
    owners = install.owners()
    assert (owners[to_carol], owners[to_bob]) == ("carol@example.com", "bob@example.com")
    assert rows_of_batch(install, alice_batch) == [to_carol, to_bob, *alices]  # still mixed

    upgraded = install.invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert install.revision() == install.head()
    after = install.ledger()
    assert (after.transactions, after.amount_sum) == (start.transactions, start.amount_sum)
    assert after.import_batches == start.import_batches + 2
    assert install.owners() == owners
    assert rows_of_batch(install, alice_batch) == alices
    for row, email in ((to_carol, "carol@example.com"), (to_bob, "bob@example.com")):
        batch = install.sql("SELECT b.id, b.filename, b.row_count, u.email FROM transactions t "
                            "JOIN import_batches b ON b.id = t.import_batch_id "
                            "JOIN users u ON u.id = b.user_id WHERE t.id = :t", t=row).one()
        assert (batch.filename, batch.row_count, batch.email) == (filename, 1, email)
        assert rows_of_batch(install, batch.id) == [row]

    # Alice undoes her import: carol's and bob's rows from that file stay.
    alice = login(install.app.test_client(), "alice@example.com", DEMO_PASSWORD)
    undone = alice.delete(f"/api/ingest/batches/{alice_batch}")
    assert undone.status_code == 200 and undone.json["deleted"] == len(alices)
    assert set(install.owners()) == set(owners) - set(alices)


def test_a_row_given_away_by_an_earlier_run_is_listed_when_its_batch_gets_an_owner(
        small_legacy, tmp_path):
    install = small_legacy
    batch = batch_ids(install, "bob")[0]
    given = rows_of_batch(install, batch)[0]
    mapping = write_map(tmp_path, "transaction_id,email", f"{given},carol@example.com")
    first = install.invoke("isolation", "backfill", "--map", mapping)
    assert first.exit_code == 0, first.output
    # The batch has no owner yet: nothing to say until it gets one.
    assert mixed_report(first.output) == []

    second = install.invoke("isolation", "backfill", "--owner", "admin@example.com", "--dry-run")
    assert second.exit_code == 0, second.output
    assert f"import batch {batch} (admin@example.com): 1 transaction(s) go to others: " \
        "1 to carol@example.com" in second.output
    assert re.search(rf"transaction {given} of import batch {batch} \(admin@example.com\) "
                     r"goes to carol@example.com", second.output)
