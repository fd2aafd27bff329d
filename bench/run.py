"""`make bench`: the app against its floor, side by side in one run, on PostgreSQL and Redis.

    .venv/bin/python bench/run.py [--rounds 5] [--seconds 4] [--import-rounds 3]

Builds its own databases (100k, 300k and 1M transactions: bench/dataset.py), starts the app
under gunicorn (2 workers, production settings: row-level security, two-sided isolation,
Redis) on each, and the floor (bench/floor_app.py: Flask + psycopg, the same SQL, one token
lookup) beside it, drives them with wrk, alternating which side goes first in every round,
and prints one table of ratios — the median over rounds and the spread (lowest–highest) —
against the targets of issue 13. The table, with the machine and date, replaces the
"make bench" section of bench/RESULTS.md; the plot of latency against table size is
bench/latency-by-size.png.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench import dataset  # noqa: E402
from bench.common import machine, table  # noqa: E402
from bench.import_bench import copy_rows, export, parsed  # noqa: E402
from bench.load import Server, wrk  # noqa: E402
from tests.support.round_trips import RoundTripProxy  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = {"100k": 100_000, "300k": 300_000, "1M": 1_000_000}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LIST = "/api/transactions"
FLAG_REFRESH_SECONDS = 2


def spread(ratios):
    ratios = sorted(ratios)
    return statistics.median(ratios), ratios[0], ratios[-1]


class Row:
    """One line of the table: baseline and app per round, their ratio, and the target."""

    def __init__(self, measure, unit, baseline, app, target, meets, digits=2):
        self.measure, self.unit, self.target, self.meets = measure, unit, target, meets
        self.baseline, self.app, self.digits = baseline, app, digits

    def cells(self):
        ratio, low, high = spread([a / b for a, b in zip(self.app, self.baseline)])
        fmt = f"{{:.{self.digits}f}}"
        return (self.measure, f"{fmt.format(statistics.median(self.baseline))} {self.unit}",
                f"{fmt.format(statistics.median(self.app))} {self.unit}",
                f"{ratio:.2f}x", f"{low:.2f}-{high:.2f}", self.target,
                "yes" if self.meets(ratio, statistics.median(self.app)) else "NO")


# --- set-up ---------------------------------------------------------------------------------

def build(prefix, folder):
    names = {size: f"{prefix}_{size.lower()}" for size in SIZES}
    started = time.monotonic()
    bench = dataset.build_first(names["100k"], SIZES["100k"], folder / "build")
    dataset.grow(names["300k"], names["100k"], bench, SIZES["100k"], SIZES["300k"])
    dataset.grow(names["1M"], names["300k"], bench, SIZES["300k"], SIZES["1M"])
    for size, name in names.items():
        assert dataset.row_count(name) == SIZES[size], (size, dataset.row_count(name))
    print(f"databases built in {time.monotonic() - started:.0f} s", flush=True)
    return names, bench


def start_servers(names, bench, folder):
    token = bench.tokens[dataset.ISOLATED_VIEWER]
    servers = {}
    for size, name in names.items():
        common = {"DATABASE_URL": dataset.sa_url(name), "REDIS_URL": REDIS_URL}
        servers["app", size] = Server(f"app-{size}", "wsgi:app", {
            **common, "FINANCE_ENV": "production", "SECRET_KEY": os.urandom(32).hex(),
            "SESSION_COOKIE_SECURE": "false", "CACHE_KEY_PREFIX": f"{name}:",
            "FLAG_REFRESH_SECONDS": str(FLAG_REFRESH_SECONDS),
            "INSTANCE_DIR": str(folder / f"instance-{size}")})
        servers["floor", size] = Server(f"floor-{size}", "bench.floor_app:app", {
            **common, "FLOOR_KEY_PREFIX": f"floor-{name}:"})
    for server in servers.values():
        server.wait_ready(LIST, token)
    return servers


def clear_cache(prefix):
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])


# --- measurements ---------------------------------------------------------------------------

def list_rounds(servers, bench, rounds, seconds):
    """{round: {(side, size, viewer, connections): Load}} — the list's first page."""
    viewers = {"isolated": bench.tokens[dataset.ISOLATED_VIEWER],
               "shared": bench.tokens[dataset.SHARED_VIEWER]}
    runs = [(side, size, viewer, 1) for size in SIZES for side, viewer in
            (("app", "isolated"), ("app", "shared"), ("floor", "isolated"))]
    runs += [("app", "1M", "isolated", 4), ("floor", "1M", "isolated", 4)]
    for side, size, viewer, _ in runs:  # warm-up: caches, plans, imports in each worker
        wrk(servers[side, size].url + LIST, viewers[viewer], 2, 2)
    results = []
    for r in range(rounds):
        order = runs if r % 2 == 0 else runs[::-1]
        results.append({run: wrk(servers[run[0], run[1]].url + LIST, viewers[run[2]], seconds,
                                 run[3]) for run in order})
        print(f"list round {r + 1}/{rounds} done", flush=True)
    for result in results:
        bad = {run: load.errors for run, load in result.items() if load.errors}
        assert not bad, f"errors under load: {bad}"
    return results


