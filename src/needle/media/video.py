"""Reading videos safely: what a container holds, and its frames as RGB pixels, within limits.

In: a video's bytes (an archive member) or a path on disk (streamed, never read whole into
memory). Out: a ``VideoInfo`` (container, codec, size, frame rate, duration, rotation) and an
iterator of ``DecodedFrame`` (frame number, timestamp in seconds, H x W x 3 uint8 RGB), or a
``MediaError`` saying why not; nothing else escapes.

How:

1. **sniff** (``sniff_video``): the container is told by its first bytes, never by the file's
   name: MP4/MOV/3GP (``ftyp``, less the HEIF/AVIF image and audio-only brands), Matroska/WebM
   (EBML), AVI (``RIFF....AVI``), FLV, MPEG-TS, MPEG-PS and ASF/WMV. FFmpeg is then told that
   demuxer by name, so it never probes its way into another one (playlists, ``concat``
   lists and image-sequence demuxers read other files; none of them is reachable here).
2. **open** (``open_video``): PyAV (FFmpeg) reads the header; the first video stream is
   taken, as the vPDQ reference takes it. Before a frame is decoded the declared frame size,
   duration and frame count are checked against ``Limits``, and the decoder is told the
   pixel limit itself (FFmpeg's ``max_pixels``).
3. **decode** (``VideoReader.frames``): frames come in the decoder's output order and are
   counted from 0 as the reference counts them (``AVCodecContext.frame_num - 1``); the
   timestamp is ``frame number / frame rate`` (the stream's average rate, else its real base
   rate), as the reference computes it, so it does not depend on presentation times. With
   ``seconds_per_frame`` S only frames whose number is a multiple of ``int(S * frame rate)``
   are converted to RGB and yielded (the reference's selection). Frame count, frame size and
   time are checked after every frame.
   **Skipping** (``needle.media.video_skip``): most of the time goes into decoding frames
   that are never sampled. In H.264/H.265 from MP4 or Matroska, a packet that is not
   sampled and that no sampled frame can depend on (a picture no other refers to; a picture
   after the last sampled one before the next IDR picture) is counted from its
   presentation time but not decoded. The numbers are checked against the decoder's output
   as it goes; where the check fails, the video is decoded again, every frame (as
   ``skip_unused=False`` has it do from the start).
4. **convert**: YUV to RGB24 by swscale at the stored size, with the reference's settings
   (BT.601 coefficients, limited range except the ``yuvj`` formats, ``SWS_AREA``), then
   turned upright by the stream's display matrix (rotation and mirroring, as the
   ``ffmpeg`` command line does) unless ``upright=False``.

PyAV is optional (``pip install 'needle-triage[video]'``); it is imported when a video is
opened, and its absence is an ``OptionalDependencyError`` naming the extra.
"""

from __future__ import annotations

import io
import math
import os
import struct
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import numpy as np

from needle._optional import import_optional
from needle.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from needle.media.item import Item
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.reading import open_regular
from needle.media.video_skip import Irregular, SkipPlan

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = [
    "CONTAINERS",
    "SNIFF_BYTES",
    "DecodedFrame",
    "VideoInfo",
    "VideoReader",
    "VideoSource",
    "frame_step",
    "is_video",
    "open_video",
    "sniff_video",
    "video_source",
]

#: what a video may be read from: its bytes, or a path on disk
VideoSource = bytes | str | os.PathLike[str]

#: bytes of a file's start that ``sniff_video`` looks at (MPEG-TS needs three 188-byte packets)
SNIFF_BYTES = 600

#: container kind -> (FFmpeg demuxer that reads it, what it is in words)
CONTAINERS: dict[str, tuple[str, str]] = {
    "mp4": ("mov", "MP4 / QuickTime MOV / 3GP (ISO base media)"),
    "matroska": ("matroska", "Matroska / WebM"),
    "avi": ("avi", "AVI"),
    "flv": ("flv", "Flash Video (FLV)"),
    "mpegts": ("mpegts", "MPEG transport stream (.ts, .mts, .m2ts)"),
    "mpegps": ("mpeg", "MPEG program stream (.mpg, .vob)"),
    "asf": ("asf", "ASF / Windows Media Video (.wmv)"),
}

