"""vPDQ, Meta's video hash: the PDQ of sampled frames, each with its number, quality and time.

In: a video (bytes or a path; ``needle.media.video`` reads it within ``Limits``). Out: a
``VideoHashes``: the ``video_md5`` of the file's bytes (HMA's name for it), what the container
declares, and the ``VpdqHash``: one ``VpdqFeature(frame, quality, pdq, timestamp)`` per
sampled frame, in frame order.

How, as the reference (ThreatExchange ``vpdq/cpp/vpdq/cpp/hashing``: ``filehasher.cpp``,
``ffmpegwrapper.cpp``, ``hasher.h``, ``bufferhasher.cpp``) computes it:

- every frame of the first video stream is counted from 0 in decoder output order (frames
  that are not hashed and that no hashed frame depends on are counted from their
  presentation times without being decoded, where that gives the same numbers:
  ``needle.media.video_skip``); frame ``n`` is hashed when
  ``n % int(seconds_per_hash * frame_rate) == 0`` (every frame when that is 0:
  ``seconds_per_hash=0``). The default, 1 s, is the reference Python
  bindings' (``vpdq.computeHash``) and python-threatexchange's;
- the frame is converted to RGB24 by swscale at its stored size (the reference's
  ``downsample_width``/``height`` default to 0: no resize; BT.601, ``SWS_AREA``) and not
  turned by the display matrix (the reference never reads it);
- PDQ of those full-resolution pixels (``pdq_hash_pixels``, the reference's arithmetic),
  without dihedral variants or border trimming (``dihedral=True`` adds the 8 variants to
  each feature's ``variants``, for searching mirrored or turned copies; the hash itself, the
  text form and the dict stay the reference's);
- the timestamp is ``frame / frame_rate`` (the stream's average rate, else its real base
  rate), not the frame's presentation time.

The text form is the reference's ``vpdqio.cpp``: one line per feature,
``frame,quality,pdq_hex,timestamp`` with the timestamp to 3 decimals.

Measured on the reference's sample clips (``tests/signals/test_vpdq.py``, docs/video.md):
frame numbers and timestamps equal on every frame; every frame of quality >= 80 within
Hamming distance 6 of the reference (tolerance 10; the rest is YUV-to-RGB rounding in
different FFmpeg releases).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from needle.errors import SignalFormatError
from needle.jsonvalue import JSONObject, JSONValue
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.reading import read_chunks
from needle.media.video import DecodedFrame, VideoInfo, VideoSource, open_video
from needle.signals.pdq import pdq_hash_pixels

__all__ = [
    "VPDQ_SECONDS_PER_HASH",
    "VPDQ_TIMESTAMP_DECIMALS",
    "VideoHashes",
    "VpdqFeature",
    "VpdqHash",
    "hash_video",
    "video_md5",
    "vpdq_features",
]

VPDQ_SECONDS_PER_HASH = 1.0  # vpdq python/vpdq.pyx computeHash: seconds_per_hash=1.0
VPDQ_TIMESTAMP_DECIMALS = 3  # vpdq cpp/io/vpdqio.cpp: TIMESTAMP_OUTPUT_PRECISION = 3

_PDQ_HEX = 64


@dataclass(frozen=True)
class VpdqFeature:
    """The PDQ of one frame: its number from 0, quality 0-100, hash, and time in seconds."""

    frame: int
    quality: int
    pdq: str
    timestamp: float
    #: the frame's dihedral PDQ variants ``(transform, hex)``, ``original`` first, when hashed
    #: with ``dihedral=True`` (else empty); used only for searching, never written out
    variants: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def to_text(self) -> str:
        """The reference's line: ``frame,quality,pdq_hex,timestamp`` (3 decimals)."""
        return (
            f"{self.frame},{self.quality},{self.pdq},{self.timestamp:.{VPDQ_TIMESTAMP_DECIMALS}f}"
        )

    @classmethod
    def from_text(cls, line: str) -> VpdqFeature:
        """Parse one reference line; ``SignalFormatError`` says what is wrong with it."""
        parts = [part.strip() for part in line.strip().split(",")]
        if len(parts) != 4:
            raise SignalFormatError(
                f"a vPDQ line has 4 fields (frame,quality,pdq_hex,timestamp), not {len(parts)}"
            )
        try:
            frame, quality, timestamp = int(parts[0]), int(parts[1]), float(parts[3])
        except ValueError:
            raise SignalFormatError(
                "a vPDQ line's frame and quality are whole numbers and its timestamp a number"
            ) from None
        return cls(frame, quality, parts[2].lower(), timestamp).checked()

    def checked(self) -> VpdqFeature:
        """This feature, if its values are in range; else ``SignalFormatError``."""
        if len(self.pdq) != _PDQ_HEX or not _is_hex(self.pdq):
            raise SignalFormatError(f"a vPDQ frame hash is {_PDQ_HEX} hex digits: {self.pdq!r}")
        if not 0 <= self.quality <= 100:
            raise SignalFormatError(f"a vPDQ quality is 0-100, not {self.quality}")
        if self.frame < 0:
            raise SignalFormatError(f"a vPDQ frame number is 0 or more, not {self.frame}")
        if not (math.isfinite(self.timestamp) and self.timestamp >= 0):
            raise SignalFormatError(f"a vPDQ timestamp is 0 or more, not {self.timestamp}")
        return self

    def to_dict(self) -> JSONObject:
        return {
            "frame": self.frame,
            "quality": self.quality,
            "pdq": self.pdq,
            "timestamp": round(self.timestamp, VPDQ_TIMESTAMP_DECIMALS),
        }


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class VpdqHash:
    """The vPDQ hash of one video: its features in frame order."""

    features: tuple[VpdqFeature, ...]

    def __len__(self) -> int:
        return len(self.features)

    def __iter__(self) -> Iterator[VpdqFeature]:
        return iter(self.features)

    def to_text(self) -> str:
        """The reference's file: one ``frame,quality,pdq_hex,timestamp`` line per feature."""
        return "".join(feature.to_text() + "\n" for feature in self.features)

    @classmethod
    def from_text(cls, text: str) -> VpdqHash:
        """Parse the reference's file; blank lines are skipped, an error names its line."""
        features = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                features.append(VpdqFeature.from_text(line))
            except SignalFormatError as exc:
                raise SignalFormatError(f"line {number}: {exc}") from None
        if not features:
            raise SignalFormatError("no vPDQ lines (frame,quality,pdq_hex,timestamp) found")
        return cls(tuple(features))

    def to_list(self) -> list[JSONValue]:
        return [feature.to_dict() for feature in self.features]


