"""vPDQ hashing speed: needle's ``hash_video`` against Meta's reference ``vpdq``, same run.

Clips: H.264 (libx264's defaults: preset medium, CRF 23, B-frames) at 480p, 720p and 1080p,
30 frames a second, ``--seconds`` long, made here with PyAV: a slow pan and zoom across a
photograph, then a cut to the next, scenes of 2.6 to 6.1 s (``SCENES``: not whole seconds,
so that where a cut falls after the last hashed frame varies, as in edited video), from
Debian's wallpaper packages when installed (``mate-backgrounds``), else drawn gradients and
shapes. They are made once and kept in the bench cache (``$NEEDLE_BENCH_CACHE``, default
``~/.cache/needle-bench``), not in the repository.

The reference is ThreatExchange's ``vpdq`` Python package (C++ hashing, FFmpeg decoding),
built from its PyPI source in its own virtual environment under the bench cache by
``reference_python()``; it links the system's FFmpeg, so it needs (Debian)::

    apt-get install -y libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \\
        libavdevice-dev libavfilter-dev pkg-config cmake

Each measurement is one fresh process pinned to one core (``sched_setaffinity``), with
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` = 1; the time is that of
the hashing call alone (the interpreter's start and imports left out), both as
``seconds_per_hash=1.0``:

- reference: ``vpdq.computeHash(clip, seconds_per_hash=1.0, thread_count=1)``: one hashing
  thread; its decoder asks FFmpeg for "automatic" slice threads, which FFmpeg sizes by the
  cores the process may run on (``av_cpu_count`` reads the affinity mask): one;
- needle: ``hash_video(clip, decoder_threads=1)`` (its ``video_md5`` included), and again
  with ``skip_unused=False`` (every frame decoded) to show what skipping gives.

Runs alternate between the three, ``--repeat`` times; the median is reported, as video
seconds hashed per wall second and per CPU second (the process's own CPU time, which other
load on the machine disturbs less). Agreement: frame numbers and timestamps of needle's
features against the reference's on the same clip, and the Hamming distance of every frame
of quality >= 80 (the reference's tolerance: 10). Results go to docs/video.md, section
"vPDQ hashing throughput"::

    .venv/bin/python bench/vpdq_throughput.py                  # 3 clips, 5 runs: ~5 min
    .venv/bin/python bench/vpdq_throughput.py --repeat 1 --no-doc --sizes 480p
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Only the standard library at the top: the reference's worker runs this file in the
# reference's virtual environment, which has neither numpy nor needle.

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "video.md"
SECTION = "## vPDQ hashing throughput"
CACHE = Path(os.environ.get("NEEDLE_BENCH_CACHE", Path.home() / ".cache" / "needle-bench"))
VPDQ_VERSION = "0.2.5"  # the reference's release on PyPI
APT_PACKAGES = (
    "libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev "
    "libavfilter-dev pkg-config cmake"
)
SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
RATE = 30
#: scene lengths in seconds, in turn: cuts where an editor might make them (libx264 makes
#: each cut an IDR picture, which starts a new group of pictures)
SCENES = (3.3, 5.2, 2.6, 4.4, 6.1, 3.7)
SECONDS_PER_HASH = 1.0  # both sides' default
TOLERANCE = 10  # ThreatExchange pdq/README: a correct implementation is within 10 bits
QUALITY_FOR_TOLERANCE = 80
TARGET = 1.5  # × the reference (the goal)
CORE = 0
KINDS = ("reference", "needle", "needle-every-frame")


# --------------------------------------------------------------------------- the reference


def reference_python(cache: Path = CACHE) -> Path:
    """The reference's interpreter: a virtual environment under ``cache`` with ``vpdq``
    built from its PyPI source (made on first use, a minute; kept after)."""
    venv = cache / f"vpdq-{VPDQ_VERSION}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import vpdq"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    cache.mkdir(parents=True, exist_ok=True)
    print(f"building the reference vpdq {VPDQ_VERSION} in {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", f"vpdq=={VPDQ_VERSION}"]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"building vpdq failed:\n{done.stderr[-3000:]}\nit needs FFmpeg's headers: "
            f"apt-get install -y {APT_PACKAGES}"
        )
    return python


# --------------------------------------------------------------------------- clips


def _pictures(size: tuple[int, int], count: int) -> list[Any]:
    """``count`` RGB pictures 1.4 times ``size``: Debian's wallpapers, else drawn ones."""
    import numpy as np
    from PIL import Image, ImageDraw

    sys.path.insert(0, str(ROOT / "bench"))
    from _report import real_photos

    width, height = round(size[0] * 1.4), round(size[1] * 1.4)
    photos = real_photos()
    pictures = []
    for k in range(count):
        if photos:
            with Image.open(photos[k % len(photos)]) as image:
                image.draft("RGB", (width, height))
                pictures.append(image.convert("RGB").resize((width, height), Image.LANCZOS))
            continue
        rng = np.random.default_rng(k)
        ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        base = (ramp * rng.random(3) + rng.integers(0, 80, 3)).clip(0, 255)
        picture = Image.fromarray(np.broadcast_to(base, (height, width, 3)).astype(np.uint8))
        draw = ImageDraw.Draw(picture)
        for _ in range(12):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(height // 20, height // 4))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        pictures.append(picture)
    return pictures


def make_clip(name: str, seconds: int, cache: Path = CACHE) -> Path:
    """The ``name`` clip (a key of ``SIZES``), ``seconds`` long, made once in ``cache``."""
    import av
    from PIL import Image

    path = cache / "clips" / f"vpdq-{name}-{seconds}s.mp4"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[name]
    starts = [0]  # each scene's first frame
    while starts[-1] < seconds * RATE:
        starts.append(starts[-1] + round(SCENES[(len(starts) - 1) % len(SCENES)] * RATE))
    pictures = _pictures((width, height), len(starts) - 1)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for number in range(seconds * RATE):
            scene = bisect.bisect_right(starts, number) - 1
            picture = pictures[scene]
            t = (number - starts[scene]) / (starts[scene + 1] - starts[scene])
            zoom = 1.0 - 0.25 * t  # the window shrinks: a slow zoom in, while it pans
            w, h = picture.width * zoom / 1.4 * 1.3, picture.height * zoom / 1.4 * 1.3
            left = (picture.width - w) * t
            top = (picture.height - h) * (0.5 + 0.4 * (t - 0.5))
            frame = picture.resize(
                (width, height), Image.BILINEAR, box=(left, top, left + w, top + h)
            )
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


# --------------------------------------------------------------------------- workers


def _worker(kind: str, clip: str) -> dict[str, Any]:
    """Hash ``clip`` once as ``kind`` says; the seconds of the call and its features."""
    if kind == "reference":
        import vpdq

        wall, cpu = time.perf_counter(), time.process_time()
        found = vpdq.computeHash(clip, seconds_per_hash=SECONDS_PER_HASH, thread_count=1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = [[f.frame_number, f.quality, f.hex, f.timestamp] for f in found]
        return {"wall": wall, "cpu": cpu, "features": rows}
    from needle.media.video import open_video
    from needle.signals.vpdq import hash_video

    skip = kind == "needle"
    wall, cpu = time.perf_counter(), time.process_time()
    hashes = hash_video(
        clip, seconds_per_hash=SECONDS_PER_HASH, skip_unused=skip, decoder_threads=1
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with open_video(clip, decoder_threads=1) as reader:  # untimed: how many were decoded
        for _ in reader.frames(seconds_per_frame=SECONDS_PER_HASH, skip_unused=skip):
            pass
        decoded = reader.decoded_count
    rows = [[f.frame, f.quality, f.pdq, f.timestamp] for f in hashes.vpdq]
    return {
        "wall": wall,
        "cpu": cpu,
        "features": rows,
        "frames": hashes.frame_count,
        "decoded": decoded,
    }


def run_worker(kind: str, clip: Path, reference: Path) -> dict[str, Any]:
    """One measurement in a fresh process pinned to ``CORE``, one thread."""
    python = str(reference) if kind == "reference" else sys.executable
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if kind != "reference":
        env["PYTHONPATH"] = str(ROOT / "src")
    command = [python, str(Path(__file__).resolve()), "--worker", kind, "--clip", str(clip)]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {CORE}),
    ) as process:
        threads = 0  # the most threads seen in the worker, looked at every 10 ms
        while process.poll() is None:
            with contextlib.suppress(OSError):  # it has just ended
                threads = max(threads, len(os.listdir(f"/proc/{process.pid}/task")))
            time.sleep(0.01)
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{kind} worker failed ({process.returncode}):\n{stderr[-4000:]}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["threads"] = threads
    return result


# --------------------------------------------------------------------------- agreement


def agreement(ours: list[list[Any]], theirs: list[list[Any]]) -> dict[str, Any]:
    """Frame numbers, timestamps and PDQ distances of needle's features against the
    reference's (per frame; distances over frames of quality >= 80)."""
    same_frames = [f[0] for f in ours] == [f[0] for f in theirs]
    same_times = [f"{f[3]:.3f}" for f in ours] == [f"{f[3]:.3f}" for f in theirs]
    distances = [
        bin(int(a[2], 16) ^ int(b[2], 16)).count("1")
        for a, b in zip(ours, theirs, strict=False)
        if b[1] >= QUALITY_FOR_TOLERANCE
    ]
    return {
        "features": (len(ours), len(theirs)),
        "same_frames": same_frames,
        "same_times": same_times,
        "compared": len(distances),
        "max_distance": max(distances, default=None),
        "mean_distance": statistics.fmean(distances) if distances else None,
        "identical": sum(d == 0 for d in distances),
        "within": bool(distances) and max(distances) <= TOLERANCE,
    }


# --------------------------------------------------------------------------- report


def measure(name: str, clip: Path, reference: Path, repeat: int) -> dict[str, Any]:
    """Every kind ``repeat`` times, alternating; medians, and the agreement."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for _ in range(repeat):
        for kind in KINDS:
            runs[kind].append(run_worker(kind, clip, reference))
    last = {kind: results[-1] for kind, results in runs.items()}
    frames = last["needle"]["frames"]
    seconds = frames / RATE
    row: dict[str, Any] = {"name": name, "frames": frames, "bytes": clip.stat().st_size}
    for kind, results in runs.items():
        wall = statistics.median(r["wall"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        threads = max(r["threads"] for r in results)
        row[kind] = {
            "wall": wall,
            "cpu": cpu,
            "rate": seconds / wall,
            "cpu_rate": seconds / cpu,
            "threads": threads,
        }
    row["decoded"] = last["needle"]["decoded"]
    row["same_as_every_frame"] = (
        last["needle"]["features"] == last["needle-every-frame"]["features"]
        and last["needle"]["frames"] == last["needle-every-frame"]["frames"]
    )
    row["agreement"] = agreement(last["needle"]["features"], last["reference"]["features"])
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| clip | frames | bitrate | reference | needle | × reference | × (CPU time) "
        "| needle, every frame decoded | frames decoded by needle | threads (reference, needle) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        ref, ours, full = r["reference"], r["needle"], r["needle-every-frame"]
        kbits = r["bytes"] * 8 / (r["frames"] / RATE) / 1000
        lines.append(
            f"| {r['name']} H.264 | {r['frames']} | {kbits:,.0f} kbit/s "
            f"| {ref['rate']:.1f} ({ref['cpu_rate']:.1f}) | {ours['rate']:.1f} "
            f"({ours['cpu_rate']:.1f}) | {ours['rate'] / ref['rate']:.2f} "
            f"| {ours['cpu_rate'] / ref['cpu_rate']:.2f} | {full['rate']:.1f} "
            f"({full['cpu_rate']:.1f}) | {r['decoded']} of {r['frames']} "
            f"| {ref['threads']}, {ours['threads']} |"
        )
    return head + "\n".join(lines) + "\n"


def agreement_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| clip | features (needle, reference) | frame numbers, timestamps equal "
        "| frames of quality >= 80 | max distance | mean distance | identical "
        "| skipping changed nothing |\n|---|---|---|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        a = r["agreement"]
        mean = "" if a["mean_distance"] is None else f"{a['mean_distance']:.2f}"
        lines.append(
            f"| {r['name']} | {a['features'][0]}, {a['features'][1]} "
            f"| {'yes' if a['same_frames'] and a['same_times'] else 'NO'} | {a['compared']} "
            f"| {a['max_distance']} | {mean} | {a['identical']} "
            f"| {'yes' if r['same_as_every_frame'] else 'NO'} |"
        )
    return head + "\n".join(lines) + "\n"


def versions(reference: Path) -> str:
    import av

    ffmpeg = subprocess.run(
        ["pkg-config", "--modversion", "libavcodec"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"needle: PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}, bundled); "
        f"reference: vpdq {VPDQ_VERSION} built from PyPI's source against the system's "
        f"libavcodec {ffmpeg or '?'}"
    )


def write_doc(rows: list[dict[str, Any]], args: argparse.Namespace, notes: dict[str, str]) -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    from _report import write_section

    sizes = " ".join(args.sizes)
    text = (
        f"{SECTION}\n\n"
        "Video seconds hashed per wall second (per CPU second in brackets), one core, "
        f"`seconds_per_hash={SECONDS_PER_HASH}` on both sides, {args.seconds} s clips at "
        f"{RATE} frames a second made with PyAV and libx264's defaults (B-frames; a slow pan "
        f"and zoom across {notes['content']}, cut into scenes of {min(SCENES)}-{max(SCENES)} s): "
        "needle's `hash_video` (`video_md5` included) against the reference Python package "
        "`vpdq.computeHash(..., thread_count=1)` (`bench/vpdq_throughput.py`). Each figure is "
        f"the median of {args.repeat} runs, each a fresh process pinned to one core with one "
        "thread (the reference's FFmpeg decoder sizes its automatic slice threads by the "
        "cores the process may use: one; the last column is the most threads seen in each "
        'process while it ran, the interpreter\'s included). "Every frame decoded" is needle with '
        "`skip_unused=False`; by default it counts without decoding them the frames that are "
        "not hashed and that no hashed frame depends on: non-reference B-frames, and the "
        "frames after the last hashed one before the next IDR picture "
        f"(`needle.media.video_skip`). Target: {TARGET}x the reference. The frames skipped "
        "are mostly the cheapest to decode (non-reference B-frames), so decoding time falls "
        "less than the count of frames decoded; where the reference's own hashing costs "
        "little (480p), needle gains least.\n\n"
        + table(rows)
        + "\nAgreement on the same clips (the reference's tolerance: distance <= "
        f"{TOLERANCE} on frames of quality >= {QUALITY_FOR_TOLERANCE}):\n\n"
        + agreement_table(rows)
        + f"\n{notes['versions']}. Command: `.venv/bin/python bench/vpdq_throughput.py "
        f"--sizes {sizes} --seconds {args.seconds} --repeat {args.repeat}`, "
        f"{time.strftime('%Y-%m-%d')}, {notes['elapsed']}. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Load (`uptime`) "
        f"before: `{notes['load_before']}`; after: `{notes['load_after']}`"
        f"{notes['shared']}.\n\n"
    )
    if not args.no_doc:
        write_section(DOC, SECTION, text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--seconds", type=int, default=24, help="length of each clip")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/video.md")
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--clip", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.clip)))
        return 0

    sys.path.insert(0, str(ROOT / "bench"))
    from _report import real_photos, uptime

    started = time.perf_counter()
    reference = reference_python()
    clips = {name: make_clip(name, args.seconds) for name in args.sizes}
    load_before = uptime()
    rows = []
    for name, clip in clips.items():
        row = measure(name, clip, reference, args.repeat)
        rows.append(row)
        print(table([row]).splitlines()[-1], flush=True)
    notes = {
        "content": "Debian's wallpaper photographs" if real_photos() else "drawn pictures",
        "versions": versions(reference),
        "elapsed": f"{time.perf_counter() - started:.0f} s in all",
        "load_before": load_before,
        "load_after": uptime(),
        "shared": (
            " (other work shared the two cores: the wall figures are disturbed most, the CPU "
            "ones less)"
            if os.getloadavg()[0] > 1.0
            else ""
        ),
    }
    print("\n" + write_doc(rows, args, notes))
    failed = [r["name"] for r in rows if not r["agreement"]["within"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
