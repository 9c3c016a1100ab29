"""PDQ hashing throughput: needle's fast path against the way python-threatexchange hashes.

Both read the file's bytes and end with the PDQ hash of the same photo:

- baseline (python-threatexchange ``pdq_hasher`` / HMA): Pillow decodes the whole image,
  ``.convert("RGB")``, ``numpy.asarray``, ``pdqhash.compute`` (the reference C++, whose
  binding first makes a float64 greyscale copy of the full image);
- needle: ``decode_image(data, draft_size=...)`` (JPEG decoded in the DCT domain at 1/2-1/8
  scale, then block-averaged) and ``PDQ().hash_image`` with the 8 dihedral variants, as
  ``needle scan`` does. The hasher accounts for the reduction (see ``needle.signals.pdq``).

Photos: the JPEGs that Debian's ``mate-backgrounds`` and ``gnome-backgrounds`` install under
/usr/share/backgrounds (``apt-get install mate-backgrounds gnome-backgrounds``), plus three
images derived from each, written once to ``--workdir``: a 12.2-megapixel camera-like JPEG
(resized with Lanczos, mostly upscaled; quality 92, 4:2:0), a centre crop of 60 % of each side
(quality 85) and a 1280-pixel web copy (quality 80).

Measured in one run, interleaved image by image so that other load on the machine hits both
alike: images/s on one pinned core (``sched_setaffinity``, one BLAS/OpenMP thread) and with a
pool of 2 processes each pinned to its own core; the Hamming distance between needle's hash and
the baseline's for every image (the reference's correctness bar: <= 10 when quality >= 80);
and what the dihedral variants cost. Results also go into docs/performance.md, section
"PDQ hashing throughput"::

    .venv/bin/python bench/pdq_throughput.py               # about 5 minutes on 2 cores
    .venv/bin/python bench/pdq_throughput.py --repeat 1 --no-doc
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, here and in the pool's processes

import argparse  # noqa: E402
import io  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
import PIL  # noqa: E402
from PIL import Image, features  # noqa: E402

from _report import uptime, write_section  # noqa: E402
from needle.media import decode_image  # noqa: E402
from needle.signals.pdq import PDQ, PDQ_DRAFT_SIZE, bits_to_hex  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## PDQ hashing throughput"
SOURCES = Path("/usr/share/backgrounds")
CAMERA_PIXELS = 4032 * 3024  # a 12-megapixel phone photo
TOLERANCE = 10  # ThreatExchange pdq/README: a correct PDQ is within 10 bits for quality >= 80

_PDQ = PDQ()

NOTES = """Reading the numbers:

- needle's hash is computed from the reduced image with the reference filter's weights summed
  over the decoder's pixel blocks (`needle.signals.pdq`); at full resolution it gives the
  reference's bits (the draft_size=None row). The "resize, then pdqhash" row is the obvious
  shortcut (draft decode, box-resize to 512 pixels, `pdqhash.compute`): fast, but it changes
  PDQ's filter and moves hashes by more than the reference's tolerance.
- The gain is largest on big baseline JPEGs: libjpeg-turbo decodes at 1/8 scale in the DCT
  domain, and the reference binding's float64 greyscale copy and box filters over every pixel
  disappear. Progressive JPEGs gain least, since their entropy decoding, which scaling cannot
  skip, dominates, unless they are large enough to decode at 1/8: then only their DC scans
  are decoded (`needle.media.progressive`).
- The processes share nothing (one BLAS thread each, no shared state), so on idle cores the
  gain should be close to 2×; what it shows here is also how much of the second core the
  other work on the machine left free (see the load figures).
- Textures with strong periodic structure near PDQ's 64-cell sampling (wood slats, stripes)
  sit on the knife-edge of many bits: any change, a JPEG re-save as much as a reduced decode,
  moves their hashes by 10-30 bits. Photographs do not behave like this."""


class _Plain(PDQ):
    dihedral = False


_PLAIN = _Plain()


# --------------------------------------------------------------------------- the two paths


def baseline(path: Path) -> tuple[str, int]:
    """python-threatexchange's pdq_hasher: full decode, RGB, numpy, pdqhash.compute."""
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    bits, quality = pdqhash.compute(np.asarray(image))
    return bits_to_hex(bits), int(quality)


