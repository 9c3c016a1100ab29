"""Trace-back: which recorded generation made this image?

In: the bytes of an image found anywhere, the :class:`~needle.genguard.ledger.Ledger`, and a
:class:`TraceIndex` of the perceptual hashes of every recorded output. Out: a
:class:`TraceResult` whose hits are ledger entries, each with the evidence of the match:

1. **SHA-256** of the bytes equals a recorded output's: the very file handed out;
2. **watermark**: the payload decoded from the pixels (error-corrected) was stamped into a
   recorded output — survives re-encoding, not resizing or cropping;
3. **PDQ** of the whole image within ``PDQ_MATCH_DISTANCE`` (31) of a recorded output's:
   survives re-encoding and resizing, not cropping or borders;
4. **sub-region windows** (:mod:`needle.genguard.windows`): many candidate windows of the
   found image looked up against the sub-region hashes recorded for each output; survives
   crops and borders.

The index is built from the ledger once and kept in a cache file next to the database
(``needle trace --index``): a later trace reads only the entries appended since, after
checking that the entry the cache ends at is still the same one (a rewritten ledger
rebuilds it).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from needle.errors import MediaError
from needle.genguard.ledger import Ledger, LedgerEntry
from needle.genguard.stamp import WatermarkPayload, full_pixels, read_payload
from needle.genguard.windows import WINDOW_DISTANCE, query_hashes
from needle.jsonvalue import JSONObject
from needle.match.pdq import PDQHits, PDQIndex, pdq_array
from needle.media import DEFAULT_LIMITS, Limits
from needle.signals.pdq import PDQ_MATCH_DISTANCE, pdq_hash_pixels
from needle.store import normalise_url

__all__ = ["TraceHit", "TraceIndex", "TraceResult", "default_cache", "trace_image"]

#: the first pass over a found image's windows: a true copy's nearest window is usually much
#: nearer than WINDOW_DISTANCE (median 0-22 by edit, bench/trace_windows.py), and at 2M stored
#: windows this pass costs ~0.7 s against ~8 s at WINDOW_DISTANCE (bench/genguard.py); only an
#: image that nothing traced at all is searched again at the full distance
WINDOW_FIRST_DISTANCE = 32
#: distinct query windows of a found image that must hit one entry for a window trace: one is
#: enough while no unrelated image comes within WINDOW_DISTANCE (bench/trace_windows.py)
MIN_WINDOW_HITS = 1
_EMPTY = np.zeros((0, 32), dtype=np.uint8)
_CACHE_FORMAT = 1


def default_cache(db_url: str) -> Path | None:
    """Where the index is cached by default: beside a SQLite database file; None otherwise."""
    url = normalise_url(db_url)
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url[len("sqlite:///") :] + ".trace-index.npz")


@dataclass
class TraceIndex:
    """Every recorded output's hashes, with the ledger ``seq`` each came from."""

    whole_seq: np.ndarray
    whole: np.ndarray
    window_seq: np.ndarray
    windows: np.ndarray
    last_seq: int = 0
    last_hash: str = ""
    _searchers: dict[str, PDQIndex] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls) -> TraceIndex:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, _EMPTY, none.copy(), _EMPTY.copy())

    @classmethod
    def build(cls, ledger: Ledger, cache: str | Path | None = None) -> TraceIndex:
        """The index of ``ledger``: from ``cache`` when it still describes this ledger's start,
        plus the entries appended since; the cache is rewritten when anything was added."""
        cached = _load_cache(ledger, Path(cache)) if cache else None
        index = (cached or cls.empty()).updated(ledger)
        if cache and index is not cached:
            index.save(Path(cache), ledger)
        return index

    def updated(self, ledger: Ledger) -> TraceIndex:
        """This index with the entries appended to ``ledger`` since ``last_seq``: a new index
        when there are any (the arrays of one in use are never written to), else this one."""
        rows = list(ledger.output_hashes(after_seq=self.last_seq))
        if not rows:
            return self
        fresh = replace(self, _searchers={})
        fresh.extend(rows)
        return fresh

    def extend(self, rows: Iterable[tuple[int, list[str]]]) -> int:
        """Add ``(seq, hashes)`` rows (whole-image PDQ first); returns how many were added."""
        whole_seq: list[int] = []
        whole: list[str] = []
        window_seq: list[int] = []
        windows: list[str] = []
        count = 0
        for seq, hashes in rows:
            count += 1
            self.last_seq = max(self.last_seq, seq)
            if not hashes:
                continue
            whole_seq.append(seq)
            whole.append(hashes[0])
            window_seq.extend([seq] * (len(hashes) - 1))
            windows.extend(hashes[1:])
        if whole:
            self.whole_seq = np.concatenate([self.whole_seq, np.asarray(whole_seq, np.int64)])
            self.whole = np.concatenate([self.whole, pdq_array(whole)])
        if windows:
            self.window_seq = np.concatenate([self.window_seq, np.asarray(window_seq, np.int64)])
            self.windows = np.concatenate([self.windows, pdq_array(windows)])
        self._searchers.clear()
        return count

    def searcher(self, which: str) -> PDQIndex:
        """The search index of ``whole`` images (at 31) or ``windows`` (``WINDOW_DISTANCE``),
        built on first use after each change."""
        if which not in self._searchers:
            if which == "whole":
                self._searchers[which] = PDQIndex(self.whole, PDQ_MATCH_DISTANCE, copy=False)
            else:
                self._searchers[which] = PDQIndex(self.windows, WINDOW_DISTANCE, copy=False)
        return self._searchers[which]

    def save(self, path: Path, ledger: Ledger) -> None:
        """Write the cache atomically (a crash leaves the old one, never half a file)."""
        tail = ledger.by_seq([self.last_seq]) if self.last_seq else []
        self.last_hash = tail[0].hash if tail else ""
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            np.savez(
                out,
                format=np.int64(_CACHE_FORMAT),
                last_seq=np.int64(self.last_seq),
                last_hash=np.array(self.last_hash),
                whole_seq=self.whole_seq,
                whole=self.whole,
                window_seq=self.window_seq,
                windows=self.windows,
            )
        os.replace(tmp, path)


