"""Match throughput: needle's PDQIndex against python-threatexchange's PDQIndex, same run.

For each index size and dataset (``random`` hashes, or ``clustered`` near-duplicates: groups
of 10 hashes within about 0-31 bits of a common centre), both indexes are built from the same
hex strings and asked the same queries: 90 % are indexed hashes with 0-31 bits flipped
(exactly k bits, k uniform), 10 % random hashes that match nothing. Reported: build time,
queries/s, recall and false hits against a brute-force search (on a sample of queries at the
larger sizes), and peak resident memory. Each implementation runs in its own process, one
after the other, so memory and CPU are its own.

The baseline is threatexchange's ``PDQIndex`` as threatexchange uses it: faiss
``IndexBinaryMultiHash`` with 16 hash maps, ``nflip = threshold // 16``, queried one hash at a
time. needle is queried in batches (``--batch``, as the scanner does) and, for a second
figure, one hash at a time. threatexchange lives in its own virtual environment and is never a
needle dependency::

    python3 -m venv bench/.venv-baseline
    bench/.venv-baseline/bin/pip install threatexchange faiss-cpu

Run (results also go into docs/performance.md, section "Match throughput")::

    .venv/bin/python bench/match_throughput.py                 # 1M and 10M: about 30 min
    .venv/bin/python bench/match_throughput.py --quick         # 100k, 2,000 queries: a minute
    .venv/bin/python bench/match_throughput.py --sizes 1000000 --datasets random
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _report import uptime, write_section

ROOT = Path(__file__).resolve().parent.parent
BASELINE_PYTHON = ROOT / "bench" / ".venv-baseline" / "bin" / "python"
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Match throughput"
THRESHOLD = 31  # ThreatExchange pdq/README: distance <= 31 is a confident match
CLUSTER_SIZE = 10
RANDOM_QUERY_SHARE = 0.1


# --------------------------------------------------------------------------- data


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def flip_exactly(rng: np.random.Generator, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Each row with exactly ``k[i]`` distinct bits flipped."""
    order = np.argsort(rng.random((len(rows), 256), dtype=np.float32), axis=1)
    mask = np.zeros((len(rows), 256), dtype=np.uint8)
    keep = np.arange(256)[None, :] < k[:, None]
    np.put_along_axis(mask, order, keep.astype(np.uint8), axis=1)
    return rows ^ np.packbits(mask, axis=1)


def clustered_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Groups of ``CLUSTER_SIZE`` near-duplicates: each member flips every bit of its group's
    centre with probability k/256, k uniform in 0..31 per member (about 0-31 bits away)."""
    centres = random_hashes(rng, -(-n // CLUSTER_SIZE))
    out = np.empty((n, 32), dtype=np.uint8)
    step = 1 << 18
    for start in range(0, n, step):
        stop = min(n, start + step)
        centre = centres[np.arange(start, stop) // CLUSTER_SIZE]
        k = rng.integers(0, THRESHOLD + 1, size=stop - start, dtype=np.uint8)
        bits = rng.integers(0, 256, size=(stop - start, 256), dtype=np.uint8) < k[:, None]
        out[start:stop] = centre ^ np.packbits(bits, axis=1)
    return out


def make_queries(rng: np.random.Generator, hashes: np.ndarray, count: int) -> np.ndarray:
    n_random = int(count * RANDOM_QUERY_SHARE)
    src = hashes[rng.integers(0, len(hashes), size=count - n_random)]
    k = rng.integers(0, THRESHOLD + 1, size=len(src))
    queries = np.concatenate([flip_exactly(rng, src, k), random_hashes(rng, n_random)])
    return queries[rng.permutation(len(queries))]


def to_hex(rows: np.ndarray) -> list[str]:
    text = rows.tobytes().hex()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def brute_force(hashes: np.ndarray, queries: np.ndarray, threshold: int) -> list[set[int]]:
    """Rows within ``threshold`` of each query, by comparing every pair (blocked numpy)."""
    cols = np.ascontiguousarray(hashes.view(np.uint64).reshape(-1, 4).T)
    q = queries.view(np.uint64).reshape(-1, 4)
    out: list[set[int]] = [set() for _ in range(len(q))]
    rows_step, q_step = 1 << 15, 4  # blocks that stay in cache
    for r0 in range(0, cols.shape[1], rows_step):
        block = cols[:, r0 : r0 + rows_step]
        for q0 in range(0, len(q), q_step):
            qb = q[q0 : q0 + q_step]
            d = np.bitwise_count(qb[:, 0, None] ^ block[0][None, :]).astype(np.uint16)
            for w in range(1, 4):
                d += np.bitwise_count(qb[:, w, None] ^ block[w][None, :])
            qi, ri = np.nonzero(d <= threshold)
            for a, b in zip(qi.tolist(), ri.tolist(), strict=True):
                out[q0 + a].add(r0 + b)
    return out


# --------------------------------------------------------------------------- workers


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    """Resident memory now (Linux), else the peak so far."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


