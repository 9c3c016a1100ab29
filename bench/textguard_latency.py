"""Latency and throughput of the text guard on one CPU core, with a baseline from the same run.

Run: ``.venv/bin/python bench/textguard_latency.py`` (``--rounds N``, ``--no-write``).

Measures, pinned to core 0 (``os.sched_setaffinity``):

- **needle** ``needle.textguard.check`` on a mix of short prompts (every line of the
  development set) and long prompts (diffusion-style tag lists of 400-1,600 characters),
  *warm* (its per-word cache filled by a first pass, as in a service) and *cold* (cache
  cleared before every prompt: the worst case for a prompt of never-seen words); as
  installed (compiled with mypyc, see ``needle/_compiled.py``) and, side by side in a child
  process, as pure Python (``NEEDLE_PURE_PYTHON=1``);
- **baseline**: the simplest filter a service might run instead, lower-casing the prompt and
  searching it with one compiled regex of English sexual and child words (no evasions, no
  languages, no scope); it bounds from below what any Python text filter costs;
- the time for one 1 MB input of each adversarial shape (the policy's limit: the time per
  input is bounded by it), next to the baseline's; tests/textguard/test_guard.py checks the
  same inputs get a decision, without timing them.

Prints a table and writes it, with the command, the machine and its load (``uptime``; other
processes share the machine), into ``docs/textguard.md`` between the bench markers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "textguard" / "dev.jsonl"
DOC = ROOT / "docs" / "textguard.md"
START, END = "<!-- bench:textguard:start -->", "<!-- bench:textguard:end -->"

TAGS = [
    "masterpiece",
    "best quality",
    "highly detailed",
    "8k",
    "photorealistic",
    "cinematic lighting",
    "portrait",
    "landscape",
    "mountains",
    "lake",
    "sunset",
    "golden hour",
    "bokeh",
    "sharp focus",
    "oil painting",
    "watercolor",
    "concept art",
    "trending on artstation",
    "volumetric light",
    "city street",
    "rain",
    "neon signs",
    "reflections",
    "old man",
    "beard",
    "smiling",
    "blue eyes",
    "long hair",
    "red dress",
    "forest",
    "mist",
    "castle",
    "dragon",
    "fantasy",
    "sci-fi",
    "spaceship",
    "cat",
    "dog",
    "flowers",
    "garden",
    "kitchen",
    "coffee cup",
    "book",
    "window",
    "snow",
    "winter coat",
    "(detailed face:1.2)",
    "[simple background]",
    "BREAK",
    "<lora:styleA_v2:0.7>",
    "depth of field",
]


def long_prompts(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        k = rng.randint(40, 160)
        out.append(", ".join(rng.choice(TAGS) for _ in range(k)))
    return out


def big_inputs() -> dict[str, str]:
    """One input of each shape at the guard's limit (1 MB): the worst cases for its steps."""
    return {
        "ASCII prompt text": (", ".join(TAGS) * 2000)[: 1 << 20],
        "ASCII sentence": ("a photo of a cat on a sofa, " * 40000)[: 1 << 20],
        "single letters": "a " * (1 << 19),
        "mixed scripts + invisibles": ("nаkеd ребенок 裸体 เด็ก ｎｕｄｅ\u200b " * 30000)[: 1 << 20],
        "controls and surrogates": "\x00\x1f\u200b\ud800" * (1 << 18),
        "one word": "x" * (1 << 20),
        "digits": ("12yo " * 210000)[: 1 << 20],
    }


def baseline_filter() -> Callable[[str], bool]:
    sexual = "nude|naked|nudity|porn|sex|sexual|topless|erotic|nsfw|lewd"
    minor = "child|children|kid|kids|girl|boy|teen|toddler|baby|minor|underage|preteen|loli"
    s = re.compile(rf"\b(?:{sexual})\b")
    m = re.compile(rf"\b(?:{minor})\b")

    def check(text: str) -> bool:
        low = text.lower()
        return bool(s.search(low)) and bool(m.search(low))

    return check