def needle(path: Path, draft_size: int | None) -> tuple[str, int]:
    signal = _PDQ.hash_image(decode_image(path.read_bytes(), draft_size=draft_size))
    return signal.value, int(signal.quality or 0)


def resized(path: Path, size: int = 512) -> tuple[str, int]:
    """The obvious shortcut: draft decode, box-resize to ``size``, then pdqhash."""
    opened = Image.open(io.BytesIO(path.read_bytes()))
    opened.draft("RGB", (size, size))
    image = opened.convert("RGB")
    if max(image.size) > size:
        scale = size / max(image.size)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(target, Image.Resampling.BOX, reducing_gap=2.0)
    bits, quality = pdqhash.compute(np.asarray(image))
    return bits_to_hex(bits), int(quality)


def _method(name: str) -> Callable[[Path], tuple[str, int]]:
    if name == "baseline":
        return baseline
    if name == "resize-512":
        return resized
    draft = None if name == "needle-full" else int(name.split("-")[1])  # needle-256 ...
    return lambda path: needle(path, draft)


# --------------------------------------------------------------------------- photos


def photos(workdir: Path) -> list[tuple[str, Path]]:
    """(kind, path) for every installed JPEG and the three images derived from each."""
    sources = sorted(p for p in SOURCES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not sources:
        sys.exit(
            f"no JPEGs under {SOURCES}: install Debian's photo packages first "
            "(apt-get install mate-backgrounds gnome-backgrounds)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    result: list[tuple[str, Path]] = []
    for source in sources:
        coding = "progressive" if is_progressive(source) else "baseline"
        result.append((f"installed, {coding}", source))
        stem = source.stem
        derived = {
            "camera-12MP": workdir / f"{stem}-camera.jpg",
            "crop-60%": workdir / f"{stem}-crop.jpg",
            "web-1280": workdir / f"{stem}-web.jpg",
        }
        if not all(p.exists() for p in derived.values()):
            with Image.open(source) as opened:
                image = opened.convert("RGB")
            w, h = image.size
            scale = (CAMERA_PIXELS / (w * h)) ** 0.5
            camera = image.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
            camera.save(derived["camera-12MP"], quality=92, subsampling="4:2:0")
            crop = image.crop((w // 5, h // 5, w - w // 5, h - h // 5))
            crop.save(derived["crop-60%"], quality=85)
            web = image.copy()
            web.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
            web.save(derived["web-1280"], quality=80)
        result.extend(derived.items())
    return result


def other_formats() -> list[tuple[str, Path]]:
    """The PNG and WebP wallpapers installed beside the JPEGs: drawings and textures."""
    found = sorted(p for p in SOURCES.rglob("*") if p.suffix.lower() in (".png", ".webp"))
    return [(p.suffix.lower().lstrip("."), p) for p in found]


def reencoded_drift(path: Path) -> int:
    """Bits the baseline hash moves when the image is saved once more as a JPEG of quality 90."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    again, _ = pdqhash.compute(np.asarray(Image.open(buffer).convert("RGB")))
    return distance(bits_to_hex(again), baseline(path)[0])


def is_progressive(path: Path) -> bool:
    with Image.open(path) as image:
        return bool(image.info.get("progressive"))


def megapixels(path: Path) -> float:
    with Image.open(path) as image:
        return image.width * image.height / 1e6


# --------------------------------------------------------------------------- measuring


def pin(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def one_core(
    images: list[tuple[str, Path]], methods: list[str], repeat: int
) -> tuple[dict[str, list[float]], dict[str, dict[Path, tuple[str, int]]]]:
    """Seconds per image for every method, interleaved image by image; and the hashes."""
    seconds: dict[str, list[float]] = {m: [0.0] * len(images) for m in methods}
    hashes: dict[str, dict[Path, tuple[str, int]]] = {m: {} for m in methods}
    runs = {m: _method(m) for m in methods}
    for method in methods:  # warm up: imports, caches, page cache
        runs[method](images[0][1])
    for r in range(repeat):
        for i, (_, path) in enumerate(images):
            order = methods if (i + r) % 2 == 0 else methods[::-1]
            for method in order:
                start = time.perf_counter()
                hashes[method][path] = runs[method](path)
                seconds[method][i] += time.perf_counter() - start
    for method in methods:
        seconds[method] = [s / repeat for s in seconds[method]]
    return seconds, hashes


def _pool_init(counter: Any, cpus: list[int]) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    pin(cpus[index % len(cpus)])


def _pool_job(job: tuple[str, str]) -> tuple[str, int]:
    method, path = job
    return _method(method)(Path(path))


def pools(
    images: list[tuple[str, Path]], methods: list[str], repeat: int, cpus: list[int]
) -> dict[tuple[str, int], float]:
    """Images/s with 1 process and with len(cpus) processes, each pinned to its own core.

    The two pools run alternately, method by method, so that both meet the same outside load.
    """
    context = multiprocessing.get_context("fork")
    rates: dict[tuple[str, int], list[float]] = {}
    sizes = (1, len(cpus))
    opened = {
        n: context.Pool(n, initializer=_pool_init, initargs=(context.Value("i", 0), cpus[:n]))
        for n in sizes
    }
    try:
        for n, pool in opened.items():  # warm up
            pool.map(_pool_job, [(m, str(images[0][1])) for m in methods for _ in range(n)])
        for r in range(repeat):
            for method in methods if r % 2 == 0 else methods[::-1]:
                for n in sizes if r % 2 == 0 else sizes[::-1]:
                    jobs = [(method, str(path)) for _, path in images]
                    start = time.perf_counter()
                    opened[n].map(_pool_job, jobs, chunksize=1)
                    rate = len(jobs) / (time.perf_counter() - start)
                    rates.setdefault((method, n), []).append(rate)
    finally:
        for pool in opened.values():
            pool.close()
            pool.join()
    return {key: statistics.median(values) for key, values in rates.items()}


def dihedral_cost(paths: list[Path], repeat: int = 20) -> list[tuple[str, float, float]]:
    """ms per image: pdqhash compute vs compute_dihedral; needle's hash without vs with."""
    rows = []
    for path in paths:
        with Image.open(path) as opened:
            array = np.asarray(opened.convert("RGB"))
        decoded = decode_image(path.read_bytes(), draft_size=PDQ_DRAFT_SIZE)
        pairs = [
            ("pdqhash.compute", lambda a=array: pdqhash.compute(a)),
            ("pdqhash.compute_dihedral", lambda a=array: pdqhash.compute_dihedral(a)),
            ("needle hash, 1 hash", lambda d=decoded: _PLAIN.hash_image(d)),
            ("needle hash, 8 hashes", lambda d=decoded: _PDQ.hash_image(d)),
        ]
        for name, fn in pairs:
            times = []
            for _ in range(repeat if not name.startswith("pdqhash") else max(3, repeat // 5)):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            label = f"{name} ({megapixels(path):.1f} MP)"
            rows.append((label, min(times) * 1e3, statistics.median(times) * 1e3))
    return rows


# --------------------------------------------------------------------------- report


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/needle-bench-pdq"))
    parser.add_argument("--repeat", type=int, default=2, help="passes over the photos")
    parser.add_argument(
        "--drafts",
        default=f"{PDQ_DRAFT_SIZE},512,128,full",
        help="needle draft sizes to compare, the first one in detail ('full': no draft)",
    )
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args(argv)

    cpus = sorted(os.sched_getaffinity(0))
    load_before = uptime()
    images = photos(args.workdir)
    drafts = [d.strip() for d in args.drafts.split(",") if d.strip()]
    methods = ["baseline", *(f"needle-{d}" for d in drafts), "resize-512"]
    main_method = f"needle-{drafts[0]}"
    sizes = {path: megapixels(path) for _, path in images}
    turned = sum(decode_image(p.read_bytes(), draft_size=64).orientation != 1 for _, p in images)
    progressive = sum(is_progressive(p) for _, p in images)
    kinds = sorted({kind for kind, _ in images})

    pin(cpus[0])
    print(f"{len(images)} photos, one core (cpu {cpus[0]}), {args.repeat} passes ...", flush=True)
    seconds, hashes = one_core(images, methods, args.repeat)
    pool_rates: dict[tuple[str, int], float] = {}
    if len(cpus) >= 2:
        print(f"pool of 2 on cpus {cpus[:2]} ...", flush=True)
        pool_rates = pools(images, ["baseline", main_method], args.repeat, cpus[:2])
    others = other_formats()
    other_seconds: dict[str, list[float]] = {}
    other_hashes: dict[str, dict[Path, tuple[str, int]]] = {}
    if others:
        print(f"{len(others)} PNG and WebP images, one core ...", flush=True)
        other_seconds, other_hashes = one_core(others, ["baseline", main_method], 1)
    big = max((p for _, p in images), key=lambda p: sizes[p])
    small = min((p for kind, p in images if kind == "web-1280"), key=lambda p: sizes[p])
    dihedral = dihedral_cost([big, small])
    load_after = uptime()

    # --- tables
    base = hashes["baseline"]
    lines = [
        "| path | images/s, 1 core | × baseline | ms/image, median | max / mean distance to baseline | quality ≥ 80 over 10 bits |",
        "|---|---|---|---|---|---|",
    ]
    # the headline is the installed photos as they are; derived ones are rows further down
    head = [i for i, (kind, _) in enumerate(images) if kind.startswith("installed")]
    total_base = sum(seconds["baseline"][i] for i in head)
    for method in methods:
        total = sum(seconds[method][i] for i in head)
        rate = len(head) / total
        dists = [distance(hashes[method][images[i][1]][0], base[images[i][1]][0]) for i in head]
        good = [d for i, d in zip(head, dists, strict=True) if base[images[i][1]][1] >= 80]
        over = sum(d > TOLERANCE for d in good)
        if method == "baseline":
            label = "baseline: Pillow full decode → RGB → numpy → pdqhash.compute"
        elif method == "resize-512":
            label = "resize, then pdqhash: draft decode → box-resize to 512 → pdqhash.compute"
        else:
            draft = method.split("-")[1].replace("full", "None")
            label = f"needle: decode_image(draft_size={draft}) → PDQ, 8 variants"
        lines.append(
            f"| {label} | {rate:.1f} | {total_base / total:.2f} | "
            f"{statistics.median(seconds[method][i] for i in head) * 1e3:.0f} | "
            f"{max(dists)} / {statistics.mean(dists):.2f} | {over} of {len(good)} |"
        )
    per_kind = [
        "| photos | count | megapixels | baseline ms/image | needle ms/image | × baseline | max distance |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        idx = [i for i, (k, _) in enumerate(images) if k == kind]
        mps = [sizes[images[i][1]] for i in idx]
        b = sum(seconds["baseline"][i] for i in idx) / len(idx)
        n = sum(seconds[main_method][i] for i in idx) / len(idx)
        worst = max(
            distance(hashes[main_method][images[i][1]][0], base[images[i][1]][0]) for i in idx
        )
        per_kind.append(
            f"| {kind} | {len(idx)} | {min(mps):.1f}–{max(mps):.1f} | {b * 1e3:.0f} | "
            f"{n * 1e3:.1f} | {b / n:.1f} | {worst} |"
        )
    pool_lines = []
    if pool_rates:
        pool_lines = [
            "| path | 1 process, images/s | 2 processes, images/s | gain |",
            "|---|---|---|---|",
        ]
        for method in ("baseline", main_method):
            one, two = pool_rates[(method, 1)], pool_rates[(method, 2)]
            pool_lines.append(f"| {method} | {one:.1f} | {two:.1f} | {two / one:.2f}× |")
    dih_lines = [
        "| hashing only (image already decoded) | ms, best | ms, median |",
        "|---|---|---|",
    ]
    dih_lines += [f"| {name} | {best:.2f} | {med:.2f} |" for name, best, med in dihedral]

    other_lines: list[str] = []
    if others:
        other_lines = [
            "| format | count | megapixels | baseline ms/image | needle ms/image | × baseline "
            "| max distance (quality ≥ 80) |",
            "|---|---|---|---|---|---|---|",
        ]
        flagged: list[str] = []
        for fmt in sorted({kind for kind, _ in others}):
            idx = [i for i, (k, _) in enumerate(others) if k == fmt]
            paths = [others[i][1] for i in idx]
            b = statistics.mean(other_seconds["baseline"][i] for i in idx)
            n = statistics.mean(other_seconds[main_method][i] for i in idx)
            good_paths = [p for p in paths if other_hashes["baseline"][p][1] >= 80]
            other_dists = {
                p: distance(other_hashes[main_method][p][0], other_hashes["baseline"][p][0])
                for p in good_paths
            }
            mps = [megapixels(p) for p in paths]
            other_lines.append(
                f"| {fmt.upper()} | {len(idx)} ({len(good_paths)} of quality ≥ 80) | "
                f"{min(mps):.1f}–{max(mps):.1f} | {b * 1e3:.0f} | {n * 1e3:.1f} | {b / n:.1f} | "
                f"{max(other_dists.values(), default=0)} |"
            )
            flagged += [
                f"`{p.name}` {d} bits (a JPEG re-save at quality 90 moves the baseline's own "
                f"hash {reencoded_drift(p)} bits)"
                for p, d in sorted(other_dists.items(), key=lambda kv: -kv[1])
                if d > TOLERANCE
            ]
        if flagged:
            other_lines += ["", "Over 10 bits: " + "; ".join(flagged) + "."]

    low = [p for _, p in images if base[p][1] < 80]
    command = "python bench/pdq_throughput.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = "\n".join(
        [
            SECTION,
            "",
            f"Command: `{command.strip()}` on {len(cpus)} CPUs ({cpu_model()}), Python "
            f"{platform.python_version()}, Pillow {PIL.__version__} (libjpeg-turbo "
            f"{features.version('jpg')}), numpy {np.__version__}, pdqhash "
            f"{pdqhash.__version__}. {args.repeat} passes, images interleaved. Other work "
            f"shared the machine: load before `{load_before}`, after `{load_after}`.",
            "",
            f"Photos: {len(images)} JPEGs, {min(sizes.values()):.1f}–{max(sizes.values()):.1f} "
            f"megapixels: the {sum(k.startswith('installed') for k, _ in images)} JPEGs of Debian's "
            "mate-backgrounds and gnome-backgrounds, and from each a 12.2-megapixel camera-like "
            "copy (Lanczos, mostly upscaled, quality 92), a centre crop of 60 % of each side "
            "(quality 85) and a 1280-pixel web copy (quality 80). "
            f"{progressive} are progressive. "
            f"{len(low)} have quality < 80 in the baseline; {turned} carry an EXIF orientation "
            "(the baseline ignores it, needle turns the photo upright).",
            "",
            "Headline, the installed photos exactly as installed, one core (the process "
            "pinned, one BLAS thread; in process: decode and hash, no start-up; the command end "
            'to end is in "needle hash end to end"):',
            "",
            *lines,
            "",
            f"By kind of photo (installed ones broken out by coding; derived ones are "
            f"secondary rows), needle at draft size {main_method.split('-')[1]}:",
            "",
            *per_kind,
            "",
            *(
                [
                    "Two cores: a pool of 1 process and a pool of 2, each process pinned to its own "
                    "core, run alternately (median of the passes):",
                    "",
                    *pool_lines,
                    "",
                ]
                if pool_lines
                else []
            ),
            "What the 8 dihedral variants cost (largest and smallest photo):",
            "",
            *dih_lines,
            "",
            *(
                [
                    f"Not photos, not JPEG: the PNG and WebP wallpapers of the same packages "
                    f"(drawings and synthetic textures, alpha dropped by both paths), one pass, "
                    f"needle at draft size {main_method.split('-')[1]} (decoded in full, then "
                    "block-averaged):",
                    "",
                    *other_lines,
                    "",
                ]
                if other_lines
                else []
            ),
            NOTES,
            "",
        ]
    )
    print()
    print(text)
    if not args.no_doc:
        write_section(DOC, SECTION, text + "\n")
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
