"""Trace-back by perceptual hash: how far the PDQ hash of a whole image survives the edits a
found copy has been through (issue 17 asks for this measurement before trace-back is built).

Inputs: every JPEG and PNG of Debian's wallpaper packages exactly as installed
(``apt-get install mate-backgrounds``), each standing for a generator's output. For each, the
PDQ hash of the whole image is compared with that of an edited copy: JPEG re-encode at quality
85; crops keeping 95 % and 90 % of each side, centred, from a corner and from one side; half
size; a PNG with a 20-pixel border. A copy is "found" when the distance is at most 31 (PDQ's
usual threshold). Unrelated pairs (each image against every other) give the false-trace side;
the pairs within the threshold are named (the package ships some pictures at several sizes
and in colour variants). Images whose own hash has a PDQ quality under 50 are left out and
named, as needle's matcher leaves such hashes out (PDQ's authors call them unreliable).

    .venv/bin/python bench/trace_crops.py            # writes "## Trace-back: whole-image PDQ"
    .venv/bin/python bench/trace_crops.py --no-write

Memory: one image and its edits at a time.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import PHOTO_DIRS, real_photos, uptime, write_section  # noqa: E402
from needle.match.pdq import hamming_distances  # noqa: E402
from needle.signals.pdq import PDQ_QUALITY_FLOOR, pdq_hash_pixels  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
SECTION = "## Trace-back: whole-image PDQ under edits"
THRESHOLD = 31


def _reencoded(image: Image.Image, fmt: str, **options: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop(keep: float, where: str) -> Callable[[Image.Image], Image.Image]:
    def edit(image: Image.Image) -> Image.Image:
        w, h = image.size
        cut_w, cut_h = round(w * (1 - keep)), round(h * (1 - keep))
        if where == "centred":
            box = (cut_w // 2, cut_h // 2, w - (cut_w - cut_w // 2), h - (cut_h - cut_h // 2))
        elif where == "corner":
            box = (cut_w, cut_h, w, h)
        else:  # one side: the left strip only
            box = (cut_w, 0, w, h)
        return image.crop(box)

    return edit


EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "JPEG quality 85": lambda im: _reencoded(im, "JPEG", quality=85),
    "crop to 95 %, centred": _crop(0.95, "centred"),
    "crop to 95 %, from a corner": _crop(0.95, "corner"),
    "crop to 90 %, centred": _crop(0.90, "centred"),
    "crop to 90 %, from a corner": _crop(0.90, "corner"),
    "crop to 90 %, one side": _crop(0.90, "side"),
    "half size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
    "PNG with a 20-px border": lambda im: _reencoded(
        ImageOps.expand(im, 20, fill=(240, 240, 240)), "PNG"
    ),
}


def _pdq(image: Image.Image) -> str:
    return pdq_hash_pixels(image, dihedral=False).value


@dataclass
class Measured:
    files: list[Path] = field(default_factory=list)
    low_quality: list[Path] = field(default_factory=list)
    distances: dict[str, list[int]] = field(default_factory=lambda: {n: [] for n in EDITS})
    unrelated: list[int] = field(default_factory=list)
    close: list[tuple[Path, Path, int]] = field(default_factory=list)


def measure(files: list[Path]) -> Measured:
    out = Measured()
    originals: list[str] = []
    for path in files:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        signal = pdq_hash_pixels(image, dihedral=False)
        if (signal.quality or 0) < PDQ_QUALITY_FLOOR:
            out.low_quality.append(path)
            continue
        out.files.append(path)
        originals.append(signal.value)
        for name, edit in EDITS.items():
            distance = hamming_distances([_pdq(edit(image))], [signal.value]).min()
            out.distances[name].append(int(distance))
    for i, a in enumerate(originals):
        for j in range(i + 1, len(originals)):
            distance = int(hamming_distances([a], [originals[j]]).min())
            out.unrelated.append(distance)
            if distance <= THRESHOLD:
                out.close.append((out.files[i], out.files[j], distance))
    return out


def _name(path: Path) -> str:
    root = next((d for d in PHOTO_DIRS if path.is_relative_to(d)), path.parent)
    return str(path.relative_to(root))


def render(m: Measured) -> str:
    n = len(m.files)
    skipped = ", ".join(_name(p) for p in m.low_quality) or "none"
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/trace_crops.py` ({n + len(m.low_quality)} JPEG and "
        f"PNG wallpapers of {' and '.join(map(str, PHOTO_DIRS))} as installed; load before: "
        f"`{uptime()}`).",
        "",
        "Each wallpaper stands for a generator's output; the PDQ hash of the whole image is "
        "compared with the whole-image hash of an edited copy. Found: distance at most "
        f"{THRESHOLD}. Left out, their own hash under PDQ quality {PDQ_QUALITY_FLOOR}: "
        f"{skipped}.",
        "",
        "| edit | found | median distance | largest distance |",
        "|---|---:|---:|---:|",
    ]
    for name, values in m.distances.items():
        ordered = sorted(values)
        found = sum(d <= THRESHOLD for d in values)
        lines.append(f"| {name} | {found}/{n} | {ordered[n // 2]} | {ordered[-1]} |")
    pairs = "; ".join(f"{_name(a)} ~ {_name(b)} ({d})" for a, b, d in m.close) or "none"
    lines += [
        "",
        f"Pairs of different files: {len(m.unrelated)}, of which {len(m.close)} within "
        f"{THRESHOLD}: {pairs}.",
        "",
        "So the whole-image hash alone does not trace a cropped or bordered copy: trace-back "
        'needs hashes of regions that a crop keeps: see "Trace-back: window hashes under '
        'edits".',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)
    files = real_photos((".jpg", ".jpeg", ".png"))
    if not files:
        print("no wallpapers installed: apt-get install mate-backgrounds")
        return 1
    text = render(measure(files))
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
