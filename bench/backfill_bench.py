"""Backfill benchmark: how fast `flask isolation backfill` gives a big legacy ledger owners.

On a fresh PostgreSQL database: `flask demo legacy-db --rows 1000000`, `flask db upgrade`
(which stops at revision 2), then `flask isolation backfill --owner EMAIL` timed once per
batch size, the owners reset (and the table vacuumed) between runs. The time is the whole
command as an operator waits for it: the plan, every batch, and the count check.

    .venv/bin/python bench/backfill_bench.py                 # 1,000,000 rows; 1000, 5000, 20000
    .venv/bin/python bench/backfill_bench.py --rows 200000 --batch-size 5000
    .venv/bin/python bench/backfill_bench.py --write         # also into bench/RESULTS.md

BENCH_POSTGRES_URL names the server's maintenance database (default: the local postgres).
"""
import argparse
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.common import machine, table  # noqa: E402
from finance_app import create_app  # noqa: E402
from finance_app.extensions import db  # noqa: E402
from finance_app.rollout import schema  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Backfill"
OWNER = "admin@example.com"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, action="append", dest="batch_sizes",
                        help="repeat for several (default: 1000, 5000 and 20000)")
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = parser.parse_args()
    batch_sizes = args.batch_sizes or [1000, 5000, 20000]

    name = f"finance_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        server = conn.execute(sa.text("SHOW server_version")).scalar()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as instance:
            install, runs = bench(url, instance, args.rows, batch_sizes)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    report = render(args.rows, install, runs, server)
    print(report)
    if args.write:
        write_section(report)
        print(f"(written to {RESULTS.relative_to(ROOT)})")


def bench(url, instance, rows, batch_sizes):
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=instance,
                     CACHE_DIR=str(Path(instance) / "cache"), FLAG_REFRESH_SECONDS=60)
    runner = app.test_cli_runner()

    def flask(*args):
        started = time.perf_counter()
        result = runner.invoke(args=[str(a) for a in args])
        return result, time.perf_counter() - started

    made, install_seconds = flask("demo", "legacy-db", "--rows", rows)
    if made.exit_code != 0:
        sys.exit(f"flask demo legacy-db failed:\n{made.output}")
    stopped, _ = flask("db", "upgrade")
    with app.app_context():
        revision = schema.current_revision()
    if revision != schema.OWNER_NULLABLE_REVISION:
        sys.exit(f"expected `flask db upgrade` to stop at revision 2, it is at {revision}:\n"
                 f"{stopped.output}")

    runs = []
    for batch_size in batch_sizes:
        with app.app_context():
            reset_owners(db.engine)
        result, seconds = flask("isolation", "backfill", "--owner", OWNER,
                                "--batch-size", batch_size)
        done = re.search(r"Backfill done: (\d+) transactions", result.output)
        if result.exit_code != 0 or "MISMATCH" in result.output or not done:
            sys.exit(f"the backfill failed:\n{result.output}")
        runs.append({"rows": int(done.group(1)), "seconds": seconds, "batch_size": batch_size})
        print(f"batch size {batch_size}: {int(done.group(1)):,} rows in {seconds:.1f} s",
              file=sys.stderr)
    app.extensions["flags"].close()
    with app.app_context():
        db.engine.dispose()
    return {"rows": rows, "seconds": install_seconds}, runs


def reset_owners(engine):
    """Every row unowned again, and the table vacuumed, so each run starts alike."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE transactions SET user_id = NULL WHERE user_id IS NOT NULL"))
        conn.execute(sa.text("UPDATE import_batches SET user_id = NULL"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE transactions"))
        conn.execute(sa.text("VACUUM ANALYZE import_batches"))


def render(rows, install, runs, server):
    results = table(["rows", "seconds", "rows/s", "batch size"], [
        (f"{run['rows']:,}", f"{run['seconds']:.1f}", f"{run['rows'] / run['seconds']:,.0f}",
         f"{run['batch_size']:,}") for run in runs])
    return "\n".join([
        SECTION, "",
        f"`bench/backfill_bench.py` — {machine()}; PostgreSQL {server} on the same host.",
        "",
        f"A legacy install of {rows:,} unowned transactions (`flask demo legacy-db`: "
        f"{install['seconds']:.1f} s, {rows / install['seconds']:,.0f} rows/s including the "
        "row generation in Python, written with COPY), upgraded to revision 2, then "
        "`flask isolation backfill --owner EMAIL` once per batch size, owners reset and the "
        "table vacuumed between runs. Seconds are the whole command: plan, batches (one "
        "transaction each) and count check.",
        "",
        results,
    ]) + "\n"


def write_section(section):
    """Replace (or add) the Backfill section; every other section stays as it is."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
