"""Time the CSV import's parsing in-process, without a database: `parse_upload` (encoding
check, dialect, mapping and the whole-file scan) and then `rows()` with each row's
fingerprint, as `/api/ingest` does, on bench/import_bench.py's export.

    .venv/bin/python bench/parse_bench.py [--rows N] [--repeat R]

Prints the best and median of R runs of each part. The machine is shared: compare two trees
in one session, alternating, rather than with numbers from another day.
"""
import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_bench import export  # noqa: E402
from finance_app.ingest.parsing import RowError, parse_upload  # noqa: E402
from finance_app.ingest.service import fingerprint  # noqa: E402


def once(data):
    started = time.perf_counter()
    with parse_upload(io.BytesIO(data), len(data)) as upload:
        opened = time.perf_counter()
        seen, rows = {}, 0
        for item in upload.rows():
            if not isinstance(item, RowError):
                fingerprint(item, seen)
                rows += 1
    return opened - started, time.perf_counter() - opened, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = export(args.rows)
    runs = [once(data) for _ in range(args.repeat)]
    assert all(rows == args.rows for _, _, rows in runs)
    for label, times in (("open (checks, scan)", [r[0] for r in runs]),
                         ("rows + fingerprints", [r[1] for r in runs]),
                         ("total", [r[0] + r[1] for r in runs])):
        print(f"{label:20} best {min(times):6.3f} s   median {statistics.median(times):6.3f} s")


if __name__ == "__main__":
    main()