def timed(
    fn: Callable[[str], object], prompts: list[str], before: Callable[[], None] | None = None
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread) microseconds per call. CPU time leaves out the time
    the scheduler gave to other processes, which dominates wall-clock tails on a busy box."""
    wall, cpu = [], []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for p in prompts:
        if before is not None:
            before()
        c0 = cpu_clock()
        t0 = clock()
        fn(p)
        t1 = clock()
        c1 = cpu_clock()
        wall.append((t1 - t0) / 1000.0)
        cpu.append((c1 - c0) / 1000.0)
    return wall, cpu


def summarise(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    n = len(samples)
    return {
        "n": n,
        "per_s": n / (sum(samples) / 1e6),
        "mean": statistics.fmean(samples),
        "p50": samples[n // 2],
        "p99": samples[min(n - 1, int(n * 0.99))],
        "max": samples[-1],
    }


def measure(rounds: int) -> tuple[str, list[tuple[str, str, dict[str, float], dict[str, float]]]]:
    """The needle rows (warm and cold) and the baseline rows, for the implementation loaded."""
    from needle.textguard import IMPLEMENTATION, check
    from needle.textguard.terms import load_lexicon

    name = "compiled" if IMPLEMENTATION.startswith("compiled") else "pure Python"
    lex = load_lexicon()
    rng = random.Random(5)
    short, long = prompts(rng)
    mix = short + long
    base = baseline_filter()
    # warm pass (fills the word cache; a service is always warm)
    for p in mix:
        check(p)
    rows: list[tuple[str, str, dict[str, float], dict[str, float]]] = []
    gc.collect()
    for label, batch in (("short", short), ("long", long), ("all", mix)):
        n_wall: list[float] = []
        n_cpu: list[float] = []
        b_wall: list[float] = []
        b_cpu: list[float] = []
        for _ in range(rounds):
            order = batch[:]
            rng.shuffle(order)
            w, c = timed(check, order)
            n_wall += w
            n_cpu += c
            w, c = timed(base, order)
            b_wall += w
            b_cpu += c
        rows.append((label, f"needle {name} (warm)", summarise(n_cpu), summarise(n_wall)))
        rows.append((label, "baseline regex", summarise(b_cpu), summarise(b_wall)))
    cold_wall, cold_cpu = timed(check, mix, before=lex.word_cache.clear)
    rows.append(("all", f"needle {name} (cold cache)", summarise(cold_cpu), summarise(cold_wall)))
    return IMPLEMENTATION, rows


def prompts(rng: random.Random) -> tuple[list[str], list[str]]:
    short = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    return short, long_prompts(len(short) // 4, rng)


def pure_python_rows(rounds: int) -> list[tuple[str, str, dict[str, float], dict[str, float]]]:
    """The same measurement, run in a child process on the Python source of the text guard."""
    env = {**os.environ, "NEEDLE_PURE_PYTHON": "1"}
    cmd = [sys.executable, __file__, "--rounds", str(rounds), "--rows-only"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return [tuple(row) for row in json.loads(out)]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the prompt mix")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/textguard.md")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    sys.path.insert(0, str(ROOT / "src"))
    if args.rows_only:  # the child of pure_python_rows
        print(json.dumps(measure(args.rounds)[1]))
        return
    from needle.textguard import check

    t0 = time.perf_counter()
    check("warm up")
    load_s = time.perf_counter() - t0
    implementation, rows = measure(args.rounds)
    if implementation.startswith("compiled"):
        # side by side: the same code run as Python source (without its baseline rows)
        rows += [r for r in pure_python_rows(args.rounds) if r[1] != "baseline regex"]
        order = ["short", "long", "all"]
        rows.sort(key=lambda r: order.index(r[0]))
    short, long = prompts(random.Random(5))
    base = baseline_filter()
    big: dict[str, tuple[float, float]] = {}
    for name, text in big_inputs().items():
        t = time.perf_counter()
        check(text)
        needle_s = time.perf_counter() - t
        t = time.perf_counter()
        base(text)
        big[name] = (needle_s, time.perf_counter() - t)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        f"Command: `.venv/bin/python bench/textguard_latency.py --rounds {args.rounds}` "
        f"(pinned to one core; {time.strftime('%Y-%m-%d')})",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load at the end: `{uptime}` (other processes were running: absolute numbers are "
        "pessimistic, the ratio to the baseline is the comparison)",
        f"Prompts: {len(short)} short (development set, mean {statistics.fmean(map(len, short)):.0f} "
        f"chars) + {len(long)} long (tag lists, mean {statistics.fmean(map(len, long)):.0f} chars); "
        f"lexicon load + first call {load_s * 1000:.0f} ms",
        f"Text guard: {implementation}; the pure-Python rows run the same source with "
        "`NEEDLE_PURE_PYTHON=1` in a child process, one after the other",
        "",
        "CPU time of the checking thread per prompt (what the guard costs); wall-clock p99 in",
        "the last column (what a caller waited, including time the busy machine gave to others).",
        "",
        "| prompts | filter | n | prompts/s (CPU) | mean µs | p50 µs | p99 µs | max µs | wall p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, name, s, w in rows:
        lines.append(
            f"| {label} | {name} | {s['n']:.0f} | {s['per_s']:,.0f} | {s['mean']:.1f} | "
            f"{s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.0f} | {w['p99']:.0f} |"
        )
    lines += [
        "",
        f"One 1 MB input of each shape (wall-clock, {implementation}):",
        "",
        "| 1 MB input | needle s | baseline regex s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {n:.2f} | {b:.3f} |" for name, (n, b) in big.items()]
    table = "\n".join(lines)
    print(table)
    if not args.no_write and DOC.exists():
        doc = DOC.read_text(encoding="utf-8")
        if START in doc and END in doc:
            head, _, rest = doc.partition(START)
            _, _, tail = rest.partition(END)
            DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")
            print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
