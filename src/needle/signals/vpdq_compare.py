"""Comparing two vPDQ hashes: how much of each video is found in the other.

In: two ``VpdqHash`` (a query and the video it is compared with) and the thresholds. Out: a
``VpdqComparison``: the percentage of the query's frames found in the other video and of the
other's found in the query, the frame counts they are percentages of, the thresholds used and
whether that makes a match.

The algorithm is the reference's (ThreatExchange ``vpdq/README.md``, python-threatexchange
``extensions/vpdq/vpdq_brute_matcher.py``): each side's frames are made unique by hash (the
first of equal hashes kept), then those of quality below the floor dropped; a frame counts
as found when some frame of the other side is within the distance threshold (``<=``, as the
README and python-threatexchange; the C++ ``matchTwoHash.cpp`` uses ``<``). Frame numbers
and timestamps play no part: the frames are a bag of hashes. A side left with no frames
matches nothing (0 %).

Defaults are python-threatexchange's (``vpdq_util.py``), which HMA uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from needle.errors import ConfigError, MediaError, SignalFormatError
from needle.jsonvalue import JSONObject
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.signals.base import Signal
from needle.signals.vpdq import VpdqFeature, VpdqHash

__all__ = [
    "VPDQ_COMPARED_MATCH_PERCENT",
    "VPDQ_DISTANCE_THRESHOLD",
    "VPDQ_QUALITY_THRESHOLD",
    "VPDQ_QUERY_MATCH_PERCENT",
    "CompareInput",
    "ImageComparison",
    "VpdqComparison",
    "compare_images",
    "compare_vpdq",
    "read_compare_input",
    "unique_frames",
]

VPDQ_DISTANCE_THRESHOLD = 31  # python-threatexchange vpdq_util.py: VPDQ_DISTANCE_THRESHOLD
VPDQ_QUALITY_THRESHOLD = 50  # python-threatexchange vpdq_util.py: VPDQ_QUALITY_THRESHOLD
#: python-threatexchange vpdq_util.py VPDQ_QUERY_MATCH_THRESHOLD_PERCENT: share of the query's
#: frames that must be found in the other video
VPDQ_QUERY_MATCH_PERCENT = 80.0
#: python-threatexchange vpdq_util.py VPDQ_INDEX_MATCH_THRESHOLD_PERCENT: share of the other
#: video's frames that must be found in the query (0: a query may be a clip of a longer video)
VPDQ_COMPARED_MATCH_PERCENT = 0.0

#: bytes of XOR'ed hashes held at once while counting (rows of the query at a time)
_BLOCK_BYTES = 32 << 20


@dataclass(frozen=True)
class VpdqComparison:
    """How two videos' vPDQ hashes compare, with the thresholds that decided it."""

    query_match_percent: float  #: of the query's unique frames of quality >= the floor
    compared_match_percent: float  #: of the compared video's unique frames of that quality
    query_frames: int  #: the query's frames counted (unique, of quality >= the floor)
    compared_frames: int
    query_matched: int  #: of those, found within the distance in the other video
    compared_matched: int
    distance_threshold: int
    quality_threshold: int
    query_match_threshold: float
    compared_match_threshold: float

    @property
    def is_match(self) -> bool:
        """Both shares at or above their thresholds, and at least one frame found."""
        return (
            self.query_matched > 0
            and self.query_match_percent >= self.query_match_threshold
            and self.compared_match_percent >= self.compared_match_threshold
        )

    def to_dict(self) -> JSONObject:
        return {
            "match": self.is_match,
            "query_match_percent": round(self.query_match_percent, 2),
            "compared_match_percent": round(self.compared_match_percent, 2),
            "query_frames": self.query_frames,
            "compared_frames": self.compared_frames,
            "query_matched": self.query_matched,
            "compared_matched": self.compared_matched,
            "distance_threshold": self.distance_threshold,
            "quality_threshold": self.quality_threshold,
            "query_match_threshold": self.query_match_threshold,
            "compared_match_threshold": self.compared_match_threshold,
        }


def unique_frames(features: Iterable[VpdqFeature], quality: int) -> list[VpdqFeature]:
    """The frames that count: unique by hash (the first kept), then those of quality >=
    ``quality``, in that order, as python-threatexchange does (a low-quality first copy
    hides a later equal hash)."""
    seen: set[str] = set()
    kept: list[VpdqFeature] = []
    for feature in features:
        key = feature.pdq.lower()
        if key in seen:
            continue
        seen.add(key)
        if feature.quality >= quality:
            kept.append(feature)
    return kept


def _prepared(features: VpdqHash, quality: int) -> np.ndarray:
    """``unique_frames`` as an N x 32 uint8 array."""
    kept = unique_frames(features, quality)
    raw = b"".join(bytes.fromhex(feature.pdq) for feature in kept)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(kept), 32)