def _load_cache(ledger: Ledger, path: Path) -> TraceIndex | None:
    """The cached index, or None when it is missing, unreadable or from another history."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if int(saved["format"]) != _CACHE_FORMAT:
                return None
            index = TraceIndex(
                saved["whole_seq"],
                saved["whole"],
                saved["window_seq"],
                saved["windows"],
                int(saved["last_seq"]),
                str(saved["last_hash"]),
            )
    except (OSError, ValueError, KeyError):
        return None
    if index.last_seq:
        tail = ledger.by_seq([index.last_seq])
        if not tail or tail[0].hash != index.last_hash:
            return None  # the ledger was rewritten or replaced: rebuild
    return index


@dataclass(frozen=True)
class TraceHit:
    """A ledger entry the image was traced to, and why: ``methods`` in order of strength."""

    entry: LedgerEntry
    methods: tuple[str, ...]
    evidence: tuple[str, ...]

    def to_dict(self, *, with_prompt: bool = True) -> JSONObject:
        record = self.entry.record
        return {
            "seq": self.entry.seq,
            "at": self.entry.at.isoformat(timespec="seconds"),
            "request_id": record.request_id,
            "account": record.account,
            "decision": record.decision,
            "prompt": record.prompt if with_prompt else None,
            "prompt_sha256": record.prompt_sha256,
            "output_sha256": record.output_sha256,
            "methods": list(self.methods),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class TraceResult:
    """What a trace found: the hits (strongest first), and what was read from the image."""

    sha256: str
    hits: tuple[TraceHit, ...]
    payload: WatermarkPayload | None = None
    windows_queried: int = 0
    error: str | None = None

    def to_dict(self, *, with_prompt: bool = True) -> JSONObject:
        return {
            "sha256": self.sha256,
            "payload": self.payload.evidence if self.payload else None,
            "windows_queried": self.windows_queried,
            "error": self.error,
            "hits": [hit.to_dict(with_prompt=with_prompt) for hit in self.hits],
        }


_ORDER = ("sha256", "watermark", "pdq", "windows")


def trace_image(
    data: bytes, ledger: Ledger, index: TraceIndex, *, limits: Limits = DEFAULT_LIMITS
) -> TraceResult:
    """Every recorded output ``data`` traces to, each with its evidence (see the module)."""
    sha256 = hashlib.sha256(data).hexdigest()
    found: dict[int, dict[str, str]] = {}
    entries: dict[int, LedgerEntry] = {}
    for entry in ledger.by_output(sha256=sha256):
        entries[entry.seq] = entry
        found.setdefault(entry.seq, {})["sha256"] = "SHA-256 identical to the recorded output"
    try:
        image, _ = full_pixels(data, limits)
    except MediaError as exc:
        return _result(sha256, found, entries, ledger, error=str(exc))
    payload = read_payload(image)
    if payload is not None:
        for entry in ledger.by_output(payload=payload.payload):
            entries[entry.seq] = entry
            found.setdefault(entry.seq, {})["watermark"] = payload.evidence
    if len(index.whole):
        whole = pdq_hash_pixels(image, dihedral=False, trim=False).value
        for row, distance in index.searcher("whole").query([whole]).for_query(0):
            seq = int(index.whole_seq[row])
            found.setdefault(seq, {})["pdq"] = (
                f"whole-image PDQ distance {distance} (threshold {PDQ_MATCH_DISTANCE})"
            )
    queried = 0
    if len(index.windows):
        queries = query_hashes(image)
        queried = len(queries)
        if queried:
            searcher = index.searcher("windows")
            hits = searcher.query(queries, threshold=min(WINDOW_FIRST_DISTANCE, WINDOW_DISTANCE))
            if not len(hits) and not found:
                hits = searcher.query(queries)
            _window_hits(hits, index, found)
    return _result(sha256, found, entries, ledger, payload=payload, windows=queried)


def _window_hits(hits: PDQHits, index: TraceIndex, found: dict[int, dict[str, str]]) -> None:
    if not len(hits):
        return
    seqs = index.window_seq[hits.row]
    for seq in np.unique(seqs).tolist():
        mask = seqs == seq
        windows = len(np.unique(hits.query[mask]))
        if windows < MIN_WINDOW_HITS:
            continue
        nearest = int(hits.distance[mask].min())
        found.setdefault(int(seq), {})["windows"] = (
            f"{windows} sub-region window(s) within {hits.threshold} of the recorded output's "
            f"(nearest {nearest})"
        )


def _result(
    sha256: str,
    found: dict[int, dict[str, str]],
    entries: dict[int, LedgerEntry],
    ledger: Ledger,
    *,
    payload: WatermarkPayload | None = None,
    windows: int = 0,
    error: str | None = None,
) -> TraceResult:
    missing = [seq for seq in found if seq not in entries]
    entries.update({entry.seq: entry for entry in ledger.by_seq(missing)})
    hits = []
    for seq, methods in found.items():
        if seq not in entries:
            continue
        names = tuple(name for name in _ORDER if name in methods)
        hits.append(TraceHit(entries[seq], names, tuple(methods[name] for name in names)))
    hits.sort(key=lambda h: (_ORDER.index(h.methods[0]), -len(h.methods), h.entry.seq))
    return TraceResult(sha256, tuple(hits), payload, windows, error)
