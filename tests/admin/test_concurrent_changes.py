"""Concurrent changes from several OS processes lose nothing (the change lock).

Two worker processes (`change_worker.py`), each with its own app on the same database, as
two hosts behind a load balancer would be, enable two different cohorts at the same moment,
round after round, through the admin JSON API. Before the lock, reading the flag, changing it
and writing it back interleaved and one enable was lost while both answered 200 and both were
audited. Now after every round both cohorts are enabled, and the round's two audit events
chain: the first starts from the state before the round, the second from the state the first
left, and it leaves the state the flag has. The flag service alone (as ops commands and the
demo seed call it) serialises its changes the same way. On SQLite, on PostgreSQL (embedded
flags) and on a real Unleash server (remote flags, app database on SQLite; fewer rounds:
every change waits for Unleash to serve it).
"""
from contextlib import contextmanager
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.models import AuditEvent, Cohort
from tests.admin.support import REASON
from tests.conftest import PASSWORD, add_user, app_on_fresh_database, set_isolation
from tests.support.unleash_server import build_app, reset_server

ROOT = Path(__file__).resolve().parents[2]
# Both workers get the same start time, this far ahead: time for both to read the request.
START_AHEAD_SECONDS = 0.15
ANSWER_TIMEOUT_SECONDS = 60


class Worker:
    """One `change_worker` process and the JSON lines it answers."""

    def __init__(self, settings, token, log_path):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.admin.change_worker"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.answers = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"settings": settings, "token": token})

    def _read(self):
        for line in self.process.stdout:
            self.answers.put(json.loads(line))
        self.answers.put(None)  # the process ended

    def send(self, message):
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self):
        answer = self.answers.get(timeout=ANSWER_TIMEOUT_SECONDS)
        assert answer is not None, f"the worker died; see {self.log.name}"
        return answer

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


REMOTE = pytest.param("remote", marks=[pytest.mark.unleash, pytest.mark.postgres])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), REMOTE])
def install(request, tmp_path):
    """(app, the settings a worker needs to build the same app, rounds of the dashboard test)."""
    settings = {"CACHE_DIR": str(tmp_path / "cache"), "FLAG_REFRESH_SECONDS": 60}
    if request.param == "sqlite":
        app = request.getfixturevalue("app")
        yield app, settings | {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}, 50
    elif request.param == "postgres":
        with app_on_fresh_database(tmp_path, "postgres") as app:
            yield app, settings | {
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}, 50
    else:
        server = request.getfixturevalue("unleash_server")
        reset_server(server)
        app = build_app(tmp_path, request.getfixturevalue("migrated_sqlite"), server)
        try:
            yield app, settings | {
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "UNLEASH_URL": server.api_url, "UNLEASH_API_TOKEN": server.backend_token,
                "UNLEASH_ADMIN_TOKEN": server.admin_token, "FLAG_REFRESH_SECONDS": 1}, 5
        finally:
            app.extensions["flags"].close()
            reset_server(server)


@contextmanager
def two_workers(install, tmp_path):
    """Two worker processes on the install's database, signed in as its admin."""
    app, settings, _ = install
    token = admin_token(app)
    workers = []
    try:
        for n in range(2):
            worker_settings = settings | {"INSTANCE_DIR": str(tmp_path / f"worker{n}")}
            workers.append(Worker(worker_settings, token, tmp_path / f"worker{n}.log"))
        assert [w.receive() for w in workers] == [{"ready": 200}] * 2
        yield workers
    finally:
        for worker in workers:
            worker.close()


def at_once(workers, changes):
    """Send each worker its change, to start at the same moment; their answers."""
    at = time.monotonic() + START_AHEAD_SECONDS
    for worker, change in zip(workers, changes):
        worker.send({"at": at} | change)
    return [w.receive() for w in workers]


def add_cohorts(app, pairs):
    with app.app_context():
        db.session.add_all(Cohort(name=name) for pair in pairs for name in pair)
        db.session.commit()


def admin_token(app):
    add_user(app, "admin@example.com", "staff", is_admin=True)
    response = app.test_client().post("/api/auth/tokens", json={"email": "admin@example.com",
                                                                 "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json["token"]


def enabled_cohorts(app):
    with app.app_context():
        return app.extensions["flags"].isolation_state()["cohorts"]


def events_after(app, event_id):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.id > event_id)
                                  .order_by(AuditEvent.id)).scalars().all()


def test_two_processes_enabling_cohorts_at_once_lose_nothing(install, tmp_path):
    app, _, rounds = install
    set_isolation(app, ["staff"])
    pairs = [(f"a{r}", f"b{r}") for r in range(rounds)]
    add_cohorts(app, pairs)

    with two_workers(install, tmp_path) as workers:
        state, last_event = ["staff"], 0
        for round_, pair in enumerate(pairs):
            answers = at_once(workers, [
                {"method": "PUT", "path": f"/api/admin/isolation/cohorts/{cohort}",
                 "body": {"enabled": True, "reason": REASON}} for cohort in pair])
            assert [(a["status"], a["body"]["changed"]) for a in answers] == [(200, True)] * 2

            expected = sorted({*state, *pair})
            assert enabled_cohorts(app) == expected, f"round {round_}: an enable was lost"
            first, second = events_after(app, last_event)  # exactly two events
            assert {first.target, second.target} == set(pair)
            assert all(e.before["enabled"] is False and e.after["enabled"] is True
                       for e in (first, second))
            assert first.before["enabled_cohorts"] == state, f"round {round_}"
            assert second.before["enabled_cohorts"] == first.after["enabled_cohorts"], (
                f"round {round_}: both changes started from the same state")
            assert second.after["enabled_cohorts"] == expected, f"round {round_}"
            state, last_event = expected, second.id


def test_the_flag_service_alone_serialises_its_changes(install, tmp_path):
    app, _, rounds = install
    set_isolation(app, ["staff"])
    pairs = [(f"a{r}", f"b{r}") for r in range(min(rounds, 20))]

    with two_workers(install, tmp_path) as workers:
        state = ["staff"]
        for round_, pair in enumerate(pairs):
            answers = at_once(workers, [{"enable_cohort": cohort} for cohort in pair])
            assert answers == [{"done": True}] * 2
            state = sorted({*state, *pair})
            assert enabled_cohorts(app) == state, f"round {round_}: an enable was lost"
