"""The per-file work of a scan, run in worker processes.

In: one ``Item`` (a file path, or an archive member's bytes) and the ``ScanOptions``.
Out: a ``FileRecord`` (``needle.store.record``) with the file's signals and each later stage's
own result, or the reason it could not be read. Matching, assessment and storage happen in
the parent process, which owns the bank index and the database.

The steps, in order (each a function below; a step that fails unexpectedly on one file is
named in ``stage_errors`` and the file keeps its other results):

1. read the bytes (within the size limits);
2. decode once, at a reduced size (JPEG DCT-domain draft): PDQ keeps 64x64 pixels (a 256-pixel
   short side is enough) and the models a copy 512 pixels long, so full-size pixels would be
   wasted work;
3. signals (md5, sha1, sha256 of the bytes; PDQ of the pixels);
4. classify (models loaded once per worker process and kept);
5. provenance (metadata, C2PA, watermark; the full-resolution pixels the watermark check reads
   are kept from step 2's decode, which then runs at full size for those files, a
   generator's output sizes: one decode, not two);
6. text guard, once per file, over the texts a person or a generator chose: the file's name
   below the scanned root and, when provenance found one, the embedded prompt.

A file whose first bytes are a video container goes to ``needle.pipeline.video`` instead
(digests, vPDQ, classifiers on sampled frames, container provenance), then step 6.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from needle.errors import MediaError, MediaTooLarge
from needle.jsonvalue import JSONObject
from needle.media import DEFAULT_LIMITS, DecodedImage, Item, Limits, decode_image
from needle.media.video import SNIFF_BYTES, VideoSource, is_video, video_source
from needle.signals import Signal, compute_signals
from needle.signals.pdq import PDQ_DRAFT_SIZE
from needle.store.record import FileRecord, GuardFinding

if TYPE_CHECKING:  # stages are imported where they run, so a hash-only scan stays light
    from needle.classify.base import Classification, Classifier
    from needle.provenance.model import ProvenanceResult

__all__ = [
    "DRAFT_SIZE",
    "FileRecord",
    "ScanOptions",
    "compute_file",
    "loaded_classifiers",
    "preload",
    "relative_name",
]

#: JPEGs are decoded in the DCT domain to no less than PDQ's ``PDQ_DRAFT_SIZE`` (256) on the
#: short side and, when the classifiers run, this many on the long side: their working size
#: (needle.classify.base.WORKING_SIZE). A large progressive JPEG that allows 1/8 scale is
#: then decoded from its DC scans alone (``needle.media.progressive``)
DRAFT_SIZE = 512


@dataclass(frozen=True)
class ScanOptions:
    """What each worker does per file; picklable so it travels to worker processes.

    ``draft_size`` is the long side the classifiers need of the decoded image (PDQ needs a
    256-pixel short side); ``classifiers`` None runs the default classifiers; ``roots`` lets the text guard read
    file and folder names relative to the scanned folder; ``threads`` is onnxruntime's
    thread count per model (1 in a scan: one worker process per core).
    """

    limits: Limits = DEFAULT_LIMITS
    draft_size: int = DRAFT_SIZE
    classify: bool = False
    classifiers: tuple[str, ...] | None = None
    classify_config: str | None = None
    provenance: bool = False
    textguard: bool = False
    roots: tuple[str, ...] = ()
    threads: int = 1
    seconds_per_hash: float = 1.0
    video_frames: int = 8

    def fingerprint(self) -> JSONObject:
        """The options that change what a record holds (a resumed scan must match them)."""
        return {
            "classify": self.classify,
            "classifiers": list(self.classifiers) if self.classifiers is not None else None,
            "classify_config": self.classify_config,
            "provenance": self.provenance,
            "textguard": self.textguard,
            "seconds_per_hash": self.seconds_per_hash,
            "video_frames": self.video_frames,
        }


def relative_name(path: str, roots: tuple[str, ...]) -> str:
    """The part of ``path`` below the scanned root it came from: the names a person chose."""
    for root in sorted(roots, key=len, reverse=True):
        if path == root:
            return os.path.basename(path)
        if path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
    return os.path.basename(path)


#: classifiers loaded in this process, by (names, config, threads): models are loaded once
_CLASSIFIERS: dict[tuple[tuple[str, ...] | None, str | None, int], list[Classifier]] = {}


def loaded_classifiers(options: ScanOptions, *, load: bool = False) -> list[Classifier]:
    """The scan's classifiers, loaded once in this process and kept."""
    key = (options.classifiers, options.classify_config, options.threads)
    if key not in _CLASSIFIERS:
        from needle.classify import load_classifiers

        names = list(options.classifiers) if options.classifiers is not None else None
        _CLASSIFIERS[key] = load_classifiers(
            names, options.classify_config, threads=options.threads, load=load
        )
    elif load:  # built earlier without opening the models: open them now
        from needle.classify._runtime import LazySession

        for classifier in _CLASSIFIERS[key]:
            if isinstance(classifier, LazySession):
                _ = classifier.session
    return _CLASSIFIERS[key]


