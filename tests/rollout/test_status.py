"""`flask isolation status`: where an install stands, at every revision."""
import re
from datetime import datetime, timedelta, timezone

from finance_app.extensions import cache
from tests.conftest import set_isolation
from tests.rollout.conftest import NULLABLE, SMALL_ROWS, open_install


def status(install):
    result = install.invoke("isolation", "status")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def line(output, pattern):
    found = re.search(pattern, output, re.M)
    assert found, f"no line matching {pattern!r} in:\n{output}"
    return found


def add_guard_event(install, when):
    install.sql("INSERT INTO guard_events (created_at, user_id, endpoint, models) "
                "VALUES (:t, 1, 'transactions.api_list', 'transactions')", t=when)


def test_status_of_a_legacy_install_mid_rollout(small_legacy):
    install, app = small_legacy, small_legacy.app
    set_isolation(app, ["staff"], percent=10)
    now = datetime.now(timezone.utc)
    add_guard_event(install, now - timedelta(minutes=5))
    add_guard_event(install, now - timedelta(hours=30))  # outside the 24 h window
    with app.app_context():
        cache.set("summary:2024-11", 1)
        cache.set("trends:12", 1)
        cache.set("user:1:summary:2024-11", 1)
        cache.set("_principal:1", 1)

    output = status(install)
    line(output, rf"^Migration revision: {NULLABLE} \(head {install.head()}; behind head")
    batches = install.ledger().import_batches
    line(output, rf"^  transactions\s+{SMALL_ROWS} of {SMALL_ROWS}$")
    line(output, rf"^  import_batches\s+{batches} of {batches}$")
    line(output, r"flask isolation backfill --owner EMAIL")
    line(output, r"^USE_USER_ISOLATION: cohorts enabled: staff; percentage rollout: 10%$")
    line(output, r"^  staff\s+2 users\s+isolated$")
    line(output, r"^  beta\s+1 user\s+shared ledger, 10% of its users isolated$")
    line(output, r"^  general\s+1 user\s+shared ledger, 10% of its users isolated$")
    line(output, r"^Flag backend: embedded, ok, last sync 20\d\d-")
    line(output, r"^Emergency data lock: off$")
    line(output, r"^Legacy cache keys: 2$")
    line(output, r"^Guard refusals in the last 24 h: 1$")


def test_status_after_the_backfill_at_head(small_legacy):
    install = small_legacy
    assert install.invoke("isolation", "backfill", "--owner", "admin@example.com").exit_code == 0
    assert install.invoke("db", "upgrade").exit_code == 0
    with install.app.app_context():
        install.app.extensions["flags"].set_lock(True)
    install.sql("INSERT INTO cohorts (name, created_at) VALUES ('pilot', :t)",
                t=datetime.now(timezone.utc))

    output = status(install)
    line(output, rf"^Migration revision: {install.head()} \(head {install.head()}; at head\)$")
    line(output, rf"^  transactions\s+0 of {SMALL_ROWS}$")
    assert "flask isolation backfill" not in output
    # Revision 2 defined the flag with no cohort: everyone keeps the shared ledger.
    line(output, r"^USE_USER_ISOLATION: cohorts enabled: none; percentage rollout: 0%$")
    line(output, r"^  staff\s+2 users\s+shared ledger$")
    line(output, r"^  pilot\s+0 users\s+shared ledger$")  # a cohort with no users yet
    line(output, r"^Emergency data lock: ON$")
    line(output, r"^Legacy cache keys: 0$")
    line(output, r"^Guard refusals in the last 24 h: 0$")


def test_status_at_revision_1_says_there_is_no_owner_column_yet(tmp_path):
    install, _ = open_install(tmp_path, "sqlite")
    try:
        assert install.invoke("demo", "legacy-db", "--rows", 20).exit_code == 0
        output = status(install)
        line(output, r"^Migration revision: 0001_legacy ")
        line(output, r"^  transactions\s+all 20 \(no owner column yet: revision 1\)$")
        line(output, r"^USE_USER_ISOLATION: not defined \(isolation ON for everyone\)$")
        line(output, r"^  general\s+1 user\s+isolated \(flag undefined: fails closed\)$")
    finally:
        install.close()


def test_status_of_an_empty_database_says_what_to_do(tmp_path):
    install, _ = open_install(tmp_path, "sqlite")
    try:
        output = status(install)
        line(output, r"^Migration revision: none \(head .*; no tables: run `flask db upgrade`\)$")
        line(output, r"^  no owned tables yet$")
        line(output, r"^USE_USER_ISOLATION: unavailable \(OperationalError")
        line(output, r"^Flag backend: embedded, NOT OK \(")
        line(output, r"^Guard refusals in the last 24 h: unavailable")
    finally:
        install.close()