def get(url, token, timeout=60):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return time.perf_counter() - started, json.loads(body)


def chart_rounds(server, cache_prefix, bench, rounds, months=24):
    """Per round: (cold p50, warm p50) ms of the month summary for the isolated viewer, and
    the shared viewer's warm p50 (the warm summary with isolation off)."""
    months = [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    url = server.url + "/api/charts/summary?month="
    out = []
    for _ in range(rounds):
        clear_cache(cache_prefix)
        p50 = {}
        for viewer in (dataset.ISOLATED_VIEWER, dataset.SHARED_VIEWER):
            token = bench.tokens[viewer]
            get(server.url + LIST + "?limit=1", token)  # identity cached again
            cold = [get(url + m, token)[0] for m in months]
            warm = [get(url + m, token)[0] for m in months]
            p50[viewer] = (statistics.median(cold) * 1000, statistics.median(warm) * 1000)
        out.append(p50)
    return out


def flag_propagation(server, name, folder, bench, rounds):
    """Seconds from a change of the flag (made the dashboard's way, in this process) until no
    worker answers from the old definitions: the shared viewer's cohort is isolated (their
    list total drops to their own rows) and back, polled from two threads."""
    app = dataset.make_app(name, folder / "flag-changer")
    token = bench.tokens[dataset.SHARED_VIEWER]
    own = _own_rows(name, bench.user_ids[dataset.SHARED_VIEWER])
    url = server.url + LIST + "?limit=1"
    seconds = []
    for r in range(rounds):
        for cohorts, isolated in (({"staff", "general"}, True), ({"staff"}, False)):
            with app.app_context():
                app.extensions["flags"].set_isolation(cohorts, 0)
            changed = time.monotonic()
            last_stale = [changed]

            def poll():
                while time.monotonic() - max(last_stale[0], changed) < 2 * FLAG_REFRESH_SECONDS + 1:
                    _, body = get(url, token)
                    if (body["total"] == own) != isolated:
                        last_stale[0] = time.monotonic()

            threads = [threading.Thread(target=poll) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds.append(last_stale[0] - changed)
    app.extensions["flags"].close()
    return seconds


def _own_rows(name, user_id):
    with psycopg.connect(f"{dataset.PG_SERVER}/{name}") as conn:
        return conn.execute("SELECT count(*) FROM transactions WHERE user_id = %s",
                            (user_id,)).fetchone()[0]


def import_rounds(server, name, bench, rounds, rows=100_000):
    """Per round: (COPY seconds, app import seconds) of the same 100k-row export, the sides
    alternating; each import is undone (and each COPY deleted) before the next."""
    import requests

    data = export(rows)
    rows_parsed = parsed(data)
    token = bench.tokens[dataset.IMPORTER]
    headers = {"Authorization": f"Bearer {token}"}
    user_id = bench.user_ids[dataset.IMPORTER]

    def app_import():
        started = time.perf_counter()
        response = requests.post(server.url + "/api/ingest", headers=headers, timeout=600,
                                 files={"file": ("bench.csv", data, "text/csv")})
        seconds = time.perf_counter() - started
        assert response.status_code == 201, response.text[:300]
        assert response.json()["imported"] == rows, response.json()
        undone = requests.delete(server.url + f"/api/ingest/batches/{response.json()['batch_id']}",
                                 headers=headers, timeout=600)
        assert undone.status_code in (200, 204), undone.text[:300]
        return seconds

    def copy():
        with psycopg.connect(f"{dataset.PG_SERVER}/{name}") as conn:
            started = time.perf_counter()
            copy_rows(conn, user_id, rows_parsed)
            conn.commit()
            seconds = time.perf_counter() - started
            conn.execute("DELETE FROM transactions WHERE user_id = %s", (user_id,))
            conn.commit()
        return seconds

    out = []
    for r in range(rounds):
        if r % 2 == 0:
            app_seconds, copy_seconds = app_import(), copy()
        else:
            copy_seconds, app_seconds = copy(), app_import()
        out.append((copy_seconds, app_seconds))
        print(f"import round {r + 1}/{rounds}: app {app_seconds:.1f} s, COPY {copy_seconds:.1f} s",
              flush=True)
    return out


def in_process(name, bench, folder, requests=20):
    """Round trips per warm list request (app and floor, through a counting proxy), and the
    flag evaluations per request with their time (the app's one SDK adapter, counted)."""
    from finance_app.isolation.unleash_sdk import SdkClient

    proxy = RoundTripProxy()
    proxied = proxy.proxied_url(dataset.sa_url(name))
    token = {"Authorization": f"Bearer {bench.tokens[dataset.ISOLATED_VIEWER]}"}
    app = dataset.make_app(name, folder / "in-process", url=proxied, REDIS_URL=REDIS_URL,
                           CACHE_KEY_PREFIX=f"{name}-inproc:")
    client = app.test_client()
    evaluations = []
    original = SdkClient.is_enabled

    def counted(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            evaluations.append(time.perf_counter() - started)

    for _ in range(3):
        assert client.get(LIST, headers=token).status_code == 200
    with mock.patch.object(SdkClient, "is_enabled", counted), proxy.counting() as seen:
        for _ in range(requests):
            assert client.get(LIST, headers=token).status_code == 200
    app_trips = len(seen["round_trips"]) / requests
    app.extensions["flags"].close()

    os.environ.update(DATABASE_URL=proxied.replace("postgresql+psycopg://", "postgresql://"),
                      REDIS_URL=REDIS_URL,
                      FLOOR_KEY_PREFIX=f"floor-{name}-inproc:")
    from bench.floor_app import app as floor

    floor_client = floor.test_client()
    for _ in range(3):
        assert floor_client.get(LIST, headers=token).status_code == 200
    with proxy.counting() as seen:
        for _ in range(requests):
            assert floor_client.get(LIST, headers=token).status_code == 200
    floor_trips = len(seen["round_trips"]) / requests
    proxy.close()
    return dict(app_trips=app_trips, floor_trips=floor_trips,
                evaluations_per_request=len(evaluations) / requests,
                evaluation_us=statistics.median(evaluations) * 1e6 if evaluations else 0.0)


# --- report ---------------------------------------------------------------------------------

def report(lists, charts, propagation, imports, rss, wire, args):
    def over(side, size, viewer, conns, field):
        return [r[side, size, viewer, conns].__dict__[field] for r in lists]

    rows = [
        Row("first page req/s: app vs floor (isolated viewer, 1M rows, 4 connections)",
            "req/s", over("floor", "1M", "isolated", 4, "requests_per_second"),
            over("app", "1M", "isolated", 4, "requests_per_second"), ">= 0.75x",
            lambda ratio, _: ratio >= 0.75, digits=0),
        Row("same user's first page p50: 1M vs 100k rows in the table", "ms",
            over("app", "100k", "isolated", 1, "p50_ms"), over("app", "1M", "isolated", 1, "p50_ms"),
            "<= 1.3x", lambda ratio, _: ratio <= 1.3),
        Row("shared ledger's first page p50 vs an isolated user's (1M rows)", "ms",
            over("app", "1M", "isolated", 1, "p50_ms"), over("app", "1M", "shared", 1, "p50_ms"),
            "<= 1.3x", lambda ratio, _: ratio <= 1.3),
        Row("CSV import of 100k rows vs COPY of the parsed rows", "s",
            [c for c, _ in imports], [a for _, a in imports], "<= 2x",
            lambda ratio, _: ratio <= 2),
        Row("worker memory (RSS) vs the floor's, after the load", "MB",
            [rss["floor"]], [rss["app"]], "<= 65 MB", lambda _, app: app <= 65, digits=0),
        Row("month summary p50: warm vs cold (isolated viewer, 1M rows)", "ms",
            [c[dataset.ISOLATED_VIEWER][0] for c in charts],
            [c[dataset.ISOLATED_VIEWER][1] for c in charts], "< 1x", lambda ratio, _: ratio < 1),
        Row("warm month summary p50: isolation on vs off (isolated vs shared viewer)", "ms",
            [c[dataset.SHARED_VIEWER][1] for c in charts],
            [c[dataset.ISOLATED_VIEWER][1] for c in charts], "1.0x (held)",
            lambda ratio, _: ratio <= 1.15),
        Row("flag change seen by every worker vs FLAG_REFRESH_SECONDS", "s",
            [FLAG_REFRESH_SECONDS] * len(propagation), propagation, "<= 1x + one request",
            lambda ratio, _: ratio <= 1.25),
    ]
    lines = [r.cells() for r in rows]
    lines.append(("flag evaluations per request (SDK calls; median time each)", "1; 25 us",
                  f"{wire['evaluations_per_request']:.1f}; {wire['evaluation_us']:.0f} us", "-",
                  "-", "1, <= 25 us",
                  "yes" if wire["evaluations_per_request"] <= 1 and wire["evaluation_us"] <= 25
                  else "NO"))
    lines.append(("round trips to PostgreSQL per warm list request", f"{wire['floor_trips']:.1f}",
                  f"{wire['app_trips']:.1f}", f"{wire['app_trips'] / wire['floor_trips']:.2f}x",
                  "-", "floor + transaction end",
                  "yes" if wire["app_trips"] <= wire["floor_trips"] + 1 else "NO"))
    header = ["measure", "baseline", "app", "ratio (median)", "spread", "target", "met"]
    text = (f"make bench: {args.rounds} rounds x {args.seconds} s per side (wrk), "
            f"{args.import_rounds} import rounds; {machine()}\n\n" + table(header, lines))
    latency = {(side, viewer): [statistics.median(over(side, size, viewer, 1, "p50_ms"))
                                for size in SIZES]
               for side, viewer in (("app", "isolated"), ("app", "shared"), ("floor", "isolated"))}
    return text, latency


def plot(latency, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(SIZES.values())
    figure, axes = plt.subplots(figsize=(7, 4.2))
    labels = {("app", "isolated"): "app, isolated user", ("app", "shared"): "app, shared ledger",
              ("floor", "isolated"): "floor (Flask + psycopg), isolated user"}
    for key, values in latency.items():
        axes.plot(sizes, values, marker="o", label=labels[key])
    axes.set_xscale("log")
    axes.set_xticks(sizes, list(SIZES))
    axes.set_xlabel("transactions in the table")
    axes.set_ylabel("first page p50 (ms), one connection")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    import logging

    logging.getLogger("finance_app.requests").setLevel(logging.WARNING)  # in this process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--import-rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    prefix = f"finance_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names, servers = {}, {}
        try:
            names, bench = build(prefix, folder)
            servers = start_servers(names, bench, folder)
            lists = list_rounds(servers, bench, args.rounds, args.seconds)
            rss = {side: statistics.median(servers[side, "1M"].worker_rss_mb())
                   for side in ("app", "floor")}
            charts = chart_rounds(servers["app", "1M"], f"{names['1M']}:", bench, args.rounds)
            print("charts done", flush=True)
            propagation = flag_propagation(servers["app", "1M"], names["1M"], folder, bench, 2)
            print("flag propagation done", flush=True)
            imports = import_rounds(servers["app", "100k"], names["100k"], bench,
                                    args.import_rounds)
            wire = in_process(names["1M"], bench, folder)
        finally:
            for server in servers.values():
                server.stop()
            if not args.keep:
                for name in names.values():
                    dataset.drop_database(name)
    text, latency = report(lists, charts, propagation, imports, rss, wire, args)
    print(text)
    write_section(HERE / "RESULTS.md", text)
    plot(latency, HERE / "latency-by-size.png")
    print(f"wrote {HERE / 'RESULTS.md'} and {HERE / 'latency-by-size.png'}")


SECTION_START, SECTION_END = "<!-- make bench: start -->", "<!-- make bench: end -->"


def write_section(path, text):
    """Replace the part of RESULTS.md between the markers (added at the top if missing)."""
    body = (f"{SECTION_START}\n## make bench\n\n```\n{text}\n```\n\n"
            "![first page p50 against table size](latency-by-size.png)\n"
            f"{SECTION_END}")
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION_START in current:
        before, rest = current.split(SECTION_START, 1)
        current = before + body + rest.split(SECTION_END, 1)[1]
    else:
        title, _, rest = current.partition("\n")
        current = f"{title}\n\n{body}\n{rest}"
    path.write_text(current)


if __name__ == "__main__":
    main()