#: ``ftyp`` major brands of ISO files that are still images or audio, not video: HEIF/HEIC and
#: AVIF pictures (and their sequences, which the image decoder reads), Canon CR3 raw, MPEG-4
#: audio. They go to the image path, as before.
_NOT_VIDEO_BRANDS = frozenset(
    {
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif",
        b"avis", b"crx ", b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ",
    }
)  # fmt: skip
#: QuickTime files written before ``ftyp`` existed start with one of these atoms
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_EBML = b"\x1a\x45\xdf\xa3"
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_TS_SYNC = 0x47


def sniff_video(head: bytes) -> str | None:
    """The container kind (a key of ``CONTAINERS``) of a file starting with ``head``, or None.

    Looks at magic bytes only (``SNIFF_BYTES`` are enough), never at a name.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return None if head[8:12] in _NOT_VIDEO_BRANDS else "mp4"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS and int.from_bytes(head[:4]) >= 8:
        return "mp4"
    if head.startswith(_EBML):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(_ASF):
        return "asf"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    for offset, size in ((0, 188), (4, 192)):  # plain TS, and M2TS with its 4-byte prefix
        if len(head) > offset + 2 * size and all(
            head[offset + k * size] == _TS_SYNC for k in range(3)
        ):
            return "mpegts"
    return None


def is_video(head: bytes) -> bool:
    """True when the bytes start like a video container needle reads (``sniff_video``)."""
    return sniff_video(head) is not None


def video_source(item: Item, limits: Limits = DEFAULT_LIMITS) -> tuple[Item, VideoSource | None]:
    """Whether ``item`` is a video, from its content: ``(item, source)`` with the source to
    open (its path on disk, streamed; or its bytes), else ``(item, None)``.

    A plain file on disk is sniffed from its first bytes only, so a video larger than
    ``Limits.max_file_bytes`` is still read (streamed). Anything else is read once, within the
    limits, and the item returned carries those bytes, so whoever processes it next does not
    read it again. An item that cannot be read is returned as it is, for its reader to
    record why.
    """
    if item.error is not None:
        return item, None
    if item.data is None and item.member is None and item.fs_path is not None:
        try:
            with open_regular(item.fs_path) as handle:
                head = handle.read(SNIFF_BYTES)
        except (MediaError, OSError):
            return item, None
        return item, item.fs_path if is_video(head) else None
    try:
        data = item.read(limits)
    except MediaError:
        return item, None
    item = replace(item, data=data, member=None, size=len(data))
    return item, data if is_video(data[:SNIFF_BYTES]) else None


@dataclass(frozen=True)
class VideoInfo:
    """What a video's container and stream declare, read before any frame is decoded."""

    container: str  #: the sniffed kind, a key of ``CONTAINERS``
    codec: str  #: FFmpeg's decoder name (``h264``, ``hevc``, ``vp9``, ``mpeg4`` ...)
    width: int  #: stored frame size, before the display matrix turns it
    height: int
    frame_rate: float  #: frames a second: the stream's average rate, else its real base rate
    duration: float | None  #: seconds, as declared; None when the container does not say
    declared_frames: int | None  #: frame count the container declares; None when it does not


class DecodedFrame(NamedTuple):
    """One decoded frame: its number from 0, its timestamp (number / frame rate) and pixels."""

    number: int
    timestamp: float
    rgb: np.ndarray  #: H x W x 3 uint8 RGB


def frame_step(seconds_per_frame: float, frame_rate: float) -> int:
    """Every how many frames one is taken: ``int(seconds * rate)``, at least 1 (0: every
    frame), as the vPDQ reference's ``FFmpegHasher`` computes ``m_frameMod``."""
    if seconds_per_frame < 0 or not math.isfinite(seconds_per_frame):
        raise ValueError(f"seconds per frame must be 0 or more, not {seconds_per_frame}")
    return max(1, int(seconds_per_frame * frame_rate))


