"""A PostgreSQL cluster of a test's own (Debian's binaries, a temporary folder, a free
loopback port), for fault tests that stop it mid-test — never the shared one on 5432.

initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.redis_server import _free_port
from tests.support.services import require

COMMAND_TIMEOUT_SECONDS = 30


def _binaries():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.user = "postgres" if os.geteuid() == 0 else None
        # Not under pytest's tmp_path: its folders are private to root, and the server runs
        # as another user.
        self.folder = Path(tempfile.mkdtemp(prefix="finance-pg-"))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args):
        subprocess.run([str(self.bin_dir / args[0]), *args[1:]], user=self.user, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=COMMAND_TIMEOUT_SECONDS)

    def init(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F", "start")

    def stop(self):
        """Stop at once (as a crash or a lost host would), dropping every connection."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def remove(self):
        if self.running():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    bin_dir = _binaries()
    require("PostgreSQL binaries", bin_dir, "needs Debian's postgresql (initdb, pg_ctl)")
    server = PrivatePostgres(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()
