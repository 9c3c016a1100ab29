"""Matching a video's vPDQ against many videos at once, through one PDQ index of all frames.

In: banked videos, each an id and its ``VpdqFeature`` (``needle.signals.vpdq``), then query
videos' features. Out: one ``VideoMatch`` per banked video that shares at least one frame with
the query: how many of the query's frames were found in it and of its frames in the query,
the two shares, whether they meet the thresholds, the nearest frame distance, and where in
each video the matched frames lie.

The semantics are ``needle.signals.vpdq_compare``'s (python-threatexchange's brute-force
matcher), so for any one banked video the counts and shares equal ``compare_vpdq(query,
banked)``: each side's frames are made unique by hash (the first kept), frames of quality
below the floor dropped, and a frame is found when a frame of the other side is within the
distance (``<=``). Instead of comparing the query with each video in turn, every banked frame
goes into one ``PDQIndex`` (exact: 100 % recall at its threshold) and the query's frames are
searched in one batch; each hit row is mapped to its video through flat arrays.

A query frame may carry dihedral variants (``hash_video(..., dihedral=True)``): the frame is
found when any of its variants is within the distance, so a mirrored or turned copy of a
banked video is found too. Counts are still per query frame, never per variant.

Memory: the index holds, per banked frame, its 32-byte hash, its video's number (int32) and
its timestamp (float64), plus the ``PDQIndex`` tables; no Python object per frame.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from needle.jsonvalue import JSONObject
from needle.match.pdq import PDQ_BYTES, PDQIndex, pdq_array
from needle.signals.vpdq import VPDQ_TIMESTAMP_DECIMALS, VpdqFeature
from needle.signals.vpdq_compare import (
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_PERCENT,
    VpdqComparison,
    unique_frames,
)

__all__ = ["VideoIndex", "VideoMatch"]


@dataclass(frozen=True)
class VideoMatch(VpdqComparison):
    """How a query video compares with one banked video: ``VpdqComparison``'s counts, shares
    and thresholds (counts of unique frames of quality at or above ``quality_threshold``),
    the banked video's id, the nearest frame distance, and the time ranges, in seconds, of
    the matched frames: ``query_start .. query_end`` in the query, ``compared_start ..
    compared_end`` in the banked video.
    """

    video_id: str
    best_distance: int  #: the smallest distance between a query frame (or variant) and a frame
    query_start: float
    query_end: float
    compared_start: float
    compared_end: float

    def to_dict(self) -> JSONObject:
        def t(value: float) -> float:
            return round(value, VPDQ_TIMESTAMP_DECIMALS)

        return {
            "video_id": self.video_id,
            **super().to_dict(),
            "best_distance": self.best_distance,
            "query_range": [t(self.query_start), t(self.query_end)],
            "compared_range": [t(self.compared_start), t(self.compared_end)],
        }


def _percent(count: int, total: int) -> float:
    return count * 100.0 / total if total else 0.0


class VideoIndex:
    """Every frame of many videos in one ``PDQIndex``; ``search`` compares a query with all.

    Build with ``VideoIndex.build([(video_id, features), ...])``; ids must be unique.
    ``threshold`` is the largest frame distance ``search`` may use (the ``PDQIndex``'s),
    ``quality_threshold`` the floor applied to banked and query frames alike.
    """

    def __init__(
        self,
        video_ids: list[str],
        frame_counts: np.ndarray,
        hashes: np.ndarray,
        owners: np.ndarray,
        timestamps: np.ndarray,
        *,
        threshold: int = VPDQ_DISTANCE_THRESHOLD,
        quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
    ) -> None:
        if not len(hashes) == len(owners) == len(timestamps):
            raise ValueError("hashes, owners and timestamps must have one row per frame")
        if len(frame_counts) != len(video_ids):
            raise ValueError("frame_counts must have one entry per video id")
        self._ids = video_ids
        self._counts = frame_counts
        self._owners = owners
        self._timestamps = timestamps
        self._quality = quality_threshold
        self._index = PDQIndex(hashes, threshold, copy=False)

    @classmethod
    def build(
        cls,
        videos: Iterable[tuple[str, Iterable[VpdqFeature]]],
        *,
        threshold: int = VPDQ_DISTANCE_THRESHOLD,
        quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
    ) -> VideoIndex:
        """An index of ``(video_id, features)`` pairs: each video's unique frames of quality
        >= ``quality_threshold``, all in one ``PDQIndex``. A video left with no frames is
        kept (it can never be found)."""
        ids: list[str] = []
        known: set[str] = set()
        counts = array("q")
        raw = bytearray()
        owners = array("i")
        times = array("d")
        for video_id, features in videos:
            if video_id in known:
                raise ValueError(f"video id {video_id!r} is given twice; ids must be unique")
            known.add(video_id)
            number = len(ids)
            ids.append(video_id)
            frames = unique_frames(features, quality_threshold)
            counts.append(len(frames))
            for feature in frames:
                raw += bytes.fromhex(feature.pdq)
                owners.append(number)
                times.append(feature.timestamp)
        hashes = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(-1, PDQ_BYTES)
        return cls(
            ids,
            np.frombuffer(counts, dtype=np.int64),
            hashes,
            np.frombuffer(owners, dtype=np.int32),
            np.frombuffer(times, dtype=np.float64),
            threshold=threshold,
            quality_threshold=quality_threshold,
        )

    def __len__(self) -> int:
        """Frames indexed (unique per video, of quality >= the floor)."""
        return len(self._owners)

    @property
    def video_ids(self) -> tuple[str, ...]:
        return tuple(self._ids)

    @property
    def threshold(self) -> int:
        """The largest frame distance ``search`` accepts."""
        return self._index.threshold

    @property
    def quality_threshold(self) -> int:
        return self._quality

    def frames_of(self, video_id: str) -> int:
        """How many frames of ``video_id`` are indexed (its share's denominator)."""
        return int(self._counts[self._ids.index(video_id)])

    def search(
        self,
        features: Iterable[VpdqFeature],
        *,
        distance: int = VPDQ_DISTANCE_THRESHOLD,
        query_share: float = VPDQ_QUERY_MATCH_PERCENT,
        compared_share: float = VPDQ_COMPARED_MATCH_PERCENT,
    ) -> list[VideoMatch]:
        """Every banked video sharing a frame with the query, matches first, then by query
        share, compared share and nearest distance (descending, descending, ascending).

        ``distance`` above the index's ``threshold`` is refused (``ConfigError``), as recall
        could no longer be guaranteed.
        """
        frames = unique_frames(features, self._quality)
        owner: list[int] = []
        hexes: list[str] = []
        for number, feature in enumerate(frames):
            variants = [feature.pdq.lower()]
            variants += [value.lower() for _, value in feature.variants]
            for value in dict.fromkeys(variants):  # symmetric pictures repeat hashes
                owner.append(number)
                hexes.append(value)
        hits = self._index.query(pdq_array(hexes), distance)
        if not len(hits):
            return []
        frame = np.asarray(owner, dtype=np.int64)[hits.query]
        row = hits.row
        video = self._owners[row].astype(np.int64)
        # candidate videos, numbered 0 .. len(candidates) - 1 for this search only
        candidates, slot = np.unique(video, return_inverse=True)
        k = len(candidates)
        # a query frame counts once per video, however many rows or variants reached it
        pairs = np.unique(slot * len(frames) + frame)
        query_matched = np.bincount(pairs // len(frames), minlength=k)
        rows = np.unique(row)
        compared_matched = np.bincount(np.searchsorted(candidates, self._owners[rows]), minlength=k)
        best = np.full(k, np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best, slot, hits.distance)
        query_times = np.array([feature.timestamp for feature in frames], dtype=np.float64)
        qt, ct = query_times[frame], self._timestamps[row]
        q_lo, q_hi = np.full(k, np.inf), np.full(k, -np.inf)
        c_lo, c_hi = np.full(k, np.inf), np.full(k, -np.inf)
        np.minimum.at(q_lo, slot, qt)
        np.maximum.at(q_hi, slot, qt)
        np.minimum.at(c_lo, slot, ct)
        np.maximum.at(c_hi, slot, ct)
        out = []
        for s, v in enumerate(candidates.tolist()):
            banked = int(self._counts[v])
            q_found, c_found = int(query_matched[s]), int(compared_matched[s])
            out.append(
                VideoMatch(
                    video_id=self._ids[v],
                    query_matched=q_found,
                    query_frames=len(frames),
                    compared_matched=c_found,
                    compared_frames=banked,
                    query_match_percent=_percent(q_found, len(frames)),
                    compared_match_percent=_percent(c_found, banked),
                    best_distance=int(best[s]),
                    query_start=float(q_lo[s]),
                    query_end=float(q_hi[s]),
                    compared_start=float(c_lo[s]),
                    compared_end=float(c_hi[s]),
                    distance_threshold=int(distance),
                    quality_threshold=self._quality,
                    query_match_threshold=query_share,
                    compared_match_threshold=compared_share,
                )
            )
        out.sort(
            key=lambda m: (
                not m.is_match,
                -m.query_match_percent,
                -m.compared_match_percent,
                m.best_distance,
                m.video_id,
            )
        )
        return out
