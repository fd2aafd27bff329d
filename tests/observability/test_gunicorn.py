"""Multiprocess mode under a real gunicorn with two workers: one scrape adds up the counts
of both; a worker that exits leaves the per-process gauges (gunicorn.conf.py's child_exit)
while its counts stay in the totals."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, add_user, set_isolation
from tests.observability.support import Scrape

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60
AGE = "finance_flag_definitions_age_seconds"
NOT_FOUND = "finance_responses_total"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eventually(what, check):
    """Poll `check()` until it returns something true; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


class Gunicorn:
    def __init__(self, folder, database):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        env = {key: value for key, value in os.environ.items()
               if key not in ("REDIS_URL", "UNLEASH_URL", "FINANCE_ENV")}
        env.update(DATABASE_URL=f"sqlite:///{database}", FINANCE_INSTANCE_DIR=str(folder),
                   CACHE_DIR=str(folder / "cache"), FLAG_REFRESH_SECONDS="1",
                   PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2",
                 "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        eventually("gunicorn to answer", self._answers)

    def _answers(self):
        assert self.process.poll() is None, self.log.read_text()
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).ok
        except (requests.ConnectionError, requests.Timeout):  # workers still booting
            return False

    def scrape(self):
        response = requests.get(f"{self.url}/metrics", timeout=5)
        assert response.status_code == 200, response.text
        return Scrape(response.text)

    def served_by(self):
        """request id -> pid of the worker that answered, from the JSON request lines."""
        lines = [json.loads(line) for line in self.log.read_text().splitlines()
                 if line.startswith('{"')]
        return {line["request_id"]: line["pid"] for line in lines
                if line.get("logger") == "finance_app.requests"}

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def server(app, tmp_path):
    add_user(app, "erin@example.com", "staff")
    set_isolation(app, ["staff"])
    folder = tmp_path / "host"
    folder.mkdir()
    started = Gunicorn(folder, tmp_path / "app.db")  # the test app's database
    yield started
    started.stop()


def test_one_scrape_counts_every_worker_and_a_dead_worker_leaves_the_gauges(server):
    token = requests.post(f"{server.url}/api/auth/tokens", timeout=10, json={
        "email": "erin@example.com", "password": PASSWORD}).json()["token"]
    sent = []

    def probe(n):
        request_id = f"probe-{n}"
        response = requests.get(f"{server.url}/api/transactions/2147483000", timeout=10,
                                headers={"Authorization": f"Bearer {token}",
                                         "X-Request-ID": request_id, "Connection": "close"})
        assert response.status_code == 404
        sent.append(request_id)

    def both_workers_served():
        with ThreadPoolExecutor(4) as pool:  # concurrent: one worker alone cannot take all
            list(pool.map(probe, range(len(sent), len(sent) + 8)))
        served = server.served_by()
        return len({served[r] for r in sent if r in served}) == 2

    eventually("both workers to answer probes", both_workers_served)
    served = server.served_by()
    workers = {served[r] for r in sent}
    # Each worker has evaluated flags: each reports its own gauge, labelled with its pid.
    scrape = eventually("a gauge from each worker",
                        lambda: ages_from(server.scrape(), pids=workers))
    assert all(age >= 0 for age in scrape.series(AGE).values())
    assert scrape.value(NOT_FOUND, blueprint="transactions_api", status="404",
                        cohort="staff") == len(sent)  # both workers' counts, in one scrape

    gone = min(workers)
    os.kill(gone, signal.SIGTERM)  # gunicorn starts another worker in its place
    scrape = eventually("the exited worker's gauge to leave",
                        lambda: ages_from(server.scrape(), without=gone))
    assert scrape.value(NOT_FOUND, blueprint="transactions_api", status="404",
                        cohort="staff") == len(sent)  # its counts stay in the total


def ages_from(scrape, pids=None, without=None):
    """The scrape, if its flag definitions' ages come from exactly `pids` / not from
    `without`."""
    reporting = {int(dict(labels)["pid"]) for labels in scrape.series(AGE)}
    if pids is not None and reporting != pids or without in reporting:
        return None
    return scrape
