"""``make bench``: every benchmark that writes its section of the docs, one after the other.

Each runs as its own process with its defaults (so each measures its baseline in the same
run, as it documents), on an otherwise idle machine: run nothing else meanwhile. The whole
set takes hours (the 1M/10M-hash banks, the serve load and the soak are the long ones);
``--only NAME…`` runs some, ``--list`` shows them with what each needs::

    .venv/bin/python bench/run_all.py --list
    .venv/bin/python bench/run_all.py --only pdq_throughput hash_cli scan_throughput

A benchmark that fails is reported and the rest still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> what it needs or how long it takes (every one writes its own section of the docs)
BENCHMARKS = {
    "pdq_throughput": "Debian's wallpapers (mate-backgrounds, gnome-backgrounds); ~5 min",
    "hash_cli": "the wallpapers; `needle hash` end to end against the HMA way; ~3 min",
    "scan_throughput": "the wallpapers; whole scan, CLI and in process; ~5 min",
    "ray_scan": "the ray extra, PostgreSQL (else SQLite), the wallpapers; ~5 min",
    "edit_robustness": "the wallpapers, ../shared/testdata for the negatives; ~2 min",
    "bank_crops": "the wallpapers and ../shared/testdata; ~2 min",
    "classify_throughput": "the wallpapers; a few minutes",
    "provenance_throughput": "the wallpapers and ../shared/testdata; a few minutes",
    "textguard_latency": "nothing; a few minutes",
    "textguard_evasion": "nothing; the adversarial harness on the dev set and held-out splits",
    "match_throughput": "the python-threatexchange baseline in its own virtualenv; ~30 min",
    "bank_scale": "PostgreSQL for its PostgreSQL rows; ~30 min",
    "index_scale": "PostgreSQL for its PostgreSQL rows, ~45 GB of disk; 100M hashes, ~1 h",
    "serve_load": "wrk when installed; tens of minutes",
    "report_html": "nothing; 100k records",
    "trace_crops": "nothing; a few minutes",
    "trace_windows": "nothing; ~30 min",
    "genguard": "nothing; a 1M-entry ledger, ~15 min",
    "hostile_memory": "nothing; a few minutes",
    "vpdq_throughput": "the reference vpdq, built once in the bench cache (FFmpeg's -dev "
    "packages, cmake); ~5 min",
    "vpdq_match": "python-threatexchange and faiss beside the reference vpdq; ~10 min",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, needs in BENCHMARKS.items():
            print(f"{name:24} {needs}")
        return 0
    failed = []
    for name in args.only or list(BENCHMARKS):
        print(f"== bench/{name}.py", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py")], cwd=ROOT)
        print(f"== bench/{name}.py: exit {done.returncode}, {time.monotonic() - started:.0f} s")
        if done.returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
