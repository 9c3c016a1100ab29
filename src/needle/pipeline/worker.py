"""The per-file work of a scan, run in worker processes.

In: one ``Item`` (a file path, or an archive member's bytes). Out: a ``FileRecord`` with the
file's signals, or the reason it could not be read. Matching, assessment and storage happen
in the parent process, which owns the bank index and the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from needle.errors import MediaError
from needle.media import DEFAULT_LIMITS, Item, Limits, decode_image
from needle.signals import Signal
from needle.signals.cryptographic import MD5, SHA1, SHA256
from needle.signals.pdq import PDQ

__all__ = ["DRAFT_SIZE", "FileRecord", "ScanOptions", "compute_file"]

#: JPEGs are decoded in the DCT domain to no less than this many pixels a side
DRAFT_SIZE = 512

_BYTE_HASHERS = (MD5(), SHA1(), SHA256())
_PDQ = PDQ()


@dataclass(frozen=True)
class ScanOptions:
    """What each worker does per file; picklable so it travels to worker processes."""

    limits: Limits = DEFAULT_LIMITS
    draft_size: int = DRAFT_SIZE


@dataclass
class FileRecord:
    """Everything the workers learn about one file."""

    path: str
    size: int
    signals: dict[str, Signal] = field(default_factory=dict)
    error: str | None = None
    error_reason: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    frames: int | None = None

    def to_dict(self) -> dict[str, Any]:
        pdq = self.signals.get("pdq")
        return {
            "path": self.path,
            "size": self.size,
            "md5": _value(self.signals, "md5"),
            "sha1": _value(self.signals, "sha1"),
            "sha256": _value(self.signals, "sha256"),
            "pdq": pdq.value if pdq else None,
            "pdq_quality": pdq.quality if pdq else None,
            "pdq_dihedral": dict(pdq.variants) if pdq else None,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "error": self.error,
            "error_reason": self.error_reason,
        }


def _value(signals: dict[str, Signal], name: str) -> str | None:
    signal = signals.get(name)
    return signal.value if signal else None


def compute_file(item: Item, options: ScanOptions | None = None) -> FileRecord:
    """Read, hash and decode one item. Never raises for bad input: the record says why."""
    options = options or ScanOptions()
    record = FileRecord(item.path, item.size)
    try:
        data = item.read(options.limits)
    except MediaError as exc:
        record.error, record.error_reason = str(exc), exc.reason
        return record
    except OSError as exc:
        record.error, record.error_reason = f"cannot read: {exc.strerror or exc}", "unreadable"
        return record
    record.size = len(data)
    for hasher in _BYTE_HASHERS:
        record.signals[hasher.name] = hasher.hash_bytes(data)
    try:
        image = decode_image(data, limits=options.limits, draft_size=options.draft_size)
    except MediaError as exc:
        record.error, record.error_reason = str(exc), exc.reason
        return record
    record.width, record.height = image.width, image.height
    record.format, record.frames = image.format, image.frames
    record.signals["pdq"] = _PDQ.hash_image(image)
    return record