def preload(options: ScanOptions, *, open_models: bool = True) -> None:
    """Get the models a scan will use ready in this process, before it starts.

    A missing extra or a bad model path is a setup problem: it fails here, once, with its
    message, instead of on every file. The loaded models serve an in-process scan
    (``workers=0``) and ``needle classify``. ``open_models=False`` only builds the
    classifiers (an unknown name or a bad config fails here), for a parent whose worker
    processes open their own: opening them here too would cost the parent about 0.4 s of
    start-up for models it never runs; a model that cannot be opened then stops the scan at
    the first file a worker classifies, with the same message.
    """
    if options.classify:
        loaded_classifiers(options, load=open_models)


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


def _pixels_for_provenance(options: ScanOptions) -> Callable[[str, int, int], bool] | None:
    """Which files the provenance stage will read at full resolution (the watermark check):
    those are decoded once at full size and reduced, not decoded twice."""
    if not options.provenance:
        return None
    from needle.provenance.options import DEFAULT_OPTIONS

    return DEFAULT_OPTIONS.keeps_pixels


def compute_file(item: Item, options: ScanOptions | None = None) -> FileRecord:
    """Read, hash, decode and examine one item. Never raises for bad input: the record says why."""
    options = options or ScanOptions()
    clock = _Clock()
    data = _read(item, options)
    # a video is told by its first bytes: from the bytes read for an image, or, for a file too
    # large to read whole (a video is streamed from disk), from its first bytes on disk
    video: VideoSource | None = None
    if isinstance(data, bytes):
        video = data if is_video(data[:SNIFF_BYTES]) else None
    elif data[1] == MediaTooLarge.reason and item.fs_path is not None:
        item, video = video_source(item, options.limits)
    if video is not None:
        from needle.pipeline.video import compute_video

        record = compute_video(item, video, options, clock.lap)
        return _with_guard(record, options, clock)
    stage_errors: dict[str, str] = {}
    size = item.size
    error: tuple[str, str] | None = None
    signals: dict[str, Signal] = {}
    image: DecodedImage | None = None
    classifications: tuple[Classification, ...] = ()
    provenance: ProvenanceResult | None = None
    clock.lap("read")
    if isinstance(data, tuple):
        error = data
    else:
        size = len(data)
        try:
            image = decode_image(
                data,
                limits=options.limits,
                draft_size=min(options.draft_size, PDQ_DRAFT_SIZE),
                draft_long=options.draft_size if options.classify else None,
                keep_stored=_pixels_for_provenance(options),
            )
        except MediaError as exc:
            error = (str(exc), exc.reason)
        clock.lap("decode")
        signals = compute_signals(data, image)
        if image is not None and image.frames > 1:
            _animation(data, image, signals, options, stage_errors)
        clock.lap("signals")
        if image is not None and options.classify:
            classifications = _classify(item.path, image, data, signals, options)
            clock.lap("classify")
        if options.provenance and (error is None or error[1] != "unsupported"):
            provenance = _provenance(item.path, data, image, options, stage_errors)
            clock.lap("provenance")
    guard: tuple[GuardFinding, ...] = ()
    if options.textguard:
        guard = _guard(item.path, provenance, options, stage_errors)
        clock.lap("textguard")
    return FileRecord(
        item.path,
        size,
        signals,
        error=error[0] if error else None,
        error_reason=error[1] if error else None,
        format=image.format if image else None,
        width=image.width if image else None,
        height=image.height if image else None,
        frames=image.frames if image else None,
        classifications=classifications,
        provenance=provenance,
        guard=guard,
        stage_errors=stage_errors,
        timings=clock.timings,
    )


