"""Crops against a bank built from media (``needle bank add NAME FILE``): which crops of a
listed picture a scan finds, with the PDQ hashes of the picture's parts
(``needle.signals.regions.BANK_REGIONS``) and, as the baseline measured in the same run,
without them (one PDQ a picture, all a hash list from elsewhere holds).

Inputs: the JPEG, PNG and WebP files of Debian's wallpaper packages as installed
(``apt-get install mate-backgrounds gnome-backgrounds``) and, when ``../shared/testdata`` is
there, the PDQ reference photos (``labelme-subset``, ``bridge-mods/aaa-orig.jpg``). Each is
added as ``bank add`` adds it (``entries_from_bytes``); pictures whose whole-picture PDQ is
under the quality floor are left out and named. Each crop is saved as JPEG quality 85 and
hashed and matched as a scan does (``compute_file``, then ``Matcher`` with the PDQ
variants). Found: a match to the picture's own entries. Other:
files whose crop matched another file's entries (the packages ship some pictures at several
sizes and in colour variants: those pairs are named).

    .venv/bin/python bench/bank_crops.py            # writes "## Banks built from media: crops"
    .venv/bin/python bench/bank_crops.py --no-write

Memory: one picture and its crops at a time, plus the hashes.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import PHOTO_DIRS, cut_sides, real_photos, uptime, write_section  # noqa: E402
from needle.banks.from_media import entries_from_bytes  # noqa: E402
from needle.banks.model import Bank, BankEntry  # noqa: E402
from needle.match import Matcher  # noqa: E402
from needle.media import Item  # noqa: E402
from needle.pipeline.worker import compute_file  # noqa: E402
from needle.signals import Signal  # noqa: E402
from needle.signals.pdq import PDQ_MATCH_DISTANCE, PDQ_QUALITY_FLOOR  # noqa: E402
from needle.signals.regions import BANK_REGIONS  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
SECTION = "## Banks built from media: crops"
SHARED = ROOT.parent / "shared" / "testdata" / "pdq"

#: crops as (left, top, right, bottom) fractions cut off the picture
CROPS: dict[str, tuple[float, float, float, float]] = {
    "2.5 % off every side": (0.025, 0.025, 0.025, 0.025),
    "5 % off every side": (0.05, 0.05, 0.05, 0.05),
    "6.25 % off every side": (0.0625, 0.0625, 0.0625, 0.0625),
    "7.5 % off every side": (0.075, 0.075, 0.075, 0.075),
    "10 % off every side": (0.10, 0.10, 0.10, 0.10),
    "10 % off the top": (0.0, 0.10, 0.0, 0.0),
    "10 % off the bottom": (0.0, 0.0, 0.0, 0.10),
    "10 % off the left": (0.10, 0.0, 0.0, 0.0),
    "10 % off the right": (0.0, 0.0, 0.10, 0.0),
    "5 % off the top": (0.0, 0.05, 0.0, 0.0),
    "10 % off top and left": (0.10, 0.10, 0.0, 0.0),
}


def _files() -> list[Path]:
    files = real_photos((".jpg", ".jpeg", ".png", ".webp"))
    if SHARED.is_dir():
        files += sorted((SHARED / "reg-test-input" / "labelme-subset").glob("*.jpg"))
        files.append(SHARED / "bridge-mods" / "aaa-orig.jpg")
    return files


def _crop(image: Image.Image, cut: tuple[float, float, float, float]) -> bytes:
    buffer = io.BytesIO()
    cut_sides(image, *cut).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _scan_signals(data: bytes) -> Mapping[str, Signal]:
    """The signals a scan computes for the file (``compute_file``, hashes only)."""
    return compute_file(Item("crop.jpg", len(data), data=data)).signals


@dataclass
class Measured:
    files: list[Path] = field(default_factory=list)
    low_quality: list[Path] = field(default_factory=list)
    regions: int = 0
    #: per crop, the crop's scan signals of each file (in ``files`` order)
    crops: dict[str, list[Mapping[str, Signal]]] = field(
        default_factory=lambda: {c: [] for c in CROPS}
    )
    entries: list[list[BankEntry]] = field(default_factory=list)


def measure(files: list[Path]) -> Measured:
    out = Measured()
    for path in files:
        data = path.read_bytes()
        made = entries_from_bytes(data, path.name)
        if not any(e.signal_type == "pdq" and e.region is None for e in made.entries):
            out.low_quality.append(path)
            continue
        out.files.append(path)
        out.regions += made.regions
        out.entries.append([e for e in made.entries if e.signal_type == "pdq"])
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        for name, cut in CROPS.items():
            out.crops[name].append(_scan_signals(_crop(image, cut)))
    return out


def _found(m: Measured, regions: bool) -> dict[str, tuple[int, list[tuple[int, int]]]]:
    """Per crop: how many files matched their own picture, and (file, other) wrong pairs."""
    entries = [
        BankEntry(e.signal_type, e.value, (), {"file": str(i), **e.meta})
        for i, own in enumerate(m.entries)
        for e in own
        if regions or e.region is None
    ]
    matcher = Matcher([Bank("bench", entries, PDQ_MATCH_DISTANCE)])
    out = {}
    for name, signals in m.crops.items():
        found, other = 0, []
        for i, hits in enumerate(matcher.match_many(signals)):
            owners = {int(entries[h.entry_id].meta["file"]) for h in hits if h.entry_id is not None}
            found += i in owners
            other += [(i, j) for j in sorted(owners - {i})]
        out[name] = (found, other)
    return out


def _name(path: Path) -> str:
    root = next((d for d in PHOTO_DIRS if path.is_relative_to(d)), path.parent)
    return str(path.relative_to(root))


def render(m: Measured) -> str:
    n = len(m.files)
    base, withr = _found(m, regions=False), _found(m, regions=True)
    skipped = ", ".join(_name(p) for p in m.low_quality) or "none"
    names = ", ".join(f"{r.name}" for r in BANK_REGIONS)
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bank_crops.py` ({n + len(m.low_quality)} pictures: "
        "the JPEG, PNG and WebP wallpapers as installed and the PDQ reference photos; load "
        f"before: `{uptime()}`).",
        "",
        "Each picture is added as `needle bank add` adds it: whole-picture PDQ and the PDQ of "
        f"its parts ({names}), {m.regions} part hashes for {n} pictures (under quality "
        f"{PDQ_QUALITY_FLOOR} left out). Each crop is saved as JPEG quality 85 and matched as "
        f"a scan matches it, at distance {PDQ_MATCH_DISTANCE}. Baseline: the same bank "
        "without the part hashes (one PDQ a picture, what a hash list from elsewhere holds). "
        f"Left out, whole-picture PDQ under quality {PDQ_QUALITY_FLOOR}: {skipped}.",
        "",
        "| crop | found, whole-picture PDQ only | found, with parts | matched another file |",
        "|---|---:|---:|---:|",
    ]
    pairs: set[tuple[int, int]] = set()
    for name in CROPS:
        other = withr[name][1]
        pairs.update((min(i, j), max(i, j)) for i, j in other)
        lines.append(f"| {name} | {base[name][0]}/{n} | {withr[name][0]}/{n} | {len(other)} |")
    named = "; ".join(f"{_name(m.files[i])} ~ {_name(m.files[j])}" for i, j in sorted(pairs))
    lines += [
        "",
        f"Other files matched (the same picture at another size, or a colour variant): "
        f"{named or 'none'}.",
        "",
        "A part's hash finds the crops that keep about that part: those 1.25 % a side off it "
        "(6.25 % off every side) about half the time, 2.5 % off (2.5 % and 7.5 % off every "
        "side) next to never. Crops off the left or the right, or off two adjacent sides, keep "
        "no stored part and are not found.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)
    files = _files()
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