def _av() -> ModuleType:
    return import_optional("av", "video")


def open_video(
    source: VideoSource,
    *,
    limits: Limits = DEFAULT_LIMITS,
    clock: Callable[[], float] = time.monotonic,
    decoder_threads: int = 0,
) -> VideoReader:
    """Open a video (bytes, or a path on disk) for reading; close it, or use it in ``with``.

    Raises ``UnsupportedMedia`` when the bytes are no video container needle reads or hold
    no video stream, ``MediaTooLarge`` when the header declares more than ``limits`` allow,
    ``CorruptMedia`` when FFmpeg cannot read the header, ``OptionalDependencyError`` when
    PyAV is not installed. ``clock`` (seconds) times ``limits.max_video_decode_seconds``.
    ``decoder_threads``: FFmpeg's decoder threads (0: its choice, one per core this process
    may run on; slice threads, which pictures coded as one slice do not use).
    """
    av = _av()
    handle: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else _open_path(source)
    try:
        head = handle.read(SNIFF_BYTES)
        handle.seek(0)
        kind = sniff_video(head)
        if kind is None:
            raise UnsupportedMedia(
                "not a video container needle reads (MP4/MOV/3GP, Matroska/WebM, AVI, FLV, "
                "MPEG-TS/PS, ASF/WMV), judged by its content, whatever its name"
            )
        try:
            container = av.open(handle, mode="r", format=CONTAINERS[kind][0])
        except av.error.FFmpegError as exc:
            raise CorruptMedia(f"cannot read the video's header: {_reason(exc)}") from None
        return VideoReader(container, handle, kind, limits, clock, decoder_threads)
    except MediaError:
        handle.close()
        raise
    except Exception as exc:  # PyAV raises plain Python errors on some damaged headers
        handle.close()
        raise CorruptMedia(f"cannot read the video's header: {_reason(exc)}") from None


def _open_path(path: str | os.PathLike[str]) -> BinaryIO:
    return open_regular(os.fspath(path))


def _reason(exc: BaseException) -> str:
    """An FFmpeg error's message without PyAV's errno and ``'<none>'`` file-name decoration."""
    strerror = getattr(exc, "strerror", None)
    text = str(strerror or exc or type(exc).__name__)
    return text[:1].lower() + text[1:]


