"""Benign videos for tests, made with PyAV from synthesised pictures, and hostile ones.

Every picture is ``conftest.synth_image`` (gradients and rectangles), panned a little from
frame to frame so that consecutive frames differ the way a camera pan does. Import this
module only after ``pytest.importorskip("av")``.
"""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from conftest import synth_image


def scene(seed: int, frame: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``frame`` of a slow pan across synthetic picture ``seed`` (H x W x 3 RGB)."""
    width, height = size
    wide = np.asarray(synth_image(seed, (width + 200, height)))
    left = (frame * 2) % 200
    return np.ascontiguousarray(wide[:, left : left + width])


def make_video(
    *,
    frames: int = 30,
    size: tuple[int, int] = (160, 120),
    rate: int = 10,
    fmt: str = "mp4",
    codec: str = "libx264",
    seed: int = 1,
    rotate: float | None = None,
    path: Path | None = None,
    options: dict[str, str] | None = None,
    bit_rate: int | None = None,
) -> bytes:
    """A video of ``frames`` frames of ``scene(seed)``; written to ``path`` too when given
    (formats that seek back to finish their header, MP4 with ``faststart``, need a path)."""
    target: Path | io.BytesIO = path if path is not None else io.BytesIO()
    with av.open(target, "w", format=fmt, options=options or {}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        if rotate is not None:
            stream.set_display_rotation(rotate)
        for number in range(frames):
            picture = av.VideoFrame.from_ndarray(scene(seed, number, size), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes() if path is not None else target.getvalue()  # type: ignore[union-attr]


def many_frames(count: int, *, fmt: str = "mp4", rate: int = 10_000) -> bytes:
    """A 16 x 16 video of ``count`` frames at ``rate`` a second, made fast: one intra-coded
    MPEG-4 frame muxed ``count`` times (a few bytes each), nothing encoded per frame."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, rate)
        picture = av.VideoFrame.from_ndarray(scene(2, 0, (16, 16)), format="rgb24")
        encoded = [*stream.encode(picture), *stream.encode()]
        payload = bytes(encoded[0])
        for number in range(count):
            packet = av.Packet(payload)
            packet.stream = stream
            packet.pts = packet.dts = number
            packet.time_base = stream.time_base
            packet.is_keyframe = True
            container.mux(packet)
    return buffer.getvalue()


def avi_declaring(width: int, height: int) -> bytes:
    """A 16 x 16 raw-video AVI whose headers (``avih`` and the stream's ``strf``) declare
    ``width`` x ``height`` instead."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as container:
        stream = container.add_stream("rawvideo", rate=10)
        stream.width = stream.height = 16
        stream.pix_fmt = "rgb24"
        for number in range(3):
            picture = av.VideoFrame.from_ndarray(scene(3, number, (16, 16)), format="rgb24")
            for packet in [*stream.encode(picture)]:
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(buffer.getvalue())
    avih = data.index(b"avih") + 8  # MainAVIHeader: ... dwWidth, dwHeight at bytes 32-39
    data[avih + 32 : avih + 40] = struct.pack("<II", width, height)
    strf = data.index(b"strf") + 8  # BITMAPINFOHEADER: biSize, biWidth, biHeight
    data[strf + 4 : strf + 12] = struct.pack("<ii", width, height)
    return bytes(data)


def empty_track(fmt: str, path: Path) -> bytes:
    """A container with one video stream and not a single frame in it."""
    with av.open(path, "w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p"
        container.start_encoding()
    return path.read_bytes()
