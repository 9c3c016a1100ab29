"""Bank entries computed from media files: what ``needle bank add NAME FILE`` stores.

In: an image or video file's path (or an image's bytes and a name). Out: ``MediaEntries``:
for an image, the file's md5 and sha256, the PDQ of the whole picture and the PDQ of each
part in ``needle.signals.regions.BANK_REGIONS``; for a video, the file's md5 and sha256 and
its vPDQ; as ``BankEntry`` values, or a ``MediaError`` saying why the file could not be read
or decoded.

Whether a file is a video is told by its first bytes (``needle.media.video.is_video``), never
by its name. A video is streamed from disk, never read whole: its md5 (HMA's ``video_md5``)
and sha256 of the bytes, and ``hash_video`` one frame a second (the reference's and
python-threatexchange's default), every sampled frame kept whatever its quality (the
matcher drops those under its floor, as python-threatexchange does), as one ``vpdq`` entry
whose value is the canonical compact list (``needle.signals.vpdq_exchange.vpdq_value``).
Hashing a video needs PyAV (the ``video`` extra): without it, ``OptionalDependencyError``.

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

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from needle.banks.model import META_REGION, META_SOURCE_FILE, META_SOURCE_SHA256, BankEntry
from needle.errors import MediaError, MediaTooLarge
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.media.reading import open_regular, read_chunks, read_regular
from needle.media.video import SNIFF_BYTES, is_video
from needle.signals import compute_signals
from needle.signals.pdq import PDQ_QUALITY_FLOOR
from needle.signals.regions import BANK_REGIONS, Region, region_signals
from needle.signals.vpdq import hash_video
from needle.signals.vpdq_exchange import VPDQ_MAX_FRAMES, VPDQ_SIGNAL, vpdq_value

__all__ = [
    "BANK_SECONDS_PER_HASH",
    "DECODE_SIZE",
    "WHOLE_PICTURE",
    "MediaEntries",
    "SkippedHash",
    "entries_from_bytes",
    "entries_from_file",
    "entries_from_video",
]

#: what a skipped whole-picture PDQ is called in ``SkippedHash.part``
WHOLE_PICTURE = "whole picture"
#: short side the picture is decoded to (at least; ``decode_image``'s ``draft_size``): twice
#: what PDQ needs of a whole picture (``PDQ_DRAFT_SIZE``), so that a part of 80 % of a side
#: still has 400 pixels; parts hashed so are within 2 bits of the same parts cut from the
#: full-size picture (tests/banks/test_banks_from_media.py), and a large JPEG is decoded at
#: 1/2 to 1/8 of its size
DECODE_SIZE = 512
#: a banked video's frames hashed every this many seconds: 0, every frame. A scan hashes one
#: frame a second; a clip cut between two sampled frames of the banked copy is still found
#: when the banked side has every frame (docs/video.md, "Sampling matters")
BANK_SECONDS_PER_HASH = 0.0
#: the digests stored per file (a scan computes these, and sha1, from the bytes)
DIGESTS = ("md5", "sha256")
_CHUNK = 1 << 20


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
    region hashes; for a video, digests and its vPDQ entry of ``frames`` frame hashes) and
    the PDQ hashes ``skipped`` for their quality."""

    name: str
    entries: tuple[BankEntry, ...]
    regions: int
    skipped: tuple[SkippedHash, ...] = ()
    #: for a video, the frame hashes in its vpdq entry (0: no frame could be hashed, and
    #: there is no vpdq entry); None for an image
    frames: int | None = None


def entries_from_file(
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] = (),
    regions: Iterable[Region] = BANK_REGIONS,
    limits: Limits = DEFAULT_LIMITS,
    quality_floor: int = PDQ_QUALITY_FLOOR,
    seconds_per_hash: float = BANK_SECONDS_PER_HASH,
) -> MediaEntries:
    """The entries of the image or video file at ``path`` (a link given by name is followed);
    raises a ``MediaError`` when it cannot be read or decoded, so nothing of it is stored, and
    ``OptionalDependencyError`` for a video without PyAV. A video's vPDQ hashes a frame every
    ``seconds_per_hash`` (0, the default: every frame)."""
    real = os.path.realpath(path)
    name = os.path.basename(os.fspath(path))
    with open_regular(real) as handle:
        try:
            head = handle.read(SNIFF_BYTES)
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}") from None
    if is_video(head):
        return entries_from_video(
            real, name, labels=labels, limits=limits, seconds_per_hash=seconds_per_hash
        )
    data = read_regular(real, limits)
    return entries_from_bytes(
        data,
        name,
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


def entries_from_video(
    path: str | os.PathLike[str],
    name: str | None = None,
    *,
    labels: Sequence[str] = (),
    limits: Limits = DEFAULT_LIMITS,
    seconds_per_hash: float = BANK_SECONDS_PER_HASH,
) -> MediaEntries:
    """The entries of the video file at ``path`` (``name``: its file name, by default the
    path's): md5, sha256 and one vpdq entry, each with the file's name and sha256 as meta.

    Raises a ``MediaError`` when the video cannot be read or decoded within ``limits``, or
    gives more frame hashes than a bank value holds (``VPDQ_MAX_FRAMES``), and
    ``OptionalDependencyError`` without PyAV.
    """
    hashes = hash_video(path, seconds_per_hash=seconds_per_hash, limits=limits)
    features = hashes.vpdq.features
    if len(features) > VPDQ_MAX_FRAMES:
        raise MediaTooLarge(
            f"{len(features):,} frame hashes, more than a bank's vPDQ value holds "
            f"({VPDQ_MAX_FRAMES:,}); hash fewer frames a second"
        )
    name = name or os.path.basename(os.fspath(path))
    sha256 = _sha256(path)
    source = {META_SOURCE_FILE: name, META_SOURCE_SHA256: sha256}
    kept = tuple(labels)
    values = [("md5", hashes.video_md5), ("sha256", sha256)]
    if features:  # a video of no decodable frame still matches by its digests
        values.append((VPDQ_SIGNAL, vpdq_value(features)))
    entries = tuple(BankEntry(kind, value, kept, dict(source)) for kind, value in values)
    return MediaEntries(name, entries, 0, frames=len(features))


def _sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in chunks (a video is never read whole)."""
    digest = hashlib.sha256()
    for chunk in read_chunks(os.fspath(path)):
        digest.update(chunk)
    return digest.hexdigest()
