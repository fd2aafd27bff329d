"""Load for `make bench`: wrk (Debian's `wrk`, a C load generator) against a running server,
and the servers themselves (gunicorn, started and stopped here)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(url, token, seconds, connections):
    """Drive `url` for `seconds` with `connections` keeping a request in flight each."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-H", f"Authorization: Bearer {token}", url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30,
                         check=True).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Load(requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                p50_ms=_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
                p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
                errors=errors)


def _ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


class Server:
    """gunicorn serving `app_spec` (2 sync workers, as production does) on a free port."""

    def __init__(self, name, app_spec, env, workers=2):
        self.name = name
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        environment = {**os.environ, **env, "PROMETHEUS_MULTIPROC_DIR": str(self.folder / "prom")}
        self.log = open(self.folder / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "120", app_spec],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path, token, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                request = urllib.request.Request(self.url + path,
                                                 headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not come up; its log: {self.folder / 'gunicorn.log'}\n"
                           + (self.folder / "gunicorn.log").read_text()[-3000:])

    def worker_pids(self):
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_mb(self):
        """Resident memory of each worker, MB."""
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
