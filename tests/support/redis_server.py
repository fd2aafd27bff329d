"""A Redis server of a test's own (loopback, its own port and folder), for fault tests that
stop, flush or restore it — never the shared one on 6379."""
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.support.services import require

START_TIMEOUT_SECONDS = 10


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """redis-server on 127.0.0.1:<port>, its dump file in `folder`."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    @property
    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.folder), "--dbfilename", "dump.rdb", "--save", "",
             "--appendonly", "no", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server on port {self.port} did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def snapshot(self, name):
        """Save the data set now, as a backup would; returns the snapshot's path."""
        self.client.save()
        return Path(shutil.copy(self.folder / "dump.rdb", self.folder / name))

    def restore(self, snapshot):
        """Stop the server, put the snapshot in place of its data, start it again."""
        self.stop()
        shutil.copy(snapshot, self.folder / "dump.rdb")
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    require("redis-server", shutil.which("redis-server"), "needs Debian's redis-server")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = PrivateRedis(folder)
    server.start()
    yield server
    server.stop()