def worker(kind: str, folder: Path, batch: int, single: int) -> dict[str, Any]:
    """Build and query one implementation; runs in its own process."""
    hexes = to_hex(np.load(folder / "hashes.npy"))
    queries = to_hex(np.load(folder / "queries.npy"))
    sample = set(np.load(folder / "sample.npy").tolist())
    rss_input = rss_bytes()
    found: dict[int, list[tuple[int, int]]] = {}
    index_bytes = 0
    if kind == "needle":
        from needle.match.pdq import PDQIndex

        t0 = time.perf_counter()
        index = PDQIndex(hexes, THRESHOLD)
        build = time.perf_counter() - t0
        plan = f"{index.plan.strategy}, {len(index.plan.widths)} chunks"
        index_bytes = index.nbytes
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, len(queries), batch):
            hits = index.query(queries[start : start + batch])
            for q, matches in enumerate(hits.per_query(), start):
                if q in sample:
                    found[q] = matches
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        for value in queries[:single]:
            index.query([value])
        single_qps = min(single, len(queries)) / (time.perf_counter() - t0)
    else:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TXPDQIndex

        t0 = time.perf_counter()
        tx_index = TXPDQIndex(entries=zip(hexes, range(len(hexes)), strict=True))
        build = time.perf_counter() - t0
        from importlib.metadata import version

        import faiss

        plan = (
            f"threatexchange {version('threatexchange')}, faiss {faiss.__version__} "
            "IndexBinaryMultiHash, nhash=16, nflip=1"
        )
        t0, c0 = time.perf_counter(), time.process_time()
        for q, value in enumerate(queries):
            result = tx_index.query(value)
            if q in sample:
                found[q] = [(m.metadata, int(m.similarity_info.distance)) for m in result]
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        single_qps = len(queries) / elapsed
    return {
        "kind": kind,
        "plan": plan,
        "build_s": build,
        "qps": len(queries) / elapsed,
        "cpu_qps": len(queries) / cpu,
        "single_qps": single_qps,
        "rss_input": rss_input,
        "peak_rss": peak_rss_bytes(),
        "index_bytes": index_bytes,
        "found": {str(q): v for q, v in found.items()},
    }


