"""A process that has just started on the remote flag backend — a new gunicorn worker, a host
joining the load balancer — evaluates its first request on what the Unleash server serves.

The two-host test found it: the first poll ran in the background, so the first requests of
every new worker were answered on the unknown-flag defaults (isolation on for everyone: bob,
whose cohort is not isolated, saw his own rows only, and the other worker of the same host
showed him the shared ledger) or on last-known definitions older than the server's; an
EMERGENCY_DATA_LOCK engaged in Unleash was not in force either. A new process now waits for
its first poll, FLAG_STARTUP_TIMEOUT_SECONDS at most (an unreachable server: the
last-known definitions, `tests/isolation/test_remote_flags.py`).
"""
import pytest

from tests.conftest import set_isolation
from tests.support.unleash_server import build_app, reset_server

pytestmark = [pytest.mark.unleash, pytest.mark.postgres]


@pytest.fixture
def apps(tmp_path, migrated_sqlite, unleash_server):
    """Apps on the session's Unleash server, each in an instance folder of its own (no
    last-known definitions) unless given one; closed, and the server reset, after the test."""
    reset_server(unleash_server)
    made = []

    def build(folder):
        folder = tmp_path / folder
        folder.mkdir(exist_ok=True)
        made.append(build_app(folder, migrated_sqlite, unleash_server))
        return made[-1]

    yield build
    for app in made:
        app.extensions["flags"].close()
    reset_server(unleash_server)


def first_answers(app):
    """A fresh process's first evaluations: isolation for a general user, and the lock."""
    with app.app_context():
        flags = app.extensions["flags"]
        return flags.isolation_for(2, "general"), flags.lock_on()


def test_a_new_process_answers_on_the_servers_definitions_from_the_first_request(apps):
    operator = apps("operator")
    set_isolation(operator, ["staff"])
    with operator.app_context():
        operator.extensions["flags"].set_lock(True)

    assert first_answers(apps("new-host")) == (False, True)


def test_a_restarted_process_does_not_answer_on_older_last_known_definitions(apps):
    host = apps("host")
    set_isolation(host, ["staff"])  # the host's last-known definitions: staff only
    host.extensions["flags"].close()
    set_isolation(apps("operator"), ["staff", "general"])

    restarted = apps("host")  # the same instance folder, its last-known definitions included
    assert first_answers(restarted) == (True, False)
