"""Real unleash-servers (npm, tests/support/unleash): `unleash_server` for the whole session,
`private_unleash_server` for a test that stops its own (fault tests).

The helpers at the end (admin API calls, reset, an app on the server) serve every test
that uses one. Each runs `node start.mjs` against its own fresh PostgreSQL database, with an
admin and a backend token made up for it. Install it once with `npm ci --prefix tests/support/unleash`;
without it (or without node) the tests that use it skip locally and fail under CI=true.
"""
import os
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from UnleashClient.constants import CLIENT_SPEC_VERSION

from finance_app.isolation.flags import COHORT_CONTEXT_FIELD, ISOLATION_FLAG, LOCK_FLAG
from tests.support.services import fresh_postgres_database, require

UNLEASH_DIR = Path(__file__).resolve().parent / "unleash"
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class UnleashServer:
    url: str  # http://127.0.0.1:PORT
    api_url: str  # …/api: what UNLEASH_URL takes
    admin_token: str
    backend_token: str
    log_path: Path


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_healthy(process, url, log_path):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    state = (f"exited with {process.returncode}" if process.poll() is not None
             else f"not healthy after {START_TIMEOUT_SECONDS} s")
    log = log_path.read_text(errors="replace")[-5000:]
    pytest.fail(f"unleash-server {state}; its log ({log_path}) ends:\n{log}")


class UnleashProcess:
    """A running unleash-server of our own; `stop()` stops it (a fault test can, mid-test)."""

    def __init__(self, server, process):
        self.server = server
        self.process = process

    def stop(self):
        _stop(self.process)


@contextmanager
def running_unleash_server(log_dir):
    """Start an unleash-server on a free loopback port against a fresh PostgreSQL database,
    with an admin and a backend token made up for it; stop it and drop the database after."""
    node = shutil.which("node")
    require("unleash-server", node and (UNLEASH_DIR / "node_modules" / "unleash-server").is_dir(),
            "needs node and `npm ci --prefix tests/support/unleash`")
    db_url, drop_database = fresh_postgres_database("unleash")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    admin_token = f"*:*.{secrets.token_hex(16)}"
    backend_token = f"default:development.{secrets.token_hex(16)}"
    log_path = Path(log_dir) / "unleash-server.log"
    env = dict(
        os.environ,
        UNLEASH_DB_NAME=db_url.rsplit("/", 1)[1],
        UNLEASH_PORT=str(port),
        INIT_ADMIN_API_TOKENS=admin_token,
        INIT_BACKEND_API_TOKENS=backend_token,
    )
    process = None
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen([node, "start.mjs"], cwd=UNLEASH_DIR, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
        _wait_healthy(process, url, log_path)
        yield UnleashProcess(UnleashServer(url=url, api_url=f"{url}/api",
                                           admin_token=admin_token,
                                           backend_token=backend_token, log_path=log_path),
                             process)
    finally:
        if process is not None:
            _stop(process)
        drop_database()


@pytest.fixture(scope="session")
def unleash_server(tmp_path_factory):
    """One server for the session's tests that leave it running (see `reset_server`)."""
    with running_unleash_server(tmp_path_factory.mktemp("unleash")) as running:
        yield running.server


@pytest.fixture
def private_unleash_server(tmp_path):
    """A server of the test's own, which the test may stop (fault tests)."""
    log_dir = tmp_path / "unleash"
    log_dir.mkdir()
    with running_unleash_server(log_dir) as running:
        yield running


# --- helpers for tests that use the server -------------------------------------------------

# Unleash's client API lags its Admin API by up to about a second (see RemoteBackend.refresh).
PROPAGATION_SECONDS = 10


def admin(server, method, path, **kwargs):
    response = requests.request(method, f"{server.api_url}/admin{path}", timeout=10,
                                headers={"Authorization": server.admin_token}, **kwargs)
    return response


def served_flags(server, as_sdk=False):
    """The flags the client API serves. Unleash answers SDKs (requests with an
    Unleash-Client-Spec header) from a cache that catches up a few seconds later than the
    plain answer, so `as_sdk` asks the way the app's SDK does."""
    headers = {"Authorization": server.backend_token}
    if as_sdk:
        headers["Unleash-Client-Spec"] = CLIENT_SPEC_VERSION
    response = requests.get(f"{server.api_url}/client/features", timeout=10, headers=headers)
    response.raise_for_status()
    return {f["name"]: f for f in response.json()["features"]}


def eventually(check, timeout=PROPAGATION_SECONDS, flags=None):
    """Wait until check() is true, refreshing `flags` (a FlagService) on every round."""
    deadline = time.monotonic() + timeout
    while True:
        if flags is not None:
            flags.refresh(wait_seconds=2)
        if check():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def reset_server(server):
    """Remove both flags and the cohort context field: a shared server, a clean start."""
    for name in (ISOLATION_FLAG, LOCK_FLAG):
        # Archive, then delete from the archive: the name is free again.
        admin(server, "DELETE", f"/projects/default/features/{name}")
        admin(server, "DELETE", f"/archive/{name}")
    admin(server, "DELETE", f"/context/{COHORT_CONTEXT_FIELD}")
    assert admin(server, "GET", f"/context/{COHORT_CONTEXT_FIELD}").status_code == 404
    # Both views: the next test's app must start from a server without the flags.
    eventually(lambda: not {ISOLATION_FLAG, LOCK_FLAG} & (
        set(served_flags(server)) | set(served_flags(server, as_sdk=True))), timeout=30)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_app(tmp_path, migrated_sqlite, server, url=None, **overrides):
    """An app (on a copy of the migrated SQLite template) whose flags live on `server`."""
    from tests.conftest import make_app  # conftest loads this module as a plugin

    if not (tmp_path / "app.db").exists():
        shutil.copy(migrated_sqlite, tmp_path / "app.db")
    return make_app(tmp_path, **{
        "UNLEASH_URL": url or server.api_url, "UNLEASH_API_TOKEN": server.backend_token,
        "UNLEASH_ADMIN_TOKEN": server.admin_token, "FLAG_REFRESH_SECONDS": 1, **overrides})