class VideoReader:
    """An open video: ``info``, then ``frames()`` once. Closes its container and file."""

    def __init__(
        self,
        container: InputContainer,
        handle: BinaryIO,
        kind: str,
        limits: Limits,
        clock: Callable[[], float],
        decoder_threads: int = 0,
    ) -> None:
        self._container = container
        self._handle = handle
        self._limits = limits
        self._clock = clock
        self._threads = decoder_threads
        self._started = False
        #: frames counted so far by ``frames()``, every one, whether yielded, decoded or not
        self.frame_count = 0
        #: frames the decoder gave: fewer than ``frame_count`` where frames were skipped
        #: (``needle.media.video_skip``), more where a failed skip plan had it start again
        self.decoded_count = 0
        try:
            self._stream = self._video_stream()
            self.info = self._read_info(kind)
            self._set_up_decoder()
        except BaseException:
            self.close()
            raise
        self._matrix = _stream_matrix(self._stream)
        #: degrees the display matrix turns the picture counter-clockwise (0: none). FFmpeg 7+
        #: hands the matrix over with the decoded frames, so it is known after the first one.
        self.rotation = _rotation_of(self._matrix)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def tags(self, *, max_tags: int = 64, max_chars: int = 500) -> dict[str, str]:
        """The container's and the video stream's metadata tags (``encoder``, ``comment``,
        ``com.apple.quicktime.software`` ...), stream tags prefixed ``stream:``; at most
        ``max_tags`` of them, each value cut to ``max_chars``: what provenance reads."""
        found: dict[str, str] = {}
        for prefix, tags in (("", self._container.metadata), ("stream:", self._stream.metadata)):
            for key, value in list(tags.items())[:max_tags]:
                if len(found) < max_tags:
                    found[f"{prefix}{str(key)[:100]}"] = str(value)[:max_chars]
        return found

    def close(self) -> None:
        try:
            self._container.close()
        finally:
            self._handle.close()

    def _video_stream(self) -> VideoStream:
        streams = self._container.streams.video
        if not streams:
            raise UnsupportedMedia(
                "the file holds no video stream (audio only, or an empty track): nothing to hash"
            )
        stream = streams[0]  # the reference hashes the first video stream
        if stream.codec_context is None or not stream.codec_context.name:
            raise UnsupportedMedia("no decoder for this video's codec in this FFmpeg build")
        return stream

    def _read_info(self, kind: str) -> VideoInfo:
        stream, limits = self._stream, self._limits
        context = stream.codec_context
        width, height = context.width, context.height
        if width <= 0 or height <= 0:
            raise CorruptMedia(
                "the video stream declares no usable frame size (none, or one too large for "
                "FFmpeg to accept)"
            )
        _check_pixels(width, height, limits)
        rate = stream.average_rate or stream.base_rate
        frame_rate = float(rate) if rate else 0.0
        if not (frame_rate > 0 and math.isfinite(frame_rate)):
            raise CorruptMedia("the video stream declares no frame rate")
        durations = []
        if self._container.duration:
            durations.append(self._container.duration / 1_000_000)  # AV_TIME_BASE
        if stream.duration and stream.time_base:
            durations.append(float(stream.duration * stream.time_base))
        duration = max(durations) if durations else None
        if duration is not None and duration > limits.max_video_seconds:
            raise MediaTooLarge(
                f"the video declares {duration:,.0f} s, over the limit of "
                f"{limits.max_video_seconds:,.0f} s (Limits.max_video_seconds): not decoded"
            )
        declared = stream.frames or None
        if declared is not None and declared > limits.max_video_frames:
            raise MediaTooLarge(
                f"the video declares {declared:,} frames, over the limit of "
                f"{limits.max_video_frames:,} (Limits.max_video_frames): not decoded"
            )
        return VideoInfo(
            container=kind,
            codec=context.name,
            width=width,
            height=height,
            frame_rate=frame_rate,
            duration=duration,
            declared_frames=declared,
        )

    def _set_up_decoder(self) -> None:
        context = self._stream.codec_context
        # the decoder refuses larger pictures itself, before allocating them
        context.options = {**context.options, "max_pixels": str(self._limits.max_video_pixels)}
        context.thread_count = self._threads

    def _reopen(self, av: ModuleType) -> None:
        """The container opened again at the file's first byte, to decode every frame."""
        self._container.close()
        try:
            self._handle.seek(0)
            self._container = av.open(
                self._handle, mode="r", format=CONTAINERS[self.info.container][0]
            )
            self._stream = self._video_stream()
            self._set_up_decoder()
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise CorruptMedia(f"cannot read the video again: {_reason(exc)}") from None

    def frames(
        self, *, seconds_per_frame: float = 0.0, upright: bool = True, skip_unused: bool = True
    ) -> Iterator[DecodedFrame]:
        """Count every frame; yield the sampled ones (``frame_step``) as RGB.

        ``upright`` applies the display matrix (rotation, mirroring); the vPDQ reference
        hashes the stored frames, and ``needle.signals.vpdq`` passes False. ``skip_unused``:
        frames that are not sampled and that no sampled frame depends on are counted without
        being decoded where that is safe (``video_skip.SkipPlan``); False decodes every
        frame. The frames yielded and ``frame_count`` are the same either way. Raises a
        ``MediaError`` when a limit is passed or the stream is damaged; one that holds no
        frame at all is ``CorruptMedia``. Time spent by the caller between frames counts
        towards ``Limits.max_video_decode_seconds``.
        """
        if self._started:
            raise RuntimeError("frames() reads a video once; open it again to re-read")
        self._started = True
        av = _av()
        step = frame_step(seconds_per_frame, self.info.frame_rate)
        deadline = self._clock() + self._limits.max_video_decode_seconds
        plan = SkipPlan.of(self._stream, self.info.container, step) if skip_unused else None
        last = -1  # the last frame yielded: after a failed plan, decoding resumes past it
        while True:
            try:
                for number, frame in self._numbered(av, deadline, plan):
                    if number > last and number % step == 0:
                        last = number
                        rgb = self._rgb(frame, upright)
                        yield DecodedFrame(number, number / self.info.frame_rate, rgb)
                break
            except Irregular:
                self._reopen(av)
                plan = None
        if self.frame_count == 0:
            raise CorruptMedia("the video stream holds no frames")

    def _numbered(
        self, av: ModuleType, deadline: float, plan: SkipPlan | None
    ) -> Iterator[tuple[int, VideoFrame]]:
        """Each decoded frame with its number: its place in the decoder's output, or, with
        a plan, the place the plan checked it has among all frames, skipped ones included."""
        decoded = self._decoded(av, deadline, plan)
        self.frame_count = 0
        try:
            for frame in decoded:
                self.decoded_count += 1
                number = self.frame_count if plan is None else plan.output(frame)
                _check_pixels(frame.width, frame.height, self._limits)
                self._check(number, deadline)
                self.frame_count = number + 1
                if number == 0:
                    self._matrix = _frame_matrix(frame) or self._matrix
                    self.rotation = _rotation_of(self._matrix)
                yield number, frame
        finally:
            decoded.close()
        if plan is not None:
            self.frame_count = plan.finish()

    def _decoded(
        self, av: ModuleType, deadline: float, plan: SkipPlan | None
    ) -> Generator[VideoFrame, None, None]:
        """Frames in decoder order, of the packets ``plan`` has decoded (every one without a
        plan; the numbers of the others checked against the limits), FFmpeg's failures
        turned into ``MediaError``; the clock is also read before each packet, so packets
        that decode to no frame are timed too. A file whose last packet the demuxer read
        short (``is_corrupt``: the file ends inside it) is truncated, even where FFmpeg made
        a frame of the part it had."""
        cut_off = False  # the last packet read came short: the file ends inside it
        try:
            for packet in self._container.demux(self._stream):
                self._in_time(deadline, self.frame_count)
                if packet.size:
                    cut_off = bool(packet.is_corrupt)
                if plan is None:
                    yield from packet.decode()
                    continue
                for ready in plan.feed(packet):
                    yield from ready.decode()
                self._check(plan.highest, deadline)
        except av.error.FFmpegError as exc:
            raise CorruptMedia(f"the video is damaged or truncated: {_reason(exc)}") from None
        except MemoryError:
            raise MediaTooLarge("not enough memory to decode this video") from None
        except (ValueError, IndexError, OSError, RuntimeError) as exc:
            raise CorruptMedia(f"the video is damaged or truncated: {_reason(exc)}") from None
        if cut_off:  # the decoder may make a frame of what there was, without an error
            raise CorruptMedia(
                "the video is damaged or truncated: the file ends inside its last frame"
            )

    def _in_time(self, deadline: float, frames: int) -> None:
        if self._clock() > deadline:
            raise MediaTooLarge(
                f"decoding took longer than {self._limits.max_video_decode_seconds:g} s "
                f"(Limits.max_video_decode_seconds): stopped after {frames:,} frames"
            )

    def _check(self, number: int, deadline: float) -> None:
        """Frame ``number`` (decoded or not) within the frame, duration and time limits."""
        limits = self._limits
        if number >= limits.max_video_frames:
            raise MediaTooLarge(
                f"the video has more than {limits.max_video_frames:,} frames "
                "(Limits.max_video_frames): stopped there"
            )
        if number / self.info.frame_rate > limits.max_video_seconds:
            raise MediaTooLarge(
                f"the video runs past {limits.max_video_seconds:,.0f} s "
                "(Limits.max_video_seconds): stopped there"
            )
        self._in_time(deadline, number)

    def _rgb(self, frame: VideoFrame, upright: bool) -> np.ndarray:
        """The frame as RGB24, converted as the reference's ``sws_scale`` converts it."""
        full_range = frame.format.name.startswith("yuvj")
        try:
            rgb = frame.to_ndarray(
                format="rgb24",
                interpolation="AREA",
                src_colorspace="ITU601",
                src_color_range="JPEG" if full_range else "MPEG",
                dst_color_range="JPEG",
            )
        except MemoryError:
            raise MediaTooLarge("not enough memory to convert this frame") from None
        except Exception as exc:  # an odd pixel format swscale cannot convert
            raise CorruptMedia(f"cannot convert a frame to RGB: {_reason(exc)}") from None
        return _orient(rgb, self._matrix) if upright and self._matrix else rgb


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_video_pixels:
        raise MediaTooLarge(
            f"video frames are {width:,} x {height:,} = {width * height:,} pixels, over the "
            f"limit of {limits.max_video_pixels:,} (Limits.max_video_pixels)"
        )


