"""Whole-scan throughput: ``needle scan``'s pipeline end to end, every stage on.

Runs ``needle.pipeline.scan.run_scan`` (read, hashes, decode, PDQ, classifiers, provenance,
text guard, matching, assessment, SQLite writes) over 1-22 MP JPEGs with 1 and 2 worker
processes, then times each stage per file (``FileRecord.timings``) in one process to give
each stage's share of the scan. The baseline measured in the same run is the same pipeline
with the classifiers off (the hash-only scan of issue 2).

    .venv/bin/python bench/scan_throughput.py [--per-size 12] [--no-write]

Photos come from ``bench/classify_throughput.make_photos`` (Debian wallpapers rescaled to
1, 4, 12 and 22 MP, a quarter of them from scikit-image's astronaut portrait, so faces are
aged). Results go to the "## Whole scan throughput" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# as in the scan's workers: one thread per process (set before numpy is imported)
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from _report import uptime, write_section  # noqa: E402
from classify_throughput import make_photos  # noqa: E402
from needle.media import walk  # noqa: E402
from needle.pipeline.scan import run_scan  # noqa: E402
from needle.pipeline.worker import ScanOptions, compute_file  # noqa: E402
from needle.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Whole scan throughput"
TARGET = 15.0  # images/s on 2 cores with classifiers on (issue 3)


def _scan(folder: Path, workers: int, options: ScanOptions) -> float:
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/n.db") as store:
        started = time.perf_counter()
        result = run_scan([str(folder)], store=store, workers=workers, options=options)
        elapsed = time.perf_counter() - started
        assert result.summary.files == len(list(folder.iterdir()))
        return result.summary.files / elapsed


def _shares(folder: Path, options: ScanOptions) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    items = list(walk([str(folder)]))
    compute_file(items[0], options)  # load the models outside the timing
    for item in items:
        for stage, seconds in compute_file(item, options).timings.items():
            totals[stage] += seconds
    return {stage: seconds / len(items) for stage, seconds in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--per-size", type=int, default=12, help="photos per size (1/4/12/22 MP)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    photos = make_photos(args.per_size)
    folder = photos[0].parent
    load_before = uptime()
    full = ScanOptions(classify=True, provenance=True, textguard=True)
    hashes = ScanOptions()
    rows = []
    for workers in (1, 2):
        _scan(folder, workers, full)  # warm the page cache and the forkserver
        rows.append((workers, _scan(folder, workers, hashes), _scan(folder, workers, full)))
    with tempfile.TemporaryDirectory() as tmp:
        few = Path(tmp)
        for photo in photos[:2]:
            (few / photo.name).write_bytes(photo.read_bytes())
        startup = {w: 2 / _scan(few, w, full) for w in (1, 2)}
    shares = _shares(folder, full)
    load_after = uptime()

    total = sum(shares.values())
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/scan_throughput.py --per-size {args.per_size}` "
        f"({len(photos)} JPEGs, {args.per_size} each of 1, 4, 12 and 22 MP; "
        f"load before `{load_before}`, after `{load_after}`; {os.cpu_count()} cores).",
        "",
        "| workers | hash-only scan (images/s) | full scan: classifiers, provenance, "
        "text guard (images/s) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {w} | {h:.1f} | {f:.1f} |" for w, h, f in rows]
    lines += [
        "",
        "Fixed cost of a scan (a scan of 2 small photos, dominated by starting worker "
        "processes and loading the models in each): "
        + f"1 worker {startup[1]:.2f} s (in-process, models already loaded by the runs above), "
        + f"2 workers {startup[2]:.2f} s. The rates above include it once.",
        "",
        f"Target (issue 3): ≥ {TARGET:.0f} images/s for the whole scan with classifiers on "
        f"2 cores: {'met' if rows[-1][2] >= TARGET else 'NOT met'} ({rows[-1][2]:.1f}).",
        "",
        "Share of one file's time per stage (one process, mean over the photos):",
        "",
        "| stage | ms/file | share |",
        "|---|---:|---:|",
    ]
    for stage, seconds in sorted(shares.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {stage} | {seconds * 1000:.1f} | {seconds / total:.0%} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
