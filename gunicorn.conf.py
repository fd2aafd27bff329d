"""Gunicorn settings the app relies on (`gunicorn -c gunicorn.conf.py -w 4 wsgi:app`).

Metrics from every worker: with PROMETHEUS_MULTIPROC_DIR set in gunicorn's environment,
each worker writes its metrics to files in that folder and GET /metrics (answered by any
worker) adds up all of them. The folder is emptied when gunicorn starts (counts restart
with the server, as Prometheus expects of counters); a worker that exits is marked dead, so
its per-process gauges (the flag definitions' age) leave the scrape while its counts stay
in the totals. Each gunicorn server (each host) needs a folder of its own. Without the
variable each worker keeps its own metrics and a scrape sees only the worker answering it.
"""
import os
from pathlib import Path

# gunicorn's control socket is not used here, and its default path ($HOME/.gunicorn) is one
# per user: several servers on one machine (hosts side by side, tests) would fight over it.
control_socket_disable = True

# The files prometheus_client writes: `<type>_<pid>.db`, `gauge_<mode>_<pid>.db`.
METRIC_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for pattern in METRIC_FILES:  # only its own files, whatever else the folder holds
            for stale in path.glob(pattern):
                stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