# -- the display matrix -------------------------------------------------------------------------


def _unpack_matrix(data: bytes) -> tuple[int, ...] | None:
    """FFmpeg's 3 x 3 display matrix (nine int32, 16.16 fixed point but the last column)."""
    return struct.unpack("=9i", data) if len(data) == 36 else None


def _frame_matrix(frame: VideoFrame) -> tuple[int, ...] | None:
    """The display matrix FFmpeg 7+ attaches to each decoded frame, if any."""
    try:
        side = frame.side_data.get("DISPLAYMATRIX")
        return None if side is None else _unpack_matrix(memoryview(side).tobytes())  # type: ignore[arg-type]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _stream_matrix(stream: VideoStream) -> tuple[int, ...] | None:
    """The stream's display matrix, where this PyAV exposes it (older releases, FFmpeg 6)."""
    side = getattr(stream, "side_data", None)
    try:
        value = side.get("DISPLAYMATRIX") if side is not None else None
    except (AttributeError, KeyError, TypeError):
        return None
    if isinstance(value, int | float) and math.isfinite(value):  # PyAV < 14 gives the angle
        turn = math.radians(-value)
        unit = 1 << 16
        cos, sin = round(math.cos(turn) * unit), round(math.sin(turn) * unit)
        return (cos, -sin, 0, sin, cos, 0, 0, 0, 1 << 30)
    return None


