"""`flask isolation backfill`: --owner, --map, --dry-run, problems reported, resumable."""
import re
from collections import Counter

import pytest

from finance_app.auth.service import issue_token
from finance_app.extensions import db
from finance_app.isolation import cached
from finance_app.models import User
from tests.conftest import set_isolation
from tests.rollout.conftest import SMALL_ROWS

OWNER_LINE = re.compile(r"^\s+(\S+@\S+)\s+(\d+)\s+(\d+)$", re.M)


def backfill(install, *args):
    return install.invoke("isolation", "backfill", *args)


def write_map(tmp_path, *lines, name="owners.csv"):
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def batch_ids(install, name):
    return [i for i, f in install.sql("SELECT id, filename FROM import_batches ORDER BY id")
            if f.startswith(f"{name}-")]


def rows_outside_batches(install):
    return install.scalar("SELECT COUNT(*) FROM transactions WHERE import_batch_id IS NULL")


def state(install):
    """Everything the backfill may change, to show that it changed nothing."""
    return (install.owners(), install.owners("import_batches"), install.ledger())


def test_owner_gives_every_unowned_row_to_one_user(small_legacy):
    install = small_legacy
    start = install.ledger()
    result = backfill(install, "--owner", "Admin@Example.com ")
    assert result.exit_code == 0, result.output
    assert install.unowned() == 0 and install.unowned("import_batches") == 0
    assert set(install.owners().values()) == {"admin@example.com"}
    assert set(install.owners("import_batches").values()) == {"admin@example.com"}
    assert install.ledger() == start
    assert "Count check:" in result.output
    assert result.output.count(" ok\n") == 5 and "MISMATCH" not in result.output
    assert f"Backfill done: {SMALL_ROWS} transactions and {start.import_batches} import batches"\
        in result.output