def run_worker(python: Path, kind: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--dir",
        str(folder),
        "--batch",
        str(args.batch),
        "--single",
        str(args.single),
    ]
    # One thread for both. Neither gains from more on one query at a time, and threatexchange's
    # per-query faiss call opens an OpenMP region whose barrier, on a shared 2-core machine,
    # cost it up to 40x in our runs (a core busy elsewhere stalls every query).
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if kind == "needle":
        env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def score(result: dict[str, Any], truth: dict[int, set[int]]) -> None:
    """Recall over the sampled queries, and reported hits that are wrong."""
    wanted = sum(len(rows) for rows in truth.values())
    got = false = 0
    for q, rows in truth.items():
        reported = {int(r) for r, _ in result["found"].get(str(q), [])}
        got += len(reported & rows)
        false += len(reported - rows)
    result["recall"] = got / wanted if wanted else 1.0
    result["false_hits"] = false
    result["true_hits"] = wanted


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| hashes | data | index | build s | queries/s | per CPU s | 1-by-1 q/s | speed-up "
        "| recall | false hits | peak RSS GiB | input GiB |\n"
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['dataset']} | {r['kind']} ({r['plan']}) | {r['build_s']:.1f} "
            f"| {r['qps']:,.0f} | {r['cpu_qps']:,.0f} | {r['single_qps']:,.0f} "
            f"| {r.get('speedup', '')} | {r['recall']:.4f} ({r['true_hits']:,}) "
            f"| {r['false_hits']} | {gib(r['peak_rss'])} | {gib(r['rss_input'])} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated sizes")
    parser.add_argument("--datasets", default="random,clustered")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000, help="needle queries per call")
    parser.add_argument("--single", type=int, default=1000, help="needle 1-by-1 queries timed")
    parser.add_argument(
        "--truth-sample",
        type=int,
        default=0,
        help="queries checked by brute force (default: all up to 1M hashes, 500 above)",
    )
    parser.add_argument("--quick", action="store_true", help="100k hashes, 2,000 queries")
    parser.add_argument("--baseline-python", type=Path, default=BASELINE_PYTHON)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--worker", choices=["needle", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.dir, args.batch, args.single)))
        return 0
    if args.quick:
        args.sizes, args.queries, args.single = "100000", 2000, 500
    if not args.no_baseline and not args.baseline_python.exists():
        raise SystemExit(
            f"no baseline interpreter at {args.baseline_python}; create it with\n"
            "  python3 -m venv bench/.venv-baseline && "
            "bench/.venv-baseline/bin/pip install threatexchange faiss-cpu\n"
            "or run with --no-baseline"
        )
    sizes = [int(s) for s in args.sizes.split(",")]
    datasets = args.datasets.split(",")
    load_before = uptime()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(args.seed)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        for dataset in datasets:
            hashes = (
                random_hashes(rng, size) if dataset == "random" else clustered_hashes(rng, size)
            )
            queries = make_queries(rng, hashes, args.queries)
            n_truth = args.truth_sample or (len(queries) if size <= 1_000_000 else 500)
            sample = np.sort(
                rng.choice(len(queries), size=min(n_truth, len(queries)), replace=False)
            )
            t0 = time.perf_counter()
            truth_sets = brute_force(hashes, queries[sample], THRESHOLD)
            truth = dict(zip(sample.tolist(), truth_sets, strict=True))
            print(
                f"{size:,} {dataset}: brute force truth for {len(sample)} queries "
                f"in {time.perf_counter() - t0:.1f}s",
                flush=True,
            )
            with tempfile.TemporaryDirectory(dir=out) as tmp:
                folder = Path(tmp)
                np.save(folder / "hashes.npy", hashes)
                np.save(folder / "queries.npy", queries)
                np.save(folder / "sample.npy", sample)
                del hashes
                kinds = [("needle", Path(sys.executable))]
                if not args.no_baseline:
                    kinds.append(("baseline", args.baseline_python))
                results = []
                for kind, python in kinds:
                    result = run_worker(python, kind, folder, args)
                    result.update(size=size, dataset=dataset)
                    score(result, truth)
                    results.append(result)
                    print(
                        f"  {kind}: build {result['build_s']:.1f}s, {result['qps']:,.0f} q/s, "
                        f"recall {result['recall']:.4f}, false {result['false_hits']}, "
                        f"CPU {result['cpu_qps']:,.0f} q/s, peak RSS {gib(result['peak_rss'])} GiB",
                        flush=True,
                    )
                if len(results) == 2:
                    wall = results[0]["qps"] / results[1]["qps"]
                    cpu = results[0]["cpu_qps"] / results[1]["cpu_qps"]
                    results[0]["speedup"] = f"{wall:.1f}x ({cpu:.1f}x CPU)"
                    results[1]["speedup"] = "1x"
                rows.extend(results)
    load_after = uptime()
    command = "python bench/match_throughput.py " + " ".join(argv or sys.argv[1:])
    body = table(rows)
    print("\n" + body)
    text = (
        f"{SECTION}\n\n"
        "Exact range search of PDQ hashes at threshold 31 (`bench/match_throughput.py`): needle's "
        "`PDQIndex` (multi-index hashing, numpy, batches of "
        f"{args.batch} queries) against python-threatexchange's `PDQIndex` (faiss "
        "`IndexBinaryMultiHash`, one query at a time, as threatexchange calls it). Queries: "
        f"{args.queries:,}, 90 % indexed hashes with 0-31 bits flipped, 10 % random. Recall and "
        "false hits are counted against a brute-force search of the sampled queries "
        '(all of them up to 1M hashes; the count of true hits in brackets). "Per CPU s" divides '
        "by the worker's CPU time rather than wall time, which other load on the machine "
        'disturbs less; "1-by-1" is needle called with one hash at a time. Peak RSS is the '
        "worker process's; input is its resident memory once the hex strings are loaded, "
        "before any index is built. Both workers run with OMP_NUM_THREADS=1: one query at a "
        "time gains nothing from threads, and on a busy machine threatexchange's per-query "
        "OpenMP region made it up to 40x slower.\n\n"
        f"Command: `{command.strip()}` — {time.perf_counter() - started:.0f} s in all, "
        f"{time.strftime('%Y-%m-%d')}.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}. Load (`uptime`) before: "
        f"`{load_before}`; after: `{load_after}` (other work shared the CPU).\n\n" + body
    )
    if not args.no_doc:
        write_section(DOC, SECTION, text)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