@dataclass(frozen=True)
class VideoHashes:
    """What hashing one video gives: its digest, what it declares, and its vPDQ."""

    video_md5: str
    info: VideoInfo
    frame_count: int  #: frames in the video, as the reference counts them (hashed or not)
    rotation: int  #: the display matrix's turn, degrees counter-clockwise; frames hashed as stored
    seconds_per_hash: float
    vpdq: VpdqHash

    def to_dict(self) -> JSONObject:
        info = self.info
        return {
            "video_md5": self.video_md5,
            "container": info.container,
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
            "rotation": self.rotation,
            "frame_rate": round(info.frame_rate, 6),
            "duration": None if info.duration is None else round(info.duration, 6),
            "frame_count": self.frame_count,
            "seconds_per_hash": self.seconds_per_hash,
            "vpdq": self.vpdq.to_list(),
        }


def vpdq_features(
    frames: Iterable[DecodedFrame], *, dihedral: bool = False
) -> Iterator[VpdqFeature]:
    """The PDQ of each decoded frame, as the reference's ``hashFrame`` computes it;
    ``dihedral`` also gives each feature its 8 dihedral ``variants``."""
    for frame in frames:
        signal = pdq_hash_pixels(frame.rgb, dihedral=dihedral, trim=False)
        yield VpdqFeature(
            frame.number, signal.quality or 0, signal.value, frame.timestamp, signal.variants
        )


def video_md5(source: VideoSource) -> str:
    """MD5 of the file's bytes (HMA's ``video_md5``); a path is read in chunks, never whole."""
    digest = hashlib.md5(usedforsecurity=False)
    if isinstance(source, bytes):
        digest.update(source)
        return digest.hexdigest()
    for chunk in read_chunks(os.fspath(source)):
        digest.update(chunk)
    return digest.hexdigest()


def hash_video(
    source: VideoSource,
    *,
    seconds_per_hash: float = VPDQ_SECONDS_PER_HASH,
    dihedral: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    clock: Callable[[], float] = time.monotonic,
    skip_unused: bool = True,
    decoder_threads: int = 0,
) -> VideoHashes:
    """The ``video_md5`` and vPDQ of one video; a ``MediaError`` when it cannot be read
    within ``limits`` (``needle.media.video``), ``OptionalDependencyError`` without PyAV.

    ``seconds_per_hash``: one frame hashed every that many seconds (0: every frame).
    ``dihedral``: also the 8 dihedral variants of each frame (``VpdqFeature.variants``), for
    a query that may be a mirrored or turned copy (``needle.match.video``).
    ``skip_unused``: frames not hashed that no hashed frame depends on are counted, not
    decoded, where that is safe (the same hashes; False decodes every frame).
    ``decoder_threads``: FFmpeg's (``open_video``).
    """
    if seconds_per_hash < 0 or not math.isfinite(seconds_per_hash):
        raise ValueError(f"seconds_per_hash must be 0 or more, not {seconds_per_hash}")
    with open_video(source, limits=limits, clock=clock, decoder_threads=decoder_threads) as reader:
        frames = reader.frames(
            seconds_per_frame=seconds_per_hash, upright=False, skip_unused=skip_unused
        )
        features = tuple(vpdq_features(frames, dihedral=dihedral))
        return VideoHashes(
            video_md5=video_md5(source),
            info=reader.info,
            frame_count=reader.frame_count,
            rotation=reader.rotation,
            seconds_per_hash=seconds_per_hash,
            vpdq=VpdqHash(features),
        )