def test_the_dry_run_prints_the_plan_that_the_run_then_carries_out(small_legacy, tmp_path):
    install = small_legacy
    alice_batches = batch_ids(install, "alice")
    loose = install.scalar("SELECT MIN(id) FROM transactions WHERE import_batch_id IS NULL")
    mapping = write_map(tmp_path, "import_batch_id,transaction_id,email",
                        *[f"{b},,alice@example.com" for b in alice_batches],
                        f",{loose},carol@example.com")
    before = state(install)

    dry = backfill(install, "--map", mapping, "--owner", "admin@example.com", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing is changed" in dry.output
    assert state(install) == before
    planned = {email: (int(b), int(t)) for email, b, t in OWNER_LINE.findall(dry.output)}

    done = backfill(install, "--map", mapping, "--owner", "admin@example.com")
    assert done.exit_code == 0, done.output
    assert OWNER_LINE.findall(done.output) == OWNER_LINE.findall(dry.output)
    transactions = Counter(install.owners().values())
    batches = Counter(install.owners("import_batches").values())
    assert planned == {email: (batches[email], transactions[email]) for email in transactions}
    assert planned["carol@example.com"] == (0, 1)
    assert planned["alice@example.com"][0] == len(alice_batches)


def test_a_batch_s_transactions_follow_it_and_a_transaction_line_wins(small_legacy, tmp_path):
    install = small_legacy
    bob_batch = batch_ids(install, "bob")[0]
    in_bob_batch = install.scalar("SELECT MIN(id) FROM transactions WHERE import_batch_id = :b",
                                  b=bob_batch)
    mapping = write_map(tmp_path, "import_batch_id,transaction_id,email",
                        f"{bob_batch},,bob@example.com", f",{in_bob_batch},carol@example.com")

    result = backfill(install, "--map", mapping)
    assert result.exit_code == 0, result.output

    owners = install.owners()
    in_batch = install.sql("SELECT id FROM transactions WHERE import_batch_id = :b",
                           b=bob_batch).scalars().all()
    assert owners[in_bob_batch] == "carol@example.com"
    assert {owners[i] for i in in_batch if i != in_bob_batch} == {"bob@example.com"}
    assert install.owners("import_batches")[bob_batch] == "bob@example.com"
    # Nothing else was touched: no --owner, so the rest stays unowned, as planned.
    assert install.unowned() == SMALL_ROWS - len(in_batch)
    assert "MISMATCH" not in result.output


def test_map_alone_leaves_the_rest_unowned_and_revision_3_still_refuses(small_legacy, tmp_path):
    install = small_legacy
    lines = [f"{b},{name}@example.com" for name in ("alice", "bob", "carol", "admin")
             for b in batch_ids(install, name)]
    mapping = write_map(tmp_path, "import_batch_id,email", *lines)
    outside = rows_outside_batches(install)
    assert outside > 0

    result = backfill(install, "--map", mapping)
    assert result.exit_code == 0, result.output
    assert f"left unowned: {outside} transactions, 0 import batches" in result.output
    assert "add --owner EMAIL for the rest" in result.output
    assert install.unowned() == outside
    assert install.unowned("import_batches") == 0

    upgrade = install.invoke("db", "upgrade")
    assert upgrade.exit_code == 1
    assert f"{outside} rows in transactions" in upgrade.output


def test_unknown_users_missing_rows_and_rows_owned_by_others_are_reported(small_legacy, tmp_path):
    install = small_legacy
    alice_batch, bob_batch = batch_ids(install, "alice")[0], batch_ids(install, "bob")[0]
    loose = install.sql("SELECT id FROM transactions WHERE import_batch_id IS NULL ORDER BY id "
                        "LIMIT 2").scalars().all()
    # Owned before the backfill: a row and a batch already belong to Bob.
    bob = install.user_id("bob@example.com")
    install.sql("UPDATE transactions SET user_id = :u WHERE id = :i", u=bob, i=loose[0])
    install.sql("UPDATE import_batches SET user_id = :u WHERE id = :i", u=bob, i=bob_batch)
    mapping = write_map(
        tmp_path, "import_batch_id,transaction_id,email",
        f"{alice_batch},,alice@example.com",            # fine
        f",{loose[1]},zed@example.com",                 # line 3: unknown user
        f",{loose[0]},carol@example.com",               # line 4: Bob's row
        f"{bob_batch},,alice@example.com",              # line 5: Bob's batch
        ",999999,alice@example.com",                    # line 6: no such row
        "424242,,carol@example.com",                    # line 7: no such batch
    )
    before = state(install)

    for extra in ((), ("--dry-run",)):
        result = backfill(install, "--map", mapping, "--owner", "admin@example.com", *extra)
        assert result.exit_code == 1, result.output
        assert "5 map line(s) cannot be applied, so nothing was changed" in result.output
        assert f"line 3: transaction {loose[1]}: there is no user zed@example.com" in result.output
        assert (f"line 4: transaction {loose[0]} is already owned by bob@example.com, "
                "not carol@example.com") in result.output
        assert (f"line 5: import batch {bob_batch} is already owned by bob@example.com, "
                "not alice@example.com") in result.output
        assert "line 6: there is no transaction 999999" in result.output
        assert "line 7: there is no import batch 424242" in result.output
        assert "line 2" not in result.output
        assert "Count check" not in result.output
        assert state(install) == before


def test_a_line_already_applied_by_an_earlier_run_counts_as_done(small_legacy, tmp_path):
    install = small_legacy
    alice_batch = batch_ids(install, "alice")[0]
    alice = install.user_id("alice@example.com")
    # An earlier run was stopped after the batch itself, before its transactions.
    install.sql("UPDATE import_batches SET user_id = :u WHERE id = :b", u=alice, b=alice_batch)
    mapping = write_map(tmp_path, "import_batch_id,email", f"{alice_batch},alice@example.com")

    result = backfill(install, "--map", mapping)
    assert result.exit_code == 0, result.output
    assert "1 map line(s) already applied" in result.output
    in_batch = install.sql("SELECT u.email FROM transactions t LEFT JOIN users u "
                           "ON u.id = t.user_id WHERE t.import_batch_id = :b",
                           b=alice_batch).scalars().all()
    assert in_batch and set(in_batch) == {"alice@example.com"}


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("id,email\n1,alice@example.com\n", "the header must be"),
    ("import_batch_id,owner\n1,alice@example.com\n", "the header must be"),
    ("import_batch_id,email,email\n1,a@example.com,a@example.com\n", "the header must be"),
    ("import_batch_id,email\n", "maps nothing"),
    ("import_batch_id,email\nx1,alice@example.com\n", "line 2: import_batch_id 'x1' is not"),
    ("import_batch_id,email\n-3,alice@example.com\n", "line 2: import_batch_id '-3' is not"),
    ("import_batch_id,email\n1,alice\n", "line 2: 'alice' is not an email address"),
    ("import_batch_id,email\n1\n", "line 2: 1 fields, the header has 2"),
    ("import_batch_id,transaction_id,email\n1,2,alice@example.com\n", "line 2: give exactly one"),
    ("import_batch_id,transaction_id,email\n,,alice@example.com\n", "line 2: give exactly one"),
    ("import_batch_id,email\n1,alice@example.com\n1,bob@example.com\n",
     "line 3: import batch 1 is mapped to bob@example.com here and to alice@example.com on line 2"),
])
def test_a_malformed_map_file_is_refused_whole(small_legacy, tmp_path, content, message):
    install = small_legacy
    mapping = tmp_path / "owners.csv"
    mapping.write_text(content)
    before = state(install)
    result = backfill(install, "--map", mapping, "--owner", "admin@example.com")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "nothing was changed" in result.output
    assert "Traceback" not in result.output
    assert state(install) == before