def _with_guard(record: FileRecord, options: ScanOptions, clock: _Clock) -> FileRecord:
    """A video's record with step 6 (the text guard) and the stage timings added."""
    errors = dict(record.stage_errors)
    guard: tuple[GuardFinding, ...] = ()
    if options.textguard:
        guard = _guard(record.path, record.provenance, options, errors)
        clock.lap("textguard")
    return replace(record, guard=guard, stage_errors=errors, timings=clock.timings)


def _animation(
    data: bytes,
    image: DecodedImage,
    signals: dict[str, Signal],
    options: ScanOptions,
    stage_errors: dict[str, str],
) -> None:
    """An animated GIF, WebP or PNG is a video too: the vPDQ of its frames joins its signals
    (``needle.signals.animation``), so banked videos are searched with it."""
    from needle.signals.animation import ANIMATED_FORMATS, animation_features
    from needle.signals.vpdq_signal import vpdq_signal

    if image.format not in ANIMATED_FORMATS:
        return
    try:
        features = animation_features(
            data, seconds_per_hash=options.seconds_per_hash, dihedral=True, limits=options.limits
        )
    except MediaError as exc:
        stage_errors["vpdq"] = str(exc)
        return
    if features:
        signals["vpdq"] = vpdq_signal(features)


def _read(item: Item, options: ScanOptions) -> bytes | tuple[str, str]:
    """The item's bytes, or (message, reason) saying why they cannot be read."""
    try:
        return item.read(options.limits)
    except MediaError as exc:
        return str(exc), exc.reason
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}", "unreadable"


def _classify(
    path: str, image: DecodedImage, data: bytes, signals: dict[str, Signal], options: ScanOptions
) -> tuple[Classification, ...]:
    from needle.classify import Sample, run_classifiers

    md5, sha256 = signals.get("md5"), signals.get("sha256")
    sample = Sample(
        image,
        data=data,
        sha256=sha256.value if sha256 else None,
        md5=md5.value if md5 else None,
        path=path,
    )
    (found,) = run_classifiers(loaded_classifiers(options), [sample])
    return tuple(found)


def _provenance(
    path: str,
    data: bytes,
    image: DecodedImage | None,
    options: ScanOptions,
    stage_errors: dict[str, str],
) -> ProvenanceResult | None:
    try:
        from needle.provenance import examine

        return examine(data, filename=path, image=image, limits=options.limits)
    except Exception as exc:  # a provenance bug must not cost the file its other results
        stage_errors["provenance"] = f"{type(exc).__name__}: {exc}"
        return None


def _guard(
    path: str,
    provenance: ProvenanceResult | None,
    options: ScanOptions,
    stage_errors: dict[str, str],
) -> tuple[GuardFinding, ...]:
    """The text guard over the file's name and its embedded prompt, if any. The negative
    prompt is not checked: it lists what the generator was told to avoid."""
    from needle.textguard import check

    texts = [("file name", relative_name(path, options.roots))]
    if provenance is not None and provenance.prompt:
        texts.append(("embedded prompt", provenance.prompt))
    found = []
    for source, text in texts:
        try:
            found.append(GuardFinding(source, check(text)))
        except Exception as exc:  # a guard bug must not cost the file its other results
            stage_errors["textguard"] = f"{type(exc).__name__}: {exc}"
    return tuple(found)