def _found(a: np.ndarray, b: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``a`` have a row of ``b`` within ``distance``, and which of ``b`` of ``a``."""
    a_found = np.zeros(len(a), dtype=bool)
    b_found = np.zeros(len(b), dtype=bool)
    if len(a) == 0 or len(b) == 0:
        return a_found, b_found
    rows = max(1, _BLOCK_BYTES // (32 * len(b)))
    for start in range(0, len(a), rows):
        block = a[start : start + rows]
        near = np.bitwise_count(block[:, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int32)
        near = near <= distance
        a_found[start : start + len(block)] = near.any(axis=1)
        b_found |= near.any(axis=0)
    return a_found, b_found


def _percent(count: int, total: int) -> float:
    return count * 100.0 / total if total else 0.0


def compare_vpdq(
    query: VpdqHash,
    compared: VpdqHash,
    *,
    distance_threshold: int = VPDQ_DISTANCE_THRESHOLD,
    quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
    query_match_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
    compared_match_threshold: float = VPDQ_COMPARED_MATCH_PERCENT,
) -> VpdqComparison:
    """Compare a query video's vPDQ with another's, as the reference's brute-force matcher.

    Symmetric in the percentages: ``compare_vpdq(b, a)`` swaps the two shares. Each frame
    pair is compared once.
    """
    a = _prepared(query, quality_threshold)
    b = _prepared(compared, quality_threshold)
    a_found, b_found = _found(a, b, distance_threshold)
    query_matched, compared_matched = int(a_found.sum()), int(b_found.sum())
    return VpdqComparison(
        query_match_percent=_percent(query_matched, len(a)),
        compared_match_percent=_percent(compared_matched, len(b)),
        query_frames=len(a),
        compared_frames=len(b),
        query_matched=query_matched,
        compared_matched=compared_matched,
        distance_threshold=distance_threshold,
        quality_threshold=quality_threshold,
        query_match_threshold=query_match_threshold,
        compared_match_threshold=compared_match_threshold,
    )


@dataclass(frozen=True)
class CompareInput:
    """One side of a comparison: a video or vPDQ text file (``vpdq``), or an image, whose
    PDQ (``pdq``) is also its one-frame ``vpdq``."""

    path: str
    kind: str  #: "video", "vpdq-text" or "image"
    vpdq: VpdqHash
    pdq: Signal | None = None


def read_compare_input(
    path: str, seconds_per_hash: float, limits: Limits = DEFAULT_LIMITS
) -> CompareInput:
    """Hash a video (told by its content), read a vPDQ text file, or else decode an image;
    a ``ConfigError`` saying why when the file is none of these."""
    from needle.media import Item, decode_image
    from needle.media.reading import read_regular
    from needle.media.video import video_source
    from needle.signals.pdq import PDQ_DRAFT_SIZE, pdq_hash
    from needle.signals.vpdq import hash_video

    if not os.path.isfile(path):
        raise ConfigError(f"no such file: {path}")
    item, source = video_source(Item(path, os.path.getsize(path), fs_path=path))
    if source is not None:
        vpdq = hash_video(source, seconds_per_hash=seconds_per_hash, limits=limits).vpdq
        return CompareInput(path, "video", vpdq)
    data = item.data if item.data is not None else read_regular(path, limits)
    try:
        return CompareInput(path, "vpdq-text", VpdqHash.from_text(data.decode("utf-8")))
    except (UnicodeDecodeError, SignalFormatError):
        pass
    try:
        image = decode_image(data, limits=limits, draft_size=PDQ_DRAFT_SIZE)
    except MediaError as exc:
        raise ConfigError(f"{path}: not a video, a vPDQ text file or an image ({exc})") from None
    signal = pdq_hash(image, trim=False)
    frame = VpdqFeature(0, signal.quality or 0, signal.value, 0.0)
    return CompareInput(path, "image", VpdqHash((frame,)), signal)


@dataclass(frozen=True)
class ImageComparison:
    """Two images' PDQ distance, the closest over the second's rotations and flips
    (``transform``), and whether they match: both of quality at or above the floor and the
    closest within the distance."""

    distance: int
    closest: int
    transform: str
    usable: bool
    distance_threshold: int
    quality_threshold: int

    @property
    def is_match(self) -> bool:
        return self.usable and self.closest <= self.distance_threshold


def compare_images(
    a: Signal,
    b: Signal,
    *,
    distance_threshold: int = VPDQ_DISTANCE_THRESHOLD,
    quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
) -> ImageComparison:
    """``a``'s PDQ against ``b``'s and against each of ``b``'s dihedral variants."""
    from needle.signals.pdq import PDQ

    plain = PDQ.distance(a.value, b.value)
    transform, closest = min(
        ((name, PDQ.distance(a.value, value)) for name, value in b.variants),
        key=lambda pair: pair[1],
        default=("original", plain),
    )
    usable = min(a.quality or 0, b.quality or 0) >= quality_threshold
    return ImageComparison(plain, closest, transform, usable, distance_threshold, quality_threshold)