def test_a_map_file_that_is_not_utf8_is_refused(small_legacy, tmp_path):
    mapping = tmp_path / "owners.csv"
    mapping.write_bytes("import_batch_id,email\n1,jos\xe9@example.com\n".encode("latin-1"))
    result = backfill(small_legacy, "--map", mapping)
    assert result.exit_code == 1
    assert "not a UTF-8 CSV file" in result.output
    assert small_legacy.unowned() == SMALL_ROWS


def test_a_map_with_a_bom_and_upper_case_header_and_email_is_read(small_legacy, tmp_path):
    install = small_legacy
    batch = batch_ids(install, "carol")[0]
    mapping = tmp_path / "owners.csv"
    mapping.write_bytes(f"\ufeffImport_Batch_ID , EMAIL\r\n{batch}, Carol@Example.com\r\n"
                        .encode("utf-8"))
    result = backfill(install, "--map", mapping)
    assert result.exit_code == 0, result.output
    assert install.owners("import_batches")[batch] == "carol@example.com"


@pytest.mark.parametrize("args, code, message", [
    ((), 2, "Give --owner EMAIL, --map FILE, or both"),
    (("--owner", "nobody@example.com"), 1, "there is no user nobody@example.com"),
    (("--owner", "admin@example.com", "--batch-size", "0"), 2, "--batch-size"),
    (("--owner", "admin@example.com", "--batch-size", "many"), 2, "--batch-size"),
    (("--map", "/nonexistent/owners.csv"), 2, "does not exist"),
])
def test_bad_options_are_refused_and_change_nothing(small_legacy, args, code, message):
    before = state(small_legacy)
    result = backfill(small_legacy, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert state(small_legacy) == before


def test_running_it_again_when_done_changes_nothing(small_legacy):
    install = small_legacy
    assert backfill(install, "--owner", "bob@example.com").exit_code == 0
    before = state(install)
    again = backfill(install, "--owner", "admin@example.com")
    assert again.exit_code == 0, again.output
    assert f"unowned now: 0 of {SMALL_ROWS} transactions" in again.output
    assert "Backfill done: 0 transactions and 0 import batches" in again.output
    assert "MISMATCH" not in again.output
    assert state(install) == before  # already owned rows are never reassigned


def test_the_new_owner_s_isolated_cache_goes_stale(small_legacy):
    """A cohort may already be isolated at revision 2: its users' cached aggregates were
    built without the rows the backfill gives them."""
    install, app = small_legacy, small_legacy.app
    set_isolation(app, ["staff"])
    alice = install.user_id("alice@example.com")
    with app.app_context():  # a bearer token: revision 2 has no server-side sessions yet
        bearer = {"Authorization": f"Bearer {issue_token(db.session.get(User, alice))}"}

    def summary(build):
        with app.test_request_context("/api/x", headers=bearer):
            return cached("summary:2024-11", build)

    assert summary(lambda: "before") == "before"
    assert summary(lambda: "rebuilt") == "before"  # cached
    assert backfill(install, "--owner", "alice@example.com").exit_code == 0
    assert summary(lambda: "after the backfill") == "after the backfill"


def test_an_interrupted_backfill_still_makes_the_new_owner_s_cache_stale(small_legacy,
                                                                         monkeypatch):
    """The batches committed before a stop gave their rows owners: the owners' cached
    aggregates (and the shared ledger's) are stale whether or not the run finishes."""
    from finance_app.rollout import backfill as backfill_module

    install, app = small_legacy, small_legacy.app
    set_isolation(app, ["staff"])
    alice = install.user_id("alice@example.com")
    with app.app_context():
        bearer = {"Authorization": f"Bearer {issue_token(db.session.get(User, alice))}"}

    def summary(build):
        with app.test_request_context("/api/x", headers=bearer):
            return cached("summary:2024-11", build)

    assert summary(lambda: "before") == "before"
    real_assign_range, calls = backfill_module._assign_range, []

    def interrupted_in_second_batch(*args, **kwargs):
        calls.append(real_assign_range(*args, **kwargs))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return calls[-1]

    monkeypatch.setattr(backfill_module, "_assign_range", interrupted_in_second_batch)
    stopped = backfill(install, "--owner", "alice@example.com", "--batch-size", 1000)
    assert stopped.exit_code == 130, stopped.output
    assert install.unowned() == SMALL_ROWS - 1000  # one batch committed
    assert summary(lambda: "after the stop") == "after the stop"
