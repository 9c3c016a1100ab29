"""What needle knows about one file, typed from the worker to the database and back out.

The scan's hand-offs, in flow order:

- a worker examines one item and returns a ``FileRecord``: the file's signals, what the
  decoder saw, each later stage's own frozen result (classifications, provenance, text-guard
  findings), or the reason the file could not be read;
- the parent matches and assesses it into a ``ScanRecord`` (the ``FileRecord`` with its
  matches and assessment), which ``Store.add_records`` maps to rows (``record_row`` here is
  the one place that decides what is stored, and where);
- ``Store.iter_records`` reads back ``StoredRecord``; ``export_record`` turns one into the
  plain data that every export path writes (``--jsonl``, the API, reports).

**Privacy rule: embedded prompts are never exported.** A prompt found in a file's metadata
(what a generator was told to draw) can describe abuse in words. The store keeps it, in its
own column, for the text guard and for a reviewer who asks for it on purpose
(``StoredRecord.embedded_prompt``); ``export_record`` builds its output from named fields and
has no way to include it. Anything that leaves needle serialises records through
``export_record``; a test checks every export path for prompts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from needle.jsonvalue import JSONObject, JSONValue
from needle.match.model import Match
from needle.signals.base import Signal

if TYPE_CHECKING:  # stage result types: annotations only, so importing the store stays cheap
    from needle.assess import Assessment
    from needle.classify.base import Classification
    from needle.provenance.model import ProvenanceResult
    from needle.signals.vpdq import VideoHashes
    from needle.store.schema import FileRow
    from needle.textguard.result import GuardResult

__all__ = [
    "EmbeddedPrompt",
    "FileRecord",
    "GuardFinding",
    "ScanRecord",
    "StoredRecord",
    "export_record",
    "path_key",
    "record_row",
    "storable_path",
    "stored_record",
]

#: text-guard fields kept per finding (the guard's policy is the same for the whole scan)
GUARD_FIELDS = ("decision", "categories", "score", "evidence", "languages")


@dataclass(frozen=True)
class GuardFinding:
    """The text guard's result for one text of a file, and where the text came from:
    ``file name`` (the path below the scanned root) or ``embedded prompt``."""

    source: str
    result: GuardResult

    def to_dict(self) -> JSONObject:
        found = self.result.to_dict()
        return {"source": self.source, **{k: found[k] for k in GUARD_FIELDS}}


@dataclass(frozen=True)
class EmbeddedPrompt:
    """A generator prompt found in a file's metadata. Private: stored, never exported."""

    prompt: str
    negative_prompt: str | None = None

    @classmethod
    def of(cls, provenance: ProvenanceResult | None) -> EmbeddedPrompt | None:
        if provenance is None or not provenance.prompt:
            return None
        return cls(provenance.prompt, provenance.negative_prompt)


@dataclass(frozen=True)
class FileRecord:
    """Everything a worker learns about one file; each stage's result keeps its own type.

    ``error``/``error_reason`` say why the file could not be read or decoded (its hashes of
    the bytes are still there); ``stage_errors`` names a stage that failed unexpectedly on
    this file while the others' results were kept; ``timings`` are seconds per stage.
    ``video``: for a video, what its container declares and its vPDQ (``needle.signals.vpdq``;
    the ``vpdq`` signal carries the same frames for matching); ``format`` is then the
    container and ``frames`` the frames decoded.
    """

    path: str
    size: int
    signals: Mapping[str, Signal] = field(default_factory=dict)
    error: str | None = None
    error_reason: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    classifications: tuple[Classification, ...] = ()
    provenance: ProvenanceResult | None = None
    guard: tuple[GuardFinding, ...] = ()
    stage_errors: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    video: VideoHashes | None = field(default=None, repr=False)

    def value(self, signal_type: str) -> str | None:
        signal = self.signals.get(signal_type)
        return signal.value if signal else None

    def to_dict(self) -> JSONObject:
        """The file's signals and what the decoder saw (``needle hash --json``)."""
        pdq = self.signals.get("pdq")
        return {
            "path": self.path,
            "size": self.size,
            "md5": self.value("md5"),
            "sha1": self.value("sha1"),
            "sha256": self.value("sha256"),
            "pdq": pdq.value if pdq else None,
            "pdq_quality": pdq.quality if pdq else None,
            "pdq_dihedral": dict(pdq.variants) if pdq else None,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "error": self.error,
            "error_reason": self.error_reason,
        }


@dataclass(frozen=True)
class ScanRecord:
    """A ``FileRecord`` with what the parent adds: its matches and its assessment."""

    file: FileRecord
    matches: tuple[Match, ...]
    assessment: Assessment


def _details(record: ScanRecord) -> JSONObject:
    """The later stages' results, as stored in the record's ``details`` JSON column."""
    file = record.file
    details: JSONObject = {"reasons": [r.to_dict() for r in record.assessment.reasons]}
    if file.classifications:
        details["classifications"] = [c.to_dict() for c in file.classifications]
    if file.provenance is not None:
        details["provenance"] = file.provenance.to_dict(include_prompt=False)
    if file.guard:
        details["textguard"] = [g.to_dict() for g in file.guard]
    if file.stage_errors:
        details["stage_errors"] = dict(file.stage_errors)
    if file.video is not None:
        video = file.video.to_dict()
        video.pop("video_md5", None)  # the record's md5
        found: list[JSONValue] = [m.to_dict() for m in record.matches if m.video is not None]
        if found:
            video["matches"] = found
        details["video"] = video
    return details


