"""The per-file work of a scan, run in worker processes.

In: one ``Item`` (a file path, or an archive member's bytes) and the ``ScanOptions``.
Out: a ``FileRecord`` with the file's signals, classifications, provenance and text-guard
findings, or the reason it could not be read. Matching, assessment and storage happen in the
parent process, which owns the bank index and the database.

Each file is read once and decoded once, at a reduced size (JPEG DCT-domain draft): PDQ keeps
64x64 pixels and the models 320-512, so full-size pixels would be wasted work. Models are
loaded once per worker process and kept. A stage that fails unexpectedly on one file is
recorded in ``stage_errors`` and the file's other results are kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from needle.errors import MediaError
from needle.media import DEFAULT_LIMITS, DecodedImage, Item, Limits, decode_image
from needle.signals import Signal, compute_signals

__all__ = [
    "DRAFT_SIZE",
    "FileRecord",
    "ScanOptions",
    "compute_file",
    "preload",
    "relative_name",
]

#: JPEGs are decoded in the DCT domain to no less than this many pixels a side: the
#: classifiers' working size (needle.classify.base.WORKING_SIZE), which also serves PDQ
DRAFT_SIZE = 512


@dataclass(frozen=True)
class ScanOptions:
    """What each worker does per file; picklable so it travels to worker processes.

    ``classifiers`` None runs the default classifiers; ``roots`` lets the text guard read
    file and folder names relative to the scanned folder.
    """

    limits: Limits = DEFAULT_LIMITS
    draft_size: int = DRAFT_SIZE
    classify: bool = False
    classifiers: tuple[str, ...] | None = None
    classify_config: str | None = None
    provenance: bool = False
    textguard: bool = False
    roots: tuple[str, ...] = ()

    def fingerprint(self) -> dict[str, Any]:
        """The options that change what a record holds (a resumed scan must match them)."""
        return {
            "classify": self.classify,
            "classifiers": list(self.classifiers) if self.classifiers is not None else None,
            "classify_config": self.classify_config,
            "provenance": self.provenance,
            "textguard": self.textguard,
        }


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
    classifications: list[Any] = field(default_factory=list)
    provenance: Any = None
    #: (where the text came from, GuardResult): file name, embedded prompt
    guard: list[tuple[str, Any]] = field(default_factory=list)
    stage_errors: dict[str, str] = field(default_factory=dict)
    #: seconds spent per stage, for the scan's stage-share benchmark
    timings: dict[str, float] = field(default_factory=dict)

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


def relative_name(path: str, roots: tuple[str, ...]) -> str:
    """The part of ``path`` below the scanned root it came from: the names a person chose."""
    for root in sorted(roots, key=len, reverse=True):
        if path == root:
            return os.path.basename(path)
        if path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
    return os.path.basename(path)


#: classifiers loaded in this process, by (names, config): models are loaded once
_CLASSIFIERS: dict[tuple[tuple[str, ...] | None, str | None], list[Any]] = {}


def _classifiers(options: ScanOptions, *, load: bool = False) -> list[Any]:
    key = (options.classifiers, options.classify_config)
    if key not in _CLASSIFIERS:
        from needle.classify import load_classifiers

        names = list(options.classifiers) if options.classifiers is not None else None
        _CLASSIFIERS[key] = load_classifiers(names, options.classify_config, threads=1, load=load)
    return _CLASSIFIERS[key]


def preload(options: ScanOptions) -> None:
    """Open the models a scan will use, in this process, before it starts.

    A missing extra or a bad model path is a setup problem: it fails here, once, with its
    message, instead of on every file. The loaded models serve an in-process scan
    (``workers=0``); worker processes load their own.
    """
    if options.classify:
        _classifiers(options, load=True)


class _Clock:
    def __init__(self, record: FileRecord) -> None:
        self.record = record
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.record.timings[stage] = self.record.timings.get(stage, 0.0) + now - self.last
        self.last = now


def compute_file(item: Item, options: ScanOptions | None = None) -> FileRecord:
    """Read, hash, decode and examine one item. Never raises for bad input: the record says why."""
    options = options or ScanOptions()
    record = FileRecord(item.path, item.size)
    clock = _Clock(record)
    if options.textguard:
        _guard_name(record, options)
        clock.lap("textguard")
    try:
        data = item.read(options.limits)
    except MediaError as exc:
        record.error, record.error_reason = str(exc), exc.reason
        return record
    except OSError as exc:
        record.error, record.error_reason = f"cannot read: {exc.strerror or exc}", "unreadable"
        return record
    record.size = len(data)
    clock.lap("read")
    image: DecodedImage | None = None
    try:
        image = decode_image(data, limits=options.limits, draft_size=options.draft_size)
    except MediaError as exc:
        record.error, record.error_reason = str(exc), exc.reason
    clock.lap("decode")
    record.signals = compute_signals(data, image)
    clock.lap("signals")
    if image is not None:
        record.width, record.height = image.width, image.height
        record.format, record.frames = image.format, image.frames
        if options.classify:
            _classify(record, image, data, options)
            clock.lap("classify")
    if options.provenance and record.error_reason != "unsupported":
        _provenance(record, data, image, options)
        clock.lap("provenance")
    return record


def _guard_name(record: FileRecord, options: ScanOptions) -> None:
    try:
        from needle.textguard import check

        name = relative_name(record.path, options.roots)
        record.guard.append(("file name", check(name)))
    except Exception as exc:  # a guard bug must not cost the file its other results
        record.stage_errors["textguard"] = f"{type(exc).__name__}: {exc}"


def _classify(record: FileRecord, image: DecodedImage, data: bytes, options: ScanOptions) -> None:
    from needle.classify import Sample, run_classifiers

    sample = Sample(
        image,
        data=data,
        sha256=_value(record.signals, "sha256"),
        md5=_value(record.signals, "md5"),
        path=record.path,
    )
    (record.classifications,) = run_classifiers(_classifiers(options), [sample])


def _provenance(
    record: FileRecord, data: bytes, image: DecodedImage | None, options: ScanOptions
) -> None:
    try:
        from needle.provenance import examine

        record.provenance = examine(data, filename=record.path, image=image)
    except Exception as exc:
        record.stage_errors["provenance"] = f"{type(exc).__name__}: {exc}"
        return
    prompt = getattr(record.provenance, "prompt", None)
    # the negative prompt is not checked: it lists what the generator was told to avoid
    if options.textguard and prompt:
        try:
            from needle.textguard import check

            record.guard.append(("embedded prompt", check(prompt)))
        except Exception as exc:
            record.stage_errors["textguard"] = f"{type(exc).__name__}: {exc}"