def _rotation_of(matrix: tuple[int, ...] | None) -> int:
    """libavutil ``av_display_rotation_get``, rounded: degrees counter-clockwise in
    (-180, 180], 0 if none."""
    if not matrix:
        return 0
    scale0, scale1 = math.hypot(matrix[0], matrix[3]), math.hypot(matrix[1], matrix[4])
    if scale0 == 0 or scale1 == 0:
        return 0
    degrees = round(-math.degrees(math.atan2(matrix[1] / scale1, matrix[0] / scale0)))
    return 180 if degrees == -180 else degrees  # one name for a half turn


def _orient(rgb: np.ndarray, matrix: tuple[int, ...]) -> np.ndarray:
    """Turn stored pixels as the display matrix says, as ``ffmpeg``'s autorotate does
    (fftools ``get_rotation``: quarter turns, transposes and flips; other angles are left)."""
    theta = float(-_rotation_of(matrix))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:  # transpose=clock, or cclock_flip when mirrored
        out = rgb.transpose(1, 0, 2) if matrix[3] > 0 else np.rot90(rgb, -1)
    elif abs(theta - 180) < 1:
        out = rgb[:, ::-1] if matrix[0] < 0 else rgb
        out = out[::-1] if matrix[4] < 0 else out
    elif abs(theta - 270) < 1:  # transpose=cclock, or clock_flip when mirrored
        out = np.rot90(rgb, -1)[::-1] if matrix[3] < 0 else np.rot90(rgb, 1)
    elif abs(theta) < 1 and matrix[4] < 0:
        out = rgb[::-1]
    else:
        return rgb
    return np.ascontiguousarray(out)
