"""Skipping frames nobody needs (needle.media.video_skip) changes nothing that is read.

Each video is made here with PyAV (tests/videos.py's panned synthetic pictures, libx264 and
libx265 with their default B-frames), then read twice: with ``skip_unused`` (the default)
and with every frame decoded. The frames yielded (numbers, timestamps, every pixel) and the
frame count must be equal, and fewer frames decoded with skipping. Videos whose times are
not regular (a frame missing, one time off the grid) must fall back to decoding every frame
and still give the same frames; an edit list's cut frames are not counted, as FFmpeg does
not output them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="video reading needs PyAV (pip install 'needle-triage[video]')")

import av

from needle.errors import MediaTooLarge
from needle.media import Limits
from needle.media.video import open_video
from needle.media.video_skip import Picture, picture_of
from needle.signals.vpdq import hash_video
from videos import make_video, scene

Packets = list[av.Packet]


def cut_video(
    *,
    codec: str = "libx264",
    fmt: str = "mp4",
    frames: int = 150,
    rate: int = 30,
    cut: int | None = None,
    gop: int | None = None,
) -> bytes:
    """A 160 x 120 pan of ``scene``, a new picture every ``cut`` frames (the encoder makes
    each cut an IDR picture), a group of pictures at most ``gop`` frames long."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for number in range(frames):
            seed = 1 + (number // cut if cut else 0)
            picture = av.VideoFrame.from_ndarray(scene(seed, number, (160, 120)), "rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def remux(data: bytes, fmt: str, change: Callable[[Packets], Packets]) -> bytes:
    """``data``'s video packets, as ``change`` leaves them, in a new ``fmt`` container."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source:
        stream = source.streams.video[0]
        packets = [packet for packet in source.demux(stream) if packet.size]
        with av.open(out, "w", format=fmt) as target:
            copy = target.add_stream_from_template(stream)
            for packet in change(packets):
                packet.stream = copy
                target.mux(packet)
    return out.getvalue()


def read(
    data: bytes, seconds: float, skip: bool
) -> tuple[list[tuple[int, float]], list[np.ndarray], int, int]:
    """Numbers and timestamps, pixels, frame count and frames decoded."""
    with open_video(data) as reader:
        frames = list(reader.frames(seconds_per_frame=seconds, upright=False, skip_unused=skip))
        counts = reader.frame_count, reader.decoded_count
    return [(f.number, f.timestamp) for f in frames], [f.rgb for f in frames], *counts


def assert_same_frames(data: bytes, seconds: float) -> tuple[int, int]:
    """Skipping and decoding everything give the same frames; (frames, decoded) skipping."""
    ours, our_pixels, count, decoded = read(data, seconds, skip=True)
    every, pixels, every_count, every_decoded = read(data, seconds, skip=False)
    assert ours == every and count == every_count
    assert all(np.array_equal(a, b) for a, b in zip(our_pixels, pixels, strict=True))
    assert every_decoded == every_count  # without skipping, each frame is decoded once
    return count, decoded


def non_reference(packet: av.Packet) -> bool:
    return bytes(packet)[4] == 0x01  # 4-byte length, then nal_ref_idc 0, type 1 (libx264)


VIDEOS = {
    "h264-mp4": {},
    "h264-matroska": {"fmt": "matroska"},
    "h264-mov-24fps": {"fmt": "mov", "rate": 24, "frames": 97},
    "h264-cuts": {"cut": 47, "frames": 240},
    "h264-short-gops": {"gop": 40, "frames": 240},
    "h264-matroska-cuts": {"fmt": "matroska", "cut": 71, "gop": 37, "frames": 240},
    "hevc-mp4": {"codec": "libx265"},
    "hevc-matroska-25fps": {"codec": "libx265", "fmt": "matroska", "rate": 25},
}


@pytest.fixture(scope="module")
def videos() -> dict[str, bytes]:
    return {name: cut_video(**kw) for name, kw in VIDEOS.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [1.0, 0.3, 4.0])
@pytest.mark.parametrize("name", list(VIDEOS))
def test_skipping_gives_the_frames_of_decoding_every_one(
    name: str, seconds: float, videos: dict[str, bytes]
) -> None:
    count, decoded = assert_same_frames(videos[name], seconds)
    assert decoded < count * 0.75, (decoded, count)  # measured: 5-59 % of the frames


def test_hash_video_of_a_video_with_b_frames_is_the_same_skipping(
    videos: dict[str, bytes],
) -> None:
    data = videos["h264-cuts"]
    fast, every = hash_video(data), hash_video(data, skip_unused=False)
    assert fast.vpdq == every.vpdq and fast.frame_count == every.frame_count == 240
    assert [f.frame for f in fast.vpdq] == [0, 30, 60, 90, 120, 150, 180, 210]


def test_an_edit_lists_cut_frames_are_not_counted(videos: dict[str, bytes]) -> None:
    def two_frames_early(packets: Packets) -> Packets:
        step = packets[0].duration
        for packet in packets:
            packet.pts -= 2 * step
            packet.dts -= 2 * step
        return packets

    data = remux(videos["h264-mp4"], "mp4", two_frames_early)  # an edit list hides two
    count, decoded = assert_same_frames(data, 1.0)
    assert count == 148 and decoded < count


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_a_missing_frame_has_every_frame_decoded(fmt: str, videos: dict[str, bytes]) -> None:
    def one_missing(packets: Packets) -> Packets:
        chosen = [p for p in packets if non_reference(p)][20]
        return [p for p in packets if p is not chosen]

    count, decoded = assert_same_frames(remux(videos["h264-mp4"], fmt, one_missing), 1.0)
    assert count == 149 and decoded > count  # the plan failed; decoded again in full


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_a_time_off_the_grid_has_every_frame_decoded(fmt: str, videos: dict[str, bytes]) -> None:
    def one_late(packets: Packets) -> Packets:
        chosen = [p for p in packets if non_reference(p)][20]
        chosen.pts += chosen.duration // 3
        return packets

    count, decoded = assert_same_frames(remux(videos["h264-mp4"], fmt, one_late), 1.0)
    assert count == 150 and decoded > count


def test_a_file_is_read_again_from_its_start_when_the_plan_fails(
    tmp_path: Path, videos: dict[str, bytes]
) -> None:
    def one_missing(packets: Packets) -> Packets:
        chosen = [p for p in packets if non_reference(p)][20]
        return [p for p in packets if p is not chosen]

    path = tmp_path / "gap.mp4"
    path.write_bytes(remux(videos["h264-mp4"], "mp4", one_missing))
    fast, every = hash_video(path), hash_video(path, skip_unused=False)
    assert fast.vpdq == every.vpdq and fast.frame_count == every.frame_count == 149


def test_every_frame_is_decoded_where_nothing_can_be_skipped() -> None:
    annex_b = make_video(frames=60, fmt="mpegts", codec="libx264", rate=30)  # no avcC record
    mpeg4 = make_video(frames=60, fmt="mp4", codec="mpeg4", rate=30)
    for data, seconds in ((annex_b, 1.0), (mpeg4, 1.0), (cut_video(frames=60), 0.0)):
        count, decoded = assert_same_frames(data, seconds)
        assert decoded == count == 60


def test_skipped_frames_count_towards_the_limits(videos: dict[str, bytes]) -> None:
    data = videos["h264-matroska-cuts"]  # 240 frames; Matroska declares no frame count
    with open_video(data, limits=Limits(max_video_frames=200)) as reader:
        with pytest.raises(MediaTooLarge, match="more than 200 frames"):
            for _ in reader.frames(seconds_per_frame=1.0):
                pass
        assert reader.decoded_count < 200


# -- what a packet's NAL unit headers say ------------------------------------------------------


def units(*nals: bytes, size: int = 4) -> memoryview:
    """NAL units, each prefixed by its length in ``size`` bytes, as MP4 stores them."""
    return memoryview(b"".join(len(n).to_bytes(size) + n for n in nals))


AVC_SEI, AVC_SPS = b"\x06\x05\x01\x80", b"\x67\x64\x00\x1f"
HEVC_SEI, HEVC_VPS = b"\x4e\x01\x05\x80", b"\x40\x01\x0c\x01"


@pytest.mark.parametrize(
    ("nals", "expected"),
    [
        ((b"\x01\x9e\x00",), Picture(True, False, True)),  # a non-reference B slice
        ((AVC_SEI, b"\x01\x9e\x00", b"\x01\x9e\x01"), Picture(True, False, True)),
        ((b"\x41\x9a\x00",), Picture(False, False, True)),  # nal_ref_idc 2: a reference
        ((b"\x01\x9e\x00", b"\x21\x9e\x01"), Picture(False, False, True)),  # one slice refers
        ((b"\x65\x88\x80",), Picture(False, True, True)),  # IDR
        ((AVC_SPS, b"\x65\x88\x80"), Picture(False, True, False)),  # parameter sets in band
        ((b"\x02\x9e\x00",), Picture(False, False, False)),  # a data partition
        ((AVC_SEI,), Picture(False, False, False)),  # no slice at all
        ((b"\x81\x9e\x00",), Picture(False, False, False)),  # forbidden_zero_bit
    ],
)
def test_h264_pictures_are_read_from_their_nal_headers(
    nals: tuple[bytes, ...], expected: Picture
) -> None:
    assert picture_of(units(*nals), "h264", 4, 0) == expected


def test_a_length_past_the_packet_is_not_read_further() -> None:
    whole = units(b"\x01\x9e\x00\x11")
    assert picture_of(whole[:-1], "h264", 4, 0) == Picture(False, False, False)
    assert picture_of(units(b"\x01\x9e", size=2), "h264", 2, 0).non_reference


@pytest.mark.parametrize(
    ("nals", "top", "expected"),
    [
        ((b"\x00\x01\xaf",), 0, Picture(True, False, True)),  # TRAIL_N, temporal layer 0
        ((HEVC_SEI, b"\x02\x01\xaf"), 0, Picture(False, False, True)),  # TRAIL_R
        ((b"\x00\x02\xaf",), 0, Picture(False, False, True)),  # TRAIL_N in a higher layer
        ((b"\x00\x02\xaf",), 1, Picture(True, False, True)),  # ... the top one
        ((b"\x10\x01\xaf",), 0, Picture(False, False, True)),  # RASL_N: always decoded
        ((b"\x26\x01\xaf",), 0, Picture(False, True, True)),  # IDR_W_RADL
        ((b"\x2a\x01\xaf",), 0, Picture(False, False, True)),  # CRA: not a clean start
        ((HEVC_VPS, b"\x28\x01\xaf"), 0, Picture(False, True, False)),  # IDR_N_LP, VPS
        ((b"\x00\x09\xaf",), 0, Picture(True, False, False)),  # nuh_layer_id 1
    ],
)
def test_h265_pictures_are_read_from_their_nal_headers(
    nals: tuple[bytes, ...], top: int, expected: Picture
) -> None:
    assert picture_of(units(*nals), "hevc", 4, top) == expected
