"""PDQ of parts of a picture, so that a bank built from the picture also finds crops of it.

In: a ``DecodedImage`` (as ``decode_image`` gives it, possibly reduced) and ``Region`` s, each
a rectangle given as fractions of the upright picture's width and height. Out: one
``RegionSignal`` per region: the region and the PDQ ``Signal`` (value and quality) of that
part of the picture.

Why: a scan computes one PDQ of the whole file. A copy cropped by 5 % on each side moves
every cell of PDQ's 64 x 64 grid, and its hash lands 60-100 bits from the original's: no
match at 31 (``bench/bank_crops.py``). The same PDQ computed on the matching part of the
original lands within a few bits of the crop's. So a bank built from the media itself
stores, besides the whole-picture hash, the hashes of the parts that common crops keep
(``BANK_REGIONS``); a crop then matches the stored part.

How: the region is cut from the decoded pixels and hashed as a picture of its own with
``pdq_hash``, taking account of the reduction ``decode_image`` applied, exactly as a scan
hashes a cropped file: each reduced pixel stands for ``scale`` x ``scale`` pixels of the
original. (``needle.genguard.windows`` hashes windows its own way, from cell means and in its
own bit order, to look up thousands at once; even in PDQ's bit order its hash of a part sits a
median 6 and up to 42 bits from PDQ of the same part, so it cannot stand in for PDQ in a bank
that scans match.)

Limits: PDQ moves with 1-2 % of shift a side, so a stored region finds only crops that keep
about that region. Measured on 40 photos and wallpapers (crops as JPEG q85): a crop 1.25 %
a side away from the region's edges on both ends of each axis was found for about half of
them, 2.5 % away for 1 in 40; with one end moving, 1.25 % away for 9 in 10, 2.5 % away for
1 in 4. Crops between the stored regions, at other positions, or rotated are not found.
Hash lists from elsewhere hold one PDQ per picture, so they cannot give this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from needle.media.image import DecodedImage
from needle.signals.base import Signal
from needle.signals.pdq import pdq_hash

__all__ = ["BANK_REGIONS", "Region", "RegionSignal", "crop_region", "region_signals"]


@dataclass(frozen=True)
class Region:
    """A rectangle of the upright picture: ``left`` to ``right`` of its width and ``top`` to
    ``bottom`` of its height, as fractions (0 to 1). ``name`` says what it is in reports."""

    name: str
    left: float
    top: float
    right: float
    bottom: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.left < self.right <= 1.0 and 0.0 <= self.top < self.bottom <= 1.0):
            raise ValueError(f"region {self.name!r} is not a rectangle inside the picture")

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region in pixels of a ``width`` x ``height`` picture (Pillow's crop box)."""
        return (
            round(self.left * width),
            round(self.top * height),
            round(self.right * width),
            round(self.bottom * height),
        )


@dataclass(frozen=True)
class RegionSignal:
    """The PDQ ``signal`` of one ``region`` of a picture."""

    region: Region
    signal: Signal


#: What a bank built from media stores per picture besides its whole-picture PDQ, chosen with
#: bench/bank_crops.py (40 photos and wallpapers of quality >= 50; crops saved as JPEG q85):
#: each region finds the crop that keeps it (36-40 of 40) and next to nothing else, as PDQ
#: tolerates only 1-2.5 % of shift a side, so each crop to be found costs one hash. The two
#: centred regions find 5 % and 10 % cut from every side; of the four one-sided 10 % crops,
#: the two that cut a strip off the top or the bottom (captions, watermarks, status bars)
#: are kept, off the left or the right are not found. Four regions: a bank of pictures holds
#: five PDQ hashes per picture.
BANK_REGIONS: tuple[Region, ...] = (
    Region("centre 90%", 0.05, 0.05, 0.95, 0.95),
    Region("centre 80%", 0.10, 0.10, 0.90, 0.90),
    Region("top 90%", 0.0, 0.0, 1.0, 0.90),
    Region("bottom 90%", 0.0, 0.10, 1.0, 1.0),
)


def crop_region(image: DecodedImage, region: Region) -> DecodedImage | None:
    """The part ``region`` of ``image`` as a picture of its own, upright, at the same reduction
    (so ``pdq_hash`` filters it as it would a file of that part); None when it has no pixel."""
    pixels = image.image
    left, top, right, bottom = region.box(pixels.width, pixels.height)
    if right <= left or bottom <= top:
        return None
    part = pixels.crop((left, top, right, bottom))
    scale = image.scale
    return DecodedImage(
        image=part,
        format=image.format,
        width=part.width * scale,
        height=part.height * scale,
        frames=image.frames,
        scale=scale,
        orientation=1,
    )


def region_signals(
    image: DecodedImage, regions: Iterable[Region] = BANK_REGIONS
) -> list[RegionSignal]:
    """The PDQ of each region of ``image`` (no dihedral variants: a scan computes those for
    the file it matches). Quality is left for the caller to judge; a region too small to
    hash has quality 0, as PDQ gives such pictures."""
    out = []
    for region in regions:
        part = crop_region(image, region)
        signal = (
            Signal("pdq", "0" * 64, 0)
            if part is None
            else pdq_hash(part, dihedral=False, trim=False)
        )
        out.append(RegionSignal(region, signal))
    return out
