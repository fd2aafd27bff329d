"""App hosts of a test's own: gunicorn masters (`gunicorn -w N wsgi:app`), each on its own
loopback port with its own instance folder, as hosts behind a load balancer run the app; and
a way to tell which worker answered a request.

Which worker answered: every request a test sends through `AppHost.request` carries a probe
id in a header of its own (`X-Test-Probe`), and the host's gunicorn access log — a file in
the test's folder, read by the test alone — logs that id with the pid of the worker that
answered (gunicorn's `%(p)s`). Nothing is added to the app and nothing reaches its users: an
answer says no more than it would without the test. Gunicorn's sync workers close every
connection, so each request is a fresh connection that any idle worker may accept; requests
go a few at a time (`from_every_worker`), so that while one worker is busy another accepts
the next, until every worker has answered.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15
REQUEST_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 300
# How long an answered request may take to reach the access log (written after the answer).
LOGGED_WITHIN_SECONDS = 10
# Requests sent to reach every worker before the test gives up: far more than enough, as a
# busy worker leaves each concurrent connection to another.
MAX_REQUESTS_PER_WORKER = 50

PROBE_HEADER = "X-Test-Probe"
ACCESS_LOG_FORMAT = "%({x-test-probe}i)s %(p)s"

# Settings of the app's environment (config/__init__.py) that a host takes from the test
# only: whatever the test runner's own environment holds is left out.
APP_SETTINGS_PREFIXES = ("FINANCE_", "DATABASE_", "REDIS_", "UNLEASH_", "CACHE_", "SECRET_",
                         "SESSION_", "FLAG_", "EMERGENCY_", "IMPORT_", "RATE_LIMIT_",
                         "TRUSTED_PROXY", "FLASK_")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Answer:
    response: requests.Response
    worker: int  # the pid of the gunicorn worker that answered


class AppHost:
    """One host: `flask` commands and a gunicorn master with `workers` workers, in production
    configuration, on the settings given (the test's database, Redis, flags…)."""

    def __init__(self, name, folder, settings, workers=2):
        self.name = name
        self.folder = Path(folder) / name
        self.folder.mkdir(parents=True)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = self.folder / "instance"
        self.access_log = self.folder / "access.log"
        self.server_log = self.folder / "gunicorn.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(APP_SETTINGS_PREFIXES)}
        self.env = base | {"FINANCE_ENV": "production", "FLASK_APP": "wsgi.py",
                           "FINANCE_INSTANCE_DIR": str(self.instance)} | settings
        self.process = None
        self._workers_by_probe = {}
        self._log_read = 0
        self._log_lock = threading.Lock()

    def __repr__(self):
        return f"host {self.name} ({self.url})"

    # --- the host's processes ----------------------------------------------------------------
    def flask(self, *args):
        """Run an ops command on this host (`flask …`); its output."""
        done = subprocess.run([BIN / "flask", *args], cwd=PROJECT, env=self.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS)
        assert done.returncode == 0, f"flask {' '.join(args)} on {self}:\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self):
        """Start gunicorn; return once every worker has answered `/readyz` with `ready`."""
        with open(self.server_log, "ab") as log:
            self.process = subprocess.Popen(
                [BIN / "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                 "--access-logfile", str(self.access_log),
                 "--access-logformat", ACCESS_LOG_FORMAT,
                 "--timeout", "60", "--graceful-timeout", "5", "wsgi:app"],
                cwd=PROJECT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._answers_readyz():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{self} did not start; its log ({self.server_log}) ends:\n"
                            f"{self.server_log.read_text(errors='replace')[-5000:]}")
            time.sleep(0.25)
        assert self.outcomes(lambda: self.request(None, "GET", "/readyz"),
                             lambda response: response.json()["status"]) == self.every("ready")

    def _answers_readyz(self):
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self):
        """Stop gunicorn and its workers (a graceful stop, then a kill)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for pid in self.worker_pids():
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def worker_pids(self):
        """The master's children: its workers now."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:  # the master has exited
            return set()
        return {int(child) for child in children}

    # --- requests and who answered them --------------------------------------------------
    def request(self, client, method, path, **kwargs):
        """Send a request to this host (through `client`, a requests.Session keeping a
        browser's cookies, or None); the response and the worker that answered."""
        probe = uuid.uuid4().hex
        headers = {**kwargs.pop("headers", {}), PROBE_HEADER: probe}
        response = (client or requests).request(method, self.url + path, headers=headers,
                                                timeout=REQUEST_TIMEOUT_SECONDS,
                                                allow_redirects=False, **kwargs)
        return Answer(response, self._worker_for(probe))

    def _worker_for(self, probe):
        deadline = time.monotonic() + LOGGED_WITHIN_SECONDS
        while True:
            with self._log_lock:
                self._read_access_log()
                if probe in self._workers_by_probe:
                    return self._workers_by_probe.pop(probe)
            assert time.monotonic() < deadline, f"request {probe} is not in {self.access_log}"
            time.sleep(0.02)

    def _read_access_log(self):
        with open(self.access_log, "rb") as log:
            log.seek(self._log_read)
            data = log.read()
        complete = data[:data.rfind(b"\n") + 1]  # a line still being written waits
        self._log_read += len(complete)
        for line in complete.decode().splitlines():
            probe, pid = line.split()
            if probe != "-":
                self._workers_by_probe[probe] = int(pid.strip("<>"))

    def from_every_worker(self, ask):
        """Call `ask()` (which sends one request through `request` and returns its Answer)
        a few at a time until every worker has answered at least once; every answer's
        response, by the worker that answered it."""
        answered = defaultdict(list)
        at_once = 2 * self.workers
        with ThreadPoolExecutor(at_once) as pool:
            for _ in range(0, MAX_REQUESTS_PER_WORKER * self.workers, at_once):
                for answer in pool.map(lambda _: ask(), range(at_once)):
                    answered[answer.worker].append(answer.response)
                workers = self.worker_pids()
                if len(workers) == self.workers and workers <= answered.keys():
                    return dict(answered)
        pytest.fail(f"{self}: workers {sorted(self.worker_pids() - answered.keys())} answered "
                    f"none of {sum(map(len, answered.values()))} requests")

    def outcomes(self, ask, outcome):
        """`outcome(response)` of every answer to `ask` until each worker answered: the
        distinct outcomes by worker pid (see `every`)."""
        return {pid: {outcome(response) for response in responses}
                for pid, responses in self.from_every_worker(ask).items()}

    def every(self, outcome):
        """What `outcomes` is when every worker answered `outcome` and only that."""
        return {pid: {outcome} for pid in self.worker_pids()}
