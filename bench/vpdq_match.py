"""Matching against many videos: needle's ``VideoIndex`` against python-threatexchange's
``VPDQIndex`` (the index HMA uses for vPDQ), same bank, same queries, same run.

Bank: ``--videos`` (100,000) synthetic vPDQ hashes, one frame a second, 30 to 60 frames each
(about 4.5 million frames). Each video is cut into scenes of 3 to 10 frames; a frame's PDQ
lies 0-16 bits (uniform) from its scene's own random hash, as frames of one shot look alike.
Qualities are uniform in 45-100, so about one frame in eleven is below 50 and left out by
both. One video in ten is a near-duplicate of an earlier one (a re-encode: every frame 0-12
bits from the original's), so clusters of copies exist.

Queries (``--queries``, 200), one video at a time, 30 frames each: half are a 30-frame
stretch of a banked video with every frame 0-20 bits away (a re-encoded cut; it must be
found, and so may its copies), half a new video (it must match nothing).

- needle: ``VideoIndex.build`` of ``VpdqFeature`` lists made video by video from the arrays
  (so the bank is never held as Python objects), then ``index.search(features)`` a query;
- baseline: threatexchange's ``VPDQIndex.build`` of each video's signal string (its JSON of
  ``hex,quality,timestamp``), then ``index.query(signal)`` a query: faiss ``IndexBinaryFlat``
  (every frame compared), in the reference's virtual environment with ``vpdq``,
  ``threatexchange`` and ``faiss-cpu`` (``baseline_python()``).

Both use the same rules (python-threatexchange's): unique hashes per video, quality >= 50,
distance <= 31, a match when >= 80 % of the query's frames are found. Each side runs in its
own process pinned to one core with ``OMP_NUM_THREADS=1``. Reported: build seconds, peak
resident memory and memory once the bank's arrays are loaded, queries/s (wall and CPU) of
each kind, how many cut queries found their source, how many new ones matched nothing, and
whether the two sides matched the same videos for every query. Results go to docs/video.md,
section "Matching many videos: throughput"::

    .venv/bin/python bench/vpdq_match.py                        # 100k videos: ~5 min
    .venv/bin/python bench/vpdq_match.py --videos 10000 --no-doc
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

from vpdq_throughput import reference_python

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "video.md"
SECTION = "## Matching many videos: throughput"
BASELINE_PACKAGES = ("threatexchange==1.2.17", "faiss-cpu==1.15.1", "numpy")
FRAMES = (30, 60)  # frames of a banked video, at least and at most
SCENE = (3, 10)  # frames of a scene
SCENE_BITS = 16  # a frame is 0-16 bits from its scene's hash
COPY_SHARE = 0.1  # videos that are near-duplicates of an earlier one
COPY_BITS = 12
QUALITY = (45, 100)
QUERY_FRAMES = 30
QUERY_BITS = 20
CORE = 0


def baseline_python() -> Path:
    """The reference's virtual environment (``vpdq_throughput.reference_python``) with
    python-threatexchange and faiss added (the versions needle's tests use)."""
    python = reference_python()
    probe = [str(python), "-c", "import threatexchange.extensions.vpdq.vpdq_index, faiss"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        pip = [str(python), "-m", "pip", "install", "--quiet", *BASELINE_PACKAGES]
        subprocess.run(pip, check=True)
    return python


# --------------------------------------------------------------------------- data


def _near(rng: np.random.Generator, centres: np.ndarray, most: int) -> np.ndarray:
    """Each row of ``centres`` with each bit flipped with probability k/256, k uniform in
    0..``most`` per row (about k bits), in blocks that stay small."""
    out = np.empty_like(centres)
    step = 1 << 16
    for start in range(0, len(centres), step):
        block = centres[start : start + step]
        k = rng.integers(0, most + 1, size=len(block))
        bits = rng.integers(0, 256, size=(len(block), 256), dtype=np.uint16) < k[:, None]
        out[start : start + step] = block ^ np.packbits(bits, axis=1)
    return out


def _scenes(rng: np.random.Generator, frames: int) -> np.ndarray:
    """``frames`` hashes in scenes of 3-10 frames, each frame near its scene's hash."""
    lengths = rng.integers(SCENE[0], SCENE[1] + 1, size=frames // SCENE[0] + 1)
    owner = np.repeat(np.arange(len(lengths)), lengths)[:frames]
    centres = rng.integers(0, 256, size=(len(lengths), 32), dtype=np.uint8)
    return _near(rng, centres[owner], SCENE_BITS)


def make_bank(rng: np.random.Generator, videos: int) -> dict[str, np.ndarray]:
    """Frame hashes, qualities and each video's first row (``offsets``, one more than
    videos); a tenth of the videos are copies of earlier ones (``source``, -1 if none)."""
    lengths = rng.integers(FRAMES[0], FRAMES[1] + 1, size=videos)
    is_copy = rng.random(videos) < COPY_SHARE
    is_copy[0] = False
    originals = np.flatnonzero(~is_copy)
    copies = np.flatnonzero(is_copy)
    before = np.cumsum(~is_copy)[copies]  # originals earlier than each copy
    source = np.full(videos, -1)
    source[copies] = originals[rng.integers(0, before)]  # a copy of an original only
    lengths[copies] = lengths[source[copies]]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    hashes = _scenes(rng, int(offsets[-1]))
    rows = np.concatenate([np.arange(offsets[v], offsets[v + 1]) for v in copies])
    copied = np.concatenate([np.arange(offsets[s], offsets[s + 1]) for s in source[copies]])
    hashes[rows] = _near(rng, hashes[copied], COPY_BITS)
    quality = rng.integers(QUALITY[0], QUALITY[1] + 1, size=len(hashes), dtype=np.uint8)
    return {"hashes": hashes, "quality": quality, "offsets": offsets, "source": source}


def make_queries(
    rng: np.random.Generator, bank: dict[str, np.ndarray], count: int
) -> dict[str, np.ndarray]:
    """Half cuts of banked videos (``truth``: the video), half new videos (-1)."""
    offsets = bank["offsets"]
    cuts = count // 2
    truth = np.concatenate([rng.integers(0, len(offsets) - 1, cuts), np.full(count - cuts, -1)])
    parts = []
    for video in truth:
        if video < 0:
            parts.append(_scenes(rng, QUERY_FRAMES))
            continue
        start = offsets[video] + rng.integers(0, offsets[video + 1] - offsets[video] - 29)
        parts.append(_near(rng, bank["hashes"][start : start + QUERY_FRAMES], QUERY_BITS))
    hashes = np.concatenate(parts)
    quality = rng.integers(QUALITY[0], QUALITY[1] + 1, size=len(hashes), dtype=np.uint8)
    return {"hashes": hashes, "quality": quality, "truth": truth}


# --------------------------------------------------------------------------- workers


def _rss() -> int:
    """Resident memory now, bytes (/proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _rows(
    hashes: np.ndarray, quality: np.ndarray, lo: int, hi: int
) -> list[tuple[str, int, float]]:
    """Rows ``lo .. hi`` as (hex, quality, timestamp): one frame a second from 0."""
    text = hashes[lo:hi].tobytes().hex()
    return [(text[64 * i : 64 * i + 64], int(quality[lo + i]), float(i)) for i in range(hi - lo)]


def _needle(folder: Path) -> dict[str, Any]:
    from needle.match.video import VideoIndex
    from needle.signals.vpdq import VpdqFeature

    bank, queries = _load(folder)
    rss_input = _rss()
    offsets = bank["offsets"]

    def videos() -> Any:
        for v in range(len(offsets) - 1):
            rows = _rows(bank["hashes"], bank["quality"], offsets[v], offsets[v + 1])
            yield f"v{v}", [VpdqFeature(round(t), q, h, t) for h, q, t in rows]

    t0 = time.perf_counter()
    index = VideoIndex.build(videos())
    build = time.perf_counter() - t0
    rss_built = _rss()

    def search(lo: int, hi: int) -> list[str]:
        rows = _rows(queries["hashes"], queries["quality"], lo, hi)
        found = index.search([VpdqFeature(round(t), q, h, t) for h, q, t in rows])
        return [m.video_id for m in found if m.is_match]

    return {
        "build": build,
        "rss_input": rss_input,
        "rss_built": rss_built,
        **_timed(search, queries),
    }


def _baseline(folder: Path) -> dict[str, Any]:
    from threatexchange.extensions.vpdq.vpdq_index import VPDQIndex

    bank, queries = _load(folder)
    rss_input = _rss()
    offsets = bank["offsets"]

    def signal(hashes: np.ndarray, quality: np.ndarray, lo: int, hi: int) -> str:
        rows = _rows(hashes, quality, lo, hi)
        return json.dumps([f"{h},{q},{t:.3f}" for h, q, t in rows])

    def entries() -> Any:
        for v in range(len(offsets) - 1):
            yield signal(bank["hashes"], bank["quality"], offsets[v], offsets[v + 1]), f"v{v}"

    t0 = time.perf_counter()
    index = VPDQIndex.build(entries())
    build = time.perf_counter() - t0
    rss_built = _rss()

    def search(lo: int, hi: int) -> list[str]:
        found = index.query(signal(queries["hashes"], queries["quality"], lo, hi))
        return [m.metadata for m in found]

    return {
        "build": build,
        "rss_input": rss_input,
        "rss_built": rss_built,
        **_timed(search, queries),
    }


def _load(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    bank = {k: np.load(folder / f"bank-{k}.npy") for k in ("hashes", "quality", "offsets")}
    queries = {k: np.load(folder / f"query-{k}.npy") for k in ("hashes", "quality", "truth")}
    return bank, queries


def _timed(search: Any, queries: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each query searched one at a time; seconds (wall, CPU) per kind and what matched."""
    found: list[list[str]] = []
    seconds = {"cut": [0.0, 0.0], "new": [0.0, 0.0]}
    for q, video in enumerate(queries["truth"].tolist()):
        wall, cpu = time.perf_counter(), time.process_time()
        found.append(sorted(search(q * QUERY_FRAMES, (q + 1) * QUERY_FRAMES)))
        kind = seconds["cut" if video >= 0 else "new"]
        kind[0] += time.perf_counter() - wall
        kind[1] += time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "found": found, "peak_rss": peak}


def run_worker(python: Path, kind: str, folder: Path) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")])
    command = [str(python), str(Path(__file__).resolve()), "--worker", kind, "--dir", str(folder)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {CORE}),
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def summary(result: dict[str, Any], truth: list[int]) -> dict[str, Any]:
    """Queries/s per kind, cut queries that found their source, new ones that found none."""
    cuts = [q for q, v in enumerate(truth) if v >= 0]
    new = [q for q, v in enumerate(truth) if v < 0]
    found = result["found"]
    out = {
        "found_source": sum(f"v{truth[q]}" in found[q] for q in cuts),
        "cuts": len(cuts),
        "new_clean": sum(not found[q] for q in new),
        "new": len(new),
    }
    for kind, count in (("cut", len(cuts)), ("new", len(new))):
        wall, cpu = result["seconds"][kind]
        out[f"{kind}_qps"] = count / wall if wall else 0.0
        out[f"{kind}_cpu_qps"] = count / cpu if cpu else 0.0
    return out


def table(rows: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> str:
    head = (
        "| index | build s | peak RSS GiB | RSS once built GiB | bank arrays loaded GiB "
        "| cut queries/s | new queries/s | cuts finding their source | new matching nothing |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for name, r, s in rows:
        lines.append(
            f"| {name} | {r['build']:.1f} | {r['peak_rss'] / 2**30:.2f} "
            f"| {r['rss_built'] / 2**30:.2f} | {r['rss_input'] / 2**30:.2f} | {s['cut_qps']:,.1f} ({s['cut_cpu_qps']:,.1f}) "
            f"| {s['new_qps']:,.1f} ({s['new_cpu_qps']:,.1f}) "
            f"| {s['found_source']} of {s['cuts']} | {s['new_clean']} of {s['new']} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/video.md")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--worker", choices=["needle", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        work = _needle if args.worker == "needle" else _baseline
        print(json.dumps(work(args.dir)))
        return 0

    from _report import uptime, write_section

    started = time.perf_counter()
    baseline = None if args.no_baseline else baseline_python()
    rng = np.random.default_rng(args.seed)
    bank = make_bank(rng, args.videos)
    queries = make_queries(rng, bank, args.queries)
    frames = len(bank["hashes"])
    load_before = uptime()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        folder = Path(tmp)
        for name, data in (("bank", bank), ("query", queries)):
            for key, value in data.items():
                np.save(folder / f"{name}-{key}.npy", value)
        results["needle"] = run_worker(Path(sys.executable), "needle", folder)
        print(f"needle: build {results['needle']['build']:.1f} s", flush=True)
        if baseline is not None:
            results["baseline"] = run_worker(baseline, "baseline", folder)
            print(f"baseline: build {results['baseline']['build']:.1f} s", flush=True)
    truth = queries["truth"].tolist()
    names = {
        "needle": "needle `VideoIndex` (`PDQIndex`, multi-index hashing)",
        "baseline": "threatexchange 1.2.17 `VPDQIndex` (faiss 1.15.1 `IndexBinaryFlat`)",
    }
    rows = [(names[k], r, summary(r, truth)) for k, r in results.items()]
    same = (
        "the same videos matched for every query"
        if len(results) == 2 and results["needle"]["found"] == results["baseline"]["found"]
        else "NOT the same videos matched for every query"
        if len(results) == 2
        else "no baseline run"
    )
    body = table(rows)
    print("\n" + body + "\n" + same)
    text = (
        f"{SECTION}\n\n"
        f"A bank of {args.videos:,} videos ({frames:,} frames at one a second, 30-60 a video, "
        "scenes of 3-10 alike frames, one video in ten a near-duplicate of another), "
        f"{args.queries} queries of {QUERY_FRAMES} frames one at a time: half a re-encoded "
        "cut of a banked video (every frame 0-20 bits away), half a new video "
        "(`bench/vpdq_match.py`). Both sides apply python-threatexchange's rules (unique "
        "hashes, quality >= 50, distance <= 31, 80 % of the query's frames). Build times "
        "include making each side's input from the arrays (needle: `VpdqFeature` objects, "
        "threatexchange: its signal strings); queries/s in wall time (CPU time in brackets), "
        "one process each pinned to one core, `OMP_NUM_THREADS=1`. Memory is the worker's: "
        "its peak, once the index is built, and with only the bank's arrays loaded. Result: "
        f"{same}.\n\n" + body + f"\nCommand: `.venv/bin/python bench/vpdq_match.py --videos "
        f"{args.videos} --queries {args.queries}`, {time.strftime('%Y-%m-%d')}, "
        f"{time.perf_counter() - started:.0f} s in all. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Load (`uptime`) "
        f"before: `{load_before}`; after: `{uptime()}`"
        + (" (other work shared the two cores)" if os.getloadavg()[0] > 1.0 else "")
        + ".\n\n"
    )
    if not args.no_doc:
        write_section(DOC, SECTION, text)
    return 0 if same.startswith("the same") or args.no_baseline else 1


if __name__ == "__main__":
    sys.exit(main())
