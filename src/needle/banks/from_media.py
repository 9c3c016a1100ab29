"""Bank entries computed from media files: what ``needle bank add NAME FILE`` stores.

In: an image file's path (or its bytes and a name). Out: ``MediaEntries``: the file's md5
and sha256, the PDQ of the whole picture and the PDQ of each part in
``needle.signals.regions.BANK_REGIONS``, as ``BankEntry`` values, or a ``MediaError`` saying
why the file could not be read or decoded.

The steps, as a scan takes them (``needle.pipeline.worker``), so that the values are the ones
a scan computes for the same file: read the bytes within ``Limits``; decode once, reduced to
``DECODE_SIZE`` on the short side (JPEG DCT-domain draft); md5, sha256 and PDQ with
``compute_signals``; then the regions' PDQ (``region_signals``). A PDQ hash whose quality is
under the floor is left out and reported in ``skipped``: the matcher does not match such
hashes of a scanned file either, as PDQ's authors consider them unreliable. Every entry's meta names the file
(``META_SOURCE_FILE``, the name without its folder) and its sha256 (``META_SOURCE_SHA256``);
a region's entry also names the region (``META_REGION``), which the matcher reports as a
``crop`` match.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from needle.banks.model import META_REGION, META_SOURCE_FILE, META_SOURCE_SHA256, BankEntry
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.media.reading import read_regular
from needle.signals import compute_signals
from needle.signals.pdq import PDQ_QUALITY_FLOOR
from needle.signals.regions import BANK_REGIONS, Region, region_signals

__all__ = [
    "DECODE_SIZE",
    "WHOLE_PICTURE",
    "MediaEntries",
    "SkippedHash",
    "entries_from_bytes",
    "entries_from_file",
]

#: what a skipped whole-picture PDQ is called in ``SkippedHash.part``
WHOLE_PICTURE = "whole picture"
#: short side the picture is decoded to (at least; ``decode_image``'s ``draft_size``): twice
#: what PDQ needs of a whole picture (``PDQ_DRAFT_SIZE``), so that a part of 80 % of a side
#: still has 400 pixels; parts hashed so are within 2 bits of the same parts cut from the
#: full-size picture (tests/banks/test_banks_from_media.py), and a large JPEG is decoded at
#: 1/2 to 1/8 of its size
DECODE_SIZE = 512
#: the digests stored per file (a scan computes these, and sha1, from the bytes)
DIGESTS = ("md5", "sha256")


@dataclass(frozen=True)
class SkippedHash:
    """A PDQ hash left out: of which ``part`` (a region's name, or ``WHOLE_PICTURE``) and its
    ``quality``, under ``floor``."""

    part: str
    quality: int
    floor: int


@dataclass(frozen=True)
class MediaEntries:
    """What one file gives a bank: ``entries`` (digests, whole-picture PDQ, then ``regions``
    region hashes) and the PDQ hashes ``skipped`` for their quality."""

    name: str
    entries: tuple[BankEntry, ...]
    regions: int
    skipped: tuple[SkippedHash, ...] = ()


def entries_from_file(
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] = (),
    regions: Iterable[Region] = BANK_REGIONS,
    limits: Limits = DEFAULT_LIMITS,
    quality_floor: int = PDQ_QUALITY_FLOOR,
) -> MediaEntries:
    """The entries of the image file at ``path`` (a link given by name is followed); raises a
    ``MediaError`` when it cannot be read or decoded, so nothing of it is stored."""
    real = os.path.realpath(path)
    data = read_regular(real, limits)
    return entries_from_bytes(
        data,
        os.path.basename(os.fspath(path)),
        labels=labels,
        regions=regions,
        limits=limits,
        quality_floor=quality_floor,
    )


def entries_from_bytes(
    data: bytes,
    name: str,
    *,
    labels: Sequence[str] = (),
    regions: Iterable[Region] = BANK_REGIONS,
    limits: Limits = DEFAULT_LIMITS,
    quality_floor: int = PDQ_QUALITY_FLOOR,
) -> MediaEntries:
    """The entries of one image's bytes, ``name`` being its file name; raises a ``MediaError``
    when the bytes are not an image needle can decode."""
    image = decode_image(data, limits=limits, draft_size=DECODE_SIZE)
    signals = compute_signals(data, image, (*DIGESTS, "pdq"))
    source = {META_SOURCE_FILE: name, META_SOURCE_SHA256: signals["sha256"].value}
    kept = tuple(labels)
    entries = [BankEntry(kind, signals[kind].value, kept, dict(source)) for kind in DIGESTS]
    skipped = []
    pdq = signals["pdq"]
    quality = pdq.quality or 0
    if quality >= quality_floor:
        entries.append(BankEntry("pdq", pdq.value, kept, dict(source)))
    else:
        skipped.append(SkippedHash(WHOLE_PICTURE, quality, quality_floor))
    count = 0
    for part in region_signals(image, regions):
        quality = part.signal.quality or 0
        if quality < quality_floor:
            skipped.append(SkippedHash(part.region.name, quality, quality_floor))
            continue
        meta = {**source, META_REGION: part.region.name}
        entries.append(BankEntry("pdq", part.signal.value, kept, meta))
        count += 1
    return MediaEntries(name, tuple(entries), count, tuple(skipped))
