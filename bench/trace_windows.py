"""Trace-back by window hashes (``needle.genguard.windows``): is a generator's output found
again from an edited copy, and is nothing else found?

Inputs: every JPEG, PNG and WebP of Debian's wallpaper packages exactly as installed
(``apt-get install mate-backgrounds gnome-backgrounds``), each standing for a generator's
output; then (``--fits``) each one fitted (centre crop, Lanczos) to 1024 x 1024 and 1024 x 768,
the usual sizes of generated images. Each output's ``stored_hashes`` form the ledger; each
edited copy's ``query_hashes`` are compared with every entry. Edits: JPEG quality 85; a crop of
10 % of the area (centred), of 10 % of the width (one side), of 10 % of width and height (a
corner); half size; a PNG with a 20-pixel solid border; and combinations (crop + JPEG, crop +
half + JPEG, a random crop of 0-10 % a side + JPEG, a crop between the query grid's points on
all four sides, half size + border).

Found: some query window within ``WINDOW_DISTANCE`` of the output's own stored hashes. False
trace: within it of another output's, other than the same picture (the packages ship some
pictures at several sizes and in colour variants: whole-image PDQ of the two originals within
31, or names that differ only by a size suffix such as ``_3840x2160`` or a colour word such as
``-d``/``-l``, ``Dark``, ``Warm``; such pairs are named in the output, not counted), or of a
decoy: ``--decoys`` random sub-images (35-70 % of each side) of every wallpaper, stored as
outputs of their own (counted only against copies of other pictures). Whole-image PDQ at 31 on the same copies is shown for comparison. Last, the index a
caller builds: ``PDQIndex`` over 1M random hashes plus every real stored hash, queried with one
copy's windows in one batch: time per trace and hits (false candidates).

    .venv/bin/python bench/trace_windows.py                 # about 30 min on 2 cores
    .venv/bin/python bench/trace_windows.py --fits ""       # installed sizes only
    .venv/bin/python bench/trace_windows.py --limit 8 --random-rows 100000   # a quick look

Memory: one picture and its copies at a time, plus the 1M-row index (about 0.2 GB).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import PHOTO_DIRS, cut_sides, real_photos, uptime  # noqa: E402
from needle.genguard.windows import WINDOW_DISTANCE, query_hashes, stored_hashes  # noqa: E402
from needle.match.pdq import PDQIndex, hamming_distances, pdq_array  # noqa: E402
from needle.media.image import to_rgb  # noqa: E402
from needle.signals.pdq import PDQ_MATCH_DISTANCE, pdq_hash_pixels  # noqa: E402

SEED = 17
BORDER = 20  # pixels, the screenshot-like edit
BORDER_FILL = (240, 240, 240)
SIDE_OF_AREA_90 = 1 - 0.9**0.5  # a centred crop keeping 90 % of the area cuts this per side
#: the query grid steps by 2.5 %: these cuts (left, top, right, bottom) are all half a step off
BETWEEN_GRID = (0.0625, 0.1125, 0.0375, 0.0125)
TIMED_TRACES = 20  # per set: the copies of the first 20 outputs that store hashes ...
TIMED_EDIT = "random crop 0-10 %/side + JPEG"  # ... after this edit
#: distances at which (window, unrelated stored row) pairs are counted, for the per-pair rate
TAIL_DISTANCES = (WINDOW_DISTANCE, WINDOW_DISTANCE + 8, WINDOW_DISTANCE + 16, WINDOW_DISTANCE + 24)
#: words by which the packages name colour variants of one design (gnome-backgrounds' -d/-l
#: dark and light pairs, mate-backgrounds' Ubuntu-Mate-Cold/-Warm/... and MATE-Stripes-Dark)
COLOUR_WORDS = frozenset({"d", "l", "dark", "light", "cold", "warm", "radioactive"})

Edit = Callable[[Image.Image, np.random.Generator], Image.Image]


def _reencoded(image: Image.Image, fmt: str, **options: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _jpeg(image: Image.Image) -> Image.Image:
    return _reencoded(image, "JPEG", quality=85)


def _half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)


def _bordered(image: Image.Image) -> Image.Image:  # lossless, so the fast zlib level is the same
    return _reencoded(ImageOps.expand(image, BORDER, fill=BORDER_FILL), "PNG", compress_level=1)


EDITS: dict[str, Edit] = {
    "JPEG q85": lambda im, _: _jpeg(im),
    "crop 10 % of area, centred": lambda im, _: cut_sides(im, *[SIDE_OF_AREA_90 / 2] * 4),
    "crop 10 % of width, one side": lambda im, _: cut_sides(im, 0.1, 0, 0, 0),
    "crop 10 % of w and h, corner": lambda im, _: cut_sides(im, 0.1, 0.1, 0, 0),
    "half size": lambda im, _: _half(im),
    f"PNG + {BORDER}-px border": lambda im, _: _bordered(im),
    "crop one side + JPEG": lambda im, _: _jpeg(cut_sides(im, 0, 0, 0.1, 0)),
    "crop corner + half + JPEG": lambda im, _: _jpeg(_half(cut_sides(im, 0, 0, 0.1, 0.1))),
    "random crop 0-10 %/side + JPEG": lambda im, rng: _jpeg(cut_sides(im, *rng.uniform(0, 0.1, 4))),
    "crop between grid points": lambda im, _: cut_sides(im, *BETWEEN_GRID),
    f"half + {BORDER}-px border": lambda im, _: _bordered(_half(im)),
}


def _load(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        opened.load()
        return to_rgb(opened).copy()


def _decoys(image: Image.Image, rng: np.random.Generator, count: int) -> list[Image.Image]:
    """Random sub-images, 35-70 % of each side, anywhere: real content, unrelated geometry."""
    out = []
    for _ in range(count):
        fw, fh = rng.uniform(0.35, 0.7, 2)
        left, top = rng.uniform(0, 1 - fw), rng.uniform(0, 1 - fh)
        out.append(cut_sides(image, left, top, 1 - left - fw, 1 - top - fh))
    return out


@dataclass
class Ledger:
    """Every stored hash of one set of outputs, with the picture it belongs to."""

    names: list[str]
    keys: list[str]  # the picture's name without size suffix and colour words
    whole: list[str]  # whole-image PDQ of each output
    rows: list[np.ndarray] = field(default_factory=list)  # (k, 32) per output, k = 0-2
    decoy_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.uint8))
    decoy_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def same_picture(self) -> np.ndarray:
        """``[i, j]``: outputs i and j are one picture (another size or colour variant)."""
        d = hamming_distances(self.whole, self.whole)
        keys = np.asarray(self.keys)
        return (d <= PDQ_MATCH_DISTANCE) | (keys[:, None] == keys[None, :])


def _picture_key(path: Path) -> str:
    stem = re.sub(r"_\d+x\d+$", "", path.stem)
    return "-".join(w for w in stem.split("-") if w.lower() not in COLOUR_WORDS)


def _prepare(image: Image.Image, fit: tuple[int, int] | None) -> Image.Image:
    return ImageOps.fit(image, fit, Image.Resampling.LANCZOS) if fit else image


def build_ledger(files: list[Path], fit: tuple[int, int] | None, decoys: int) -> Ledger:
    ledger = Ledger([_name(p) for p in files], [_picture_key(p) for p in files], [])
    decoy_rows, decoy_of = [], []
    for i, path in enumerate(files):
        image = _prepare(_load(path), fit)
        ledger.whole.append(pdq_hash_pixels(image, dihedral=False).value)
        ledger.rows.append(pdq_array(list(stored_hashes(image))))
        for sub in _decoys(image, np.random.default_rng((SEED, i, 1)), decoys):
            found = pdq_array(list(stored_hashes(sub)))
            decoy_rows.append(found)
            decoy_of += [i] * len(found)
    if decoy_rows:
        ledger.decoy_rows = np.concatenate(decoy_rows)
        ledger.decoy_of = np.asarray(decoy_of, dtype=np.int64)
    return ledger


@dataclass
class Trace:
    """One edited copy against the whole ledger."""

    own: int  # nearest window to the output's own stored hashes (999: nothing to compare)
    own_hits: int  # query windows within WINDOW_DISTANCE of them
    nearest_other: list[int]  # per other output (999 when either side has no hashes)
    nearest_decoy: int  # over decoys of other pictures
    tail: np.ndarray  # (window, unrelated stored row) pairs within each of TAIL_DISTANCES
    pairs: int  # all such pairs
    whole: int  # whole-image PDQ distance to the original
    seconds: float  # query_hashes


def trace(ledger: Ledger, same: np.ndarray, i: int, copy: Image.Image) -> tuple[Trace, np.ndarray]:
    start = time.perf_counter()
    queries = query_hashes(copy)
    seconds = time.perf_counter() - start
    owner = np.concatenate([[j] * len(rows) for j, rows in enumerate(ledger.rows)] + [[]])
    rows = np.concatenate([*ledger.rows, ledger.decoy_rows])
    owner = np.concatenate([owner.astype(np.int64), ledger.decoy_of])
    decoy = np.arange(len(rows)) >= len(owner) - len(ledger.decoy_of)
    d = hamming_distances(queries, rows) if len(queries) else np.zeros((0, len(rows)), np.int32)
    nearest = np.full(len(rows), 999) if not len(queries) else d.min(axis=0)
    per_output = [int(nearest[~decoy & (owner == j)].min(initial=999)) for j in range(len(same))]
    mine = ~decoy & (owner == i)
    own_hits = int((d[:, mine].min(axis=1, initial=999) <= WINDOW_DISTANCE).sum())
    unrelated = d[:, ~same[i, owner]]
    tail = np.array([(unrelated <= t).sum() for t in TAIL_DISTANCES])
    whole = int(
        hamming_distances([pdq_hash_pixels(copy, dihedral=False).value], [ledger.whole[i]])[0, 0]
    )
    nearest_decoy = int(nearest[decoy & ~same[i, owner]].min(initial=999))
    found = Trace(
        per_output[i], own_hits, per_output, nearest_decoy, tail, unrelated.size, whole, seconds
    )
    return found, queries


@dataclass
class SetResult:
    label: str
    ledger: Ledger
    traces: dict[str, list[Trace]]
    timed: list[tuple[int, np.ndarray]]  # (output, query array) of some copies, for the index


def measure_set(files: list[Path], fit: tuple[int, int] | None, decoys: int) -> SetResult:
    ledger = build_ledger(files, fit, decoys)
    label = f"fitted to {fit[0]} x {fit[1]}" if fit else "as installed"
    result = SetResult(label, ledger, {name: [] for name in EDITS}, [])
    same = ledger.same_picture()
    for i, path in enumerate(files):
        image = _prepare(_load(path), fit)
        rng = np.random.default_rng((SEED, i))
        for name, edit in EDITS.items():
            found, queries = trace(ledger, same, i, edit(image, rng))
            result.traces[name].append(found)
            timed = name == TIMED_EDIT and len(result.timed) < TIMED_TRACES
            if timed and len(queries) and len(ledger.rows[i]):
                result.timed.append((i, queries))
    return result


def _name(path: Path) -> str:
    root = next((d for d in PHOTO_DIRS if path.is_relative_to(d)), path.parent)
    return str(path.relative_to(root))


def _q(values: list[int], fraction: float) -> int:
    return int(np.quantile(np.asarray(values), fraction, method="lower"))


def render_set(result: SetResult) -> list[str]:
    ledger = result.ledger
    hashable = [i for i, rows in enumerate(ledger.rows) if len(rows)]
    same = ledger.same_picture()
    n = len(hashable)
    lines = [
        f"### Outputs {result.label}: {n} of {len(ledger.rows)} store hashes "
        f"({len(ledger.decoy_rows)} decoy rows)",
        "",
        "| edit | found | own dist. median / max | own windows hit (min) | nearest unrelated "
        "| false traces | whole-image PDQ found | query s (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, traces in result.traces.items():
        own = [traces[i].own for i in hashable]
        hits = [traces[i].own_hits for i in hashable]
        unrelated = [
            min([t.nearest_decoy] + [d for j, d in enumerate(t.nearest_other) if not same[i, j]])
            for i, t in enumerate(traces)
        ]
        false = sum(u <= WINDOW_DISTANCE for u in unrelated)
        whole = sum(traces[i].whole <= PDQ_MATCH_DISTANCE for i in hashable)
        found = sum(d <= WINDOW_DISTANCE for d in own)
        seconds = float(np.median([t.seconds for t in traces]))
        lines.append(
            f"| {name} | {found}/{n} | {_q(own, 0.5)} / {max(own)} | {min(hits)} | "
            f"{min(unrelated)} | {false} | {whole}/{n} | {seconds:.2f} |"
        )
    return [*lines, "", *render_distances(result, hashable, same), ""]


def render_distances(result: SetResult, hashable: list[int], same: np.ndarray) -> list[str]:
    ledger = result.ledger
    own: list[int] = []
    other: list[int] = []
    decoy: list[int] = []
    pairs: dict[tuple[int, int], int] = {}
    for traces in result.traces.values():
        for i, t in enumerate(traces):
            if i in hashable:
                own.append(t.own)
            decoy.append(t.nearest_decoy)
            for j, d in enumerate(t.nearest_other):
                if j == i or d == 999:
                    continue
                if same[i, j]:
                    key = (min(i, j), max(i, j))
                    pairs[key] = min(pairs.get(key, 999), d)
                else:
                    other.append(d)
    flat = [ledger.names[i] for i, rows in enumerate(ledger.rows) if not len(rows)]
    named = "; ".join(f"{ledger.names[a]} ~ {ledger.names[b]} ({d})" for (a, b), d in pairs.items())
    traces = [t for ts in result.traces.values() for t in ts]
    tail = sum((t.tail for t in traces), np.zeros(len(TAIL_DISTANCES), np.int64))
    total = sum(t.pairs for t in traces)
    rates = ", ".join(
        f"<= {d}: {c} ({c / total:.1e})" for d, c in zip(TAIL_DISTANCES, tail, strict=True)
    )
    return [
        "Nearest window, over all edits: to the copy's own output "
        f"{_quantiles(own)}; to each unrelated output {_quantiles(other)} "
        f"({len(other)} pairs); to the nearest decoy {_quantiles(decoy)}.",
        "",
        f"Pairs (query window, stored hash of an unrelated output or decoy): {total:,}; "
        f"within {rates}.",
        "",
        "Same picture, not counted as false (another size or colour variant; nearest window "
        f"over all edits): {named or 'none'}.",
        "",
        f"Store nothing (both windows flat): {', '.join(flat) or 'none'}.",
    ]


def _quantiles(values: list[int]) -> str:
    if not values:
        return "(none)"
    return (
        f"min {min(values)}, 1 % {_q(values, 0.01)}, median {_q(values, 0.5)}, "
        f"99 % {_q(values, 0.99)}, max {max(values)}"
    )


def render_index(results: list[SetResult], random_rows: int) -> list[str]:
    """PDQIndex over random rows plus every set's real stored hashes and decoys; time traces
    and count their hits on random rows and on real rows of other pictures (false candidates)."""
    rng = np.random.default_rng(SEED)
    real = [np.concatenate([*r.ledger.rows, r.ledger.decoy_rows]) for r in results]
    owner = np.concatenate([_owners(r.ledger) for r in results])  # picture of each real row
    rows = np.concatenate([rng.integers(0, 256, (random_rows, 32), dtype=np.uint8), *real])
    start = time.perf_counter()
    index = PDQIndex(rows, threshold=WINDOW_DISTANCE)
    built = time.perf_counter() - start
    same = results[0].ledger.same_picture()
    seconds, random_hits, windows, false_rows, false_traces = [], 0, [], 0, 0
    for i, queries in (t for r in results for t in r.timed):
        start = time.perf_counter()
        hits = index.query(queries)
        seconds.append(time.perf_counter() - start)
        random_hits += int((hits.row < random_rows).sum())
        found = np.unique(hits.row[hits.row >= random_rows]) - random_rows
        false = int((~same[i, owner[found]]).sum())
        false_rows, false_traces = false_rows + false, false_traces + (false > 0)
        windows.append(len(queries))
    return [
        f"### Index: {random_rows:,} random hashes + {len(rows) - random_rows:,} real stored "
        f"hashes, PDQIndex at {WINDOW_DISTANCE}",
        "",
        f"Built in {built:.1f} s ({index.plan.strategy}, {len(index.plan.widths)} chunks). "
        f"{len(seconds)} traces of {int(np.median(windows)):,} windows each (median): "
        f"{np.median(seconds):.2f} s median, {max(seconds):.2f} s max per trace; "
        f"{random_hits} hits on random rows in all; {false_rows} real rows of other pictures "
        f"hit (false candidates), in {false_traces} traces.",
        "",
    ]


def _owners(ledger: Ledger) -> np.ndarray:
    """The output (picture) each of the ledger's rows, stored hashes then decoys, comes from."""
    counts = [len(rows) for rows in ledger.rows]
    return np.concatenate([np.repeat(np.arange(len(counts)), counts), ledger.decoy_of])


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", default="1024x1024,1024x768", help="sizes to fit to, or ''")
    parser.add_argument("--decoys", type=int, default=8, help="decoy sub-images per wallpaper")
    parser.add_argument("--random-rows", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N wallpapers")
    args = parser.parse_args(argv)
    files = [p for p in real_photos((".jpg", ".jpeg", ".png", ".webp"))]
    files = files[: args.limit] if args.limit else files
    if not files:
        print("no wallpapers installed: apt-get install mate-backgrounds gnome-backgrounds")
        return 1
    print(f"## Trace-back: window hashes under edits (WINDOW_DISTANCE = {WINDOW_DISTANCE})\n")
    print(
        f"{len(files)} wallpapers of {' and '.join(map(str, PHOTO_DIRS))}; load before: "
        f"`{uptime()}`\n",
        flush=True,
    )
    fits = [None] + [_size(s) for s in args.fits.split(",") if s.strip()]
    results = []
    for fit in fits:
        results.append(measure_set(files, fit, args.decoys))
        print("\n".join(render_set(results[-1])), flush=True)
    print("\n".join(render_index(results, args.random_rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