def path_key(path: str) -> str:
    """The record's key within its job: a digest of the path exactly as walked, lone
    surrogates (file names that are not valid UTF-8) included, so two names never share one."""
    return hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()


def storable_path(path: str) -> str:
    """``path`` as text a database accepts: bytes of a name that is not valid UTF-8 (lone
    surrogates after decoding) are written as ``\\xNN``. For display only: the key is
    ``path_key`` of the path as walked, so two names that escape alike stay two records."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return "".join(_escape(c) if "\ud800" <= c <= "\udfff" else c for c in path)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def record_row(record: ScanRecord) -> dict[str, str | int | JSONValue | None]:
    """The ``file_record`` columns of one record (its matches are rows of their own)."""
    file = record.file
    pdq = file.signals.get("pdq")
    prompt = EmbeddedPrompt.of(file.provenance)
    return {
        "path": storable_path(file.path),
        "path_key": path_key(file.path),
        "size": file.size,
        "md5": file.value("md5"),
        "sha1": file.value("sha1"),
        "sha256": file.value("sha256"),
        "pdq": pdq.value if pdq else None,
        "pdq_quality": pdq.quality if pdq else None,
        "format": file.format,
        "width": file.width,
        "height": file.height,
        "error": file.error,
        "error_reason": file.error_reason,
        "priority": record.assessment.priority.label,
        "details": _details(record),
        "embedded_prompt": (
            {"prompt": prompt.prompt, "negative_prompt": prompt.negative_prompt} if prompt else None
        ),
    }


def _objects(value: JSONValue) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class StoredRecord:
    """A file record as stored, with its matches: what the review queue, reports and
    ``--jsonl`` read. Later stages' results are the plain data their ``to_dict`` wrote.

    ``embedded_prompt`` is private (see the module's privacy rule): it is here for a reviewer
    who asks for it and is never part of ``to_dict``/``export_record``.
    """

    path: str
    size: int
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    format: str | None
    width: int | None
    height: int | None
    error: str | None
    error_reason: str | None
    priority: str | None
    matches: tuple[Match, ...] = ()
    reasons: tuple[JSONObject, ...] = ()
    classifications: tuple[JSONObject, ...] = ()
    provenance: JSONObject | None = None
    textguard: tuple[JSONObject, ...] = ()
    stage_errors: Mapping[str, str] = field(default_factory=dict)
    embedded_prompt: EmbeddedPrompt | None = field(default=None, repr=False)
    #: for a video: container, codec, size, duration, frames, its vPDQ and how its matches
    #: compared (``FileRecord.video`` as stored); None for an image
    video: JSONObject | None = None

    def to_dict(self) -> JSONObject:
        return export_record(self)


def stored_record(row: FileRow) -> StoredRecord:
    """A ``file_record`` row and its match rows, read back."""
    details: JSONObject = dict(row.details)
    provenance = details.get("provenance")
    video = details.get("video")
    errors = details.get("stage_errors")
    saved = row.embedded_prompt
    prompt = None
    if isinstance(saved, dict) and isinstance(saved.get("prompt"), str):
        negative = saved.get("negative_prompt")
        prompt = EmbeddedPrompt(saved["prompt"], negative if isinstance(negative, str) else None)
    matches = tuple(
        Match(m.bank, m.signal_type, m.value, m.distance, m.threshold, m.transform,
              tuple(m.labels))
        for m in sorted(row.matches, key=lambda m: (m.bank, m.distance, m.id))
    )  # fmt: skip
    return StoredRecord(
        row.path, row.size, row.md5, row.sha1, row.sha256, row.pdq, row.pdq_quality,
        row.format, row.width, row.height, row.error, row.error_reason, row.priority,
        matches=matches,
        reasons=tuple(_objects(details.get("reasons"))),
        classifications=tuple(_objects(details.get("classifications"))),
        provenance=provenance if isinstance(provenance, dict) else None,
        textguard=tuple(_objects(details.get("textguard"))),
        stage_errors=(
            {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
        ),
        embedded_prompt=prompt,
        video=video if isinstance(video, dict) else None,
    )  # fmt: skip


def export_record(record: StoredRecord) -> JSONObject:
    """The one serialiser of a record for anything that leaves needle. Never includes the
    embedded prompt (it has no parameter to ask for it: a reviewer reads it from the store)."""
    data: JSONObject = {
        "path": record.path,
        "size": record.size,
        "md5": record.md5,
        "sha1": record.sha1,
        "sha256": record.sha256,
        "pdq": record.pdq,
        "pdq_quality": record.pdq_quality,
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "matches": [m.to_dict() for m in record.matches],
        "error": record.error,
        "error_reason": record.error_reason,
    }
    if record.priority is not None:
        data["priority"] = record.priority
    data["reasons"] = list(record.reasons)
    if record.classifications:
        data["classifications"] = list(record.classifications)
    if record.provenance is not None:
        data["provenance"] = record.provenance
    if record.textguard:
        data["textguard"] = list(record.textguard)
    if record.stage_errors:
        data["stage_errors"] = dict(record.stage_errors)
    if record.video is not None:
        data["video"] = record.video
    return data
