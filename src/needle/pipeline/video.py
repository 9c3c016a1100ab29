"""A scan's per-file work for a video: digests, vPDQ, a few classified frames, one record.

In: an ``Item`` that ``needle.media.video.video_source`` found to be a video (its path on disk,
streamed; or an archive member's bytes) and the scan's ``ScanOptions``. Out: a ``FileRecord``
like an image's: the md5, sha1 and sha256 of the bytes (HMA's ``video_md5`` is the md5), the
``vpdq`` signal (``needle.signals.vpdq_signal``), what the container declares
(``FileRecord.video``), and, when the scan classifies, one ``Classification`` per sampled
frame and classifier, each with its ``frame_time``; or the reason the video could not be read.

The steps, in one pass over the video (frames are decoded once):

1. digests of the bytes, streamed from disk (a video larger than ``Limits.max_file_bytes`` is
   still read; the video limits bound it);
2. every frame decoded within the video limits (``needle.media.video``); one frame every
   ``seconds_per_hash`` hashed with PDQ and its 8 dihedral variants (the variants are used
   only for matching: a mirrored copy of a banked video is found through them);
3. frames to classify picked while hashing (``needle.classify.frames.FramePicker``: evenly
   spread ones and scene changes, at most ``2 * video_frames``, reduced to the models'
   working size);
4. the classifiers over those frames in one batch (models loaded once per worker), each
   result with its frame's time;
5. container tags and C2PA (``needle.provenance.video``), when the scan reads provenance.

A video that cannot be read keeps its digests and says why (reason ``corrupt``,
``too-large``, ``unsupported`` or ``missing-extra``); memory is bounded by the kept frames.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from needle.classify.frames import FramePicker, classify_frames
from needle.errors import MediaError, OptionalDependencyError
from needle.media import Item
from needle.media.reading import read_chunks
from needle.signals import Signal
from needle.store.record import FileRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from needle.classify.base import Classification
    from needle.media.video import VideoSource
    from needle.pipeline.worker import ScanOptions
    from needle.provenance.model import ProvenanceResult
    from needle.signals.vpdq import VideoHashes

__all__ = ["compute_video"]

_DIGESTS = ("md5", "sha1", "sha256")


def compute_video(
    item: Item,
    source: VideoSource,
    options: ScanOptions,
    lap: Callable[[str], None],
) -> FileRecord:
    """One video's record. Never raises for bad input: the record says why."""
    stage_errors: dict[str, str] = {}
    try:
        signals, size = _digests(source)
    except MediaError as exc:
        return FileRecord(item.path, item.size, error=str(exc), error_reason=exc.reason)
    except OSError as exc:
        return FileRecord(
            item.path, item.size, error=f"cannot read: {exc.strerror or exc}",
            error_reason="unreadable",
        )  # fmt: skip
    lap("read")
    picker = FramePicker(options.video_frames if options.classify else 0)
    try:
        hashes, tags = _hash(source, signals["md5"].value, options, picker)
    except (MediaError, OptionalDependencyError) as exc:
        reason = exc.reason if isinstance(exc, MediaError) else "missing-extra"
        lap("decode")
        return FileRecord(item.path, size, signals, error=str(exc), error_reason=reason)
    lap("decode")
    from needle.signals.vpdq_signal import vpdq_signal

    signals["vpdq"] = vpdq_signal(hashes.vpdq.features)
    lap("signals")
    classifications: tuple[Classification, ...] = ()
    if options.classify and picker.kept:
        from needle.pipeline.worker import loaded_classifiers

        classifications = classify_frames(
            loaded_classifiers(options), picker.frames(hashes.rotation), path=item.path
        )
        lap("classify")
    provenance: ProvenanceResult | None = None
    if options.provenance:
        provenance = _provenance(source, item.path, tags, stage_errors)
        lap("provenance")
    info = hashes.info
    return FileRecord(
        item.path,
        size,
        signals,
        format=info.container,
        width=info.width,
        height=info.height,
        frames=hashes.frame_count,
        classifications=classifications,
        provenance=provenance,
        stage_errors=stage_errors,
        video=hashes,
    )


def _digests(source: VideoSource) -> tuple[dict[str, Signal], int]:
    """md5, sha1 and sha256 of the bytes, and their count; a path is read in chunks."""
    digests = {name: hashlib.new(name, usedforsecurity=False) for name in _DIGESTS}
    size = 0
    for chunk in _chunks(source):
        size += len(chunk)
        for digest in digests.values():
            digest.update(chunk)
    return {name: Signal(name, d.hexdigest()) for name, d in digests.items()}, size


def _chunks(source: VideoSource) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    yield from read_chunks(os.fspath(source))


def _hash(
    source: VideoSource, md5: str, options: ScanOptions, picker: FramePicker
) -> tuple[VideoHashes, dict[str, str]]:
    """The vPDQ (with dihedral variants) of one pass over the video, and its container tags;
    ``picker`` sees every hashed frame with its feature and keeps the ones to classify."""
    from needle.media.video import open_video
    from needle.signals.vpdq import VideoHashes, VpdqHash, vpdq_features

    with open_video(source, limits=options.limits) as reader:
        features = []
        for frame in reader.frames(seconds_per_frame=options.seconds_per_hash, upright=False):
            (feature,) = vpdq_features([frame], dihedral=True)
            features.append(feature)
            picker.offer(frame, feature)
        hashes = VideoHashes(
            video_md5=md5,
            info=reader.info,
            frame_count=reader.frame_count,
            rotation=reader.rotation,
            seconds_per_hash=options.seconds_per_hash,
            vpdq=VpdqHash(tuple(features)),
        )
        return hashes, reader.tags()


def _provenance(
    source: VideoSource, path: str, tags: dict[str, str], stage_errors: dict[str, str]
) -> ProvenanceResult | None:
    try:
        from needle.provenance.options import DEFAULT_OPTIONS
        from needle.provenance.video import examine_video

        anchors = DEFAULT_OPTIONS.c2pa_trust_anchors
        return examine_video(source, filename=path, tags=tags, trust_anchors=anchors)
    except Exception as exc:  # a provenance bug must not cost the file its other results
        stage_errors["provenance"] = f"{type(exc).__name__}: {exc}"
        return None
