"""Reading videos safely (needle.media.video): sniffing, frames, rotation, limits, hostile files.

Every video is made here with PyAV from synthesised pictures (tests/videos.py). Limits are
lowered where a default would let a test run long; nothing is timed: each hostile file is
stopped by a limit, or by the header check before decoding.
"""

from __future__ import annotations

import io
import itertools
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="video reading needs PyAV (pip install 'needle-triage[video]')")

from conftest import image_bytes, synth_image
from needle.errors import (
    CorruptMedia,
    MediaError,
    MediaTooLarge,
    OptionalDependencyError,
    SymlinkNotFollowed,
    UnsupportedMedia,
)
from needle.media import Item, Limits, walk
from needle.media.video import (
    SNIFF_BYTES,
    frame_step,
    is_video,
    open_video,
    sniff_video,
    video_source,
)
from videos import avi_declaring, empty_track, make_video, many_frames

CONTAINERS = [
    ("mp4", "libx264", "mp4"),
    ("mov", "mpeg4", "mp4"),
    ("3gp", "mpeg4", "mp4"),
    ("matroska", "libx264", "matroska"),
    ("webm", "libvpx", "matroska"),
    ("avi", "mpeg4", "avi"),
    ("flv", "flv", "flv"),
    ("mpegts", "mpeg2video", "mpegts"),
]


# -- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "codec", "kind"), CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_each_container_is_told_by_its_bytes_and_read(fmt: str, codec: str, kind: str) -> None:
    data = make_video(fmt=fmt, codec=codec, frames=12, size=(96, 64))
    assert sniff_video(data[:SNIFF_BYTES]) == kind
    with open_video(data) as reader:
        frames = list(reader.frames())
        assert reader.info.container == kind
        assert (reader.info.width, reader.info.height) == (96, 64)
        assert reader.frame_count == 12
    assert [f.number for f in frames] == list(range(12))
    assert all(f.rgb.shape == (64, 96, 3) and f.rgb.dtype == np.uint8 for f in frames)


def test_images_and_other_files_are_not_videos() -> None:
    picture = synth_image(0, (32, 32))
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
        assert not is_video(image_bytes(picture, fmt)[:SNIFF_BYTES]), fmt
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
    m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isommp42"
    for head in (heic, avif, m4a, b"", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"%PDF-1.7\n"):
        assert sniff_video(head) is None, head
    assert sniff_video(b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00mp42isom") == "mp4"
    assert sniff_video(b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat") == "mp4"  # old QuickTime


def test_a_file_named_mp4_that_is_no_video_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(b"this is a text file, whatever its name says\n" * 20)
    with pytest.raises(UnsupportedMedia, match="judged by its content"):
        open_video(fake)
    jpeg = tmp_path / "clip.mp4"
    jpeg.write_bytes(image_bytes(synth_image(1)))
    with pytest.raises(UnsupportedMedia):
        open_video(jpeg)


def test_video_source_tells_videos_by_content_for_files_and_members(tmp_path: Path) -> None:
    clip = make_video(frames=5)
    (tmp_path / "clip.bin").write_bytes(clip)  # no video extension
    (tmp_path / "photo.jpg").write_bytes(image_bytes(synth_image(2)))
    with zipfile.ZipFile(tmp_path / "case.zip", "w") as archive:
        archive.writestr("inner/movie.dat", clip)
        archive.writestr("inner/photo.jpg", image_bytes(synth_image(3)))
    found = {}
    for item in walk([str(tmp_path)]):
        checked, source = video_source(item)
        found[item.path.removeprefix(f"{tmp_path}/")] = (checked, source)
    file_item, file_source = found["clip.bin"]
    assert isinstance(file_source, str) and file_item.data is None  # streamed from disk
    member_item, member_source = found["case.zip!inner/movie.dat"]
    assert member_source == clip and member_item.data == clip
    photo_item, photo_source = found["case.zip!inner/photo.jpg"]
    assert photo_source is None and photo_item.data is not None  # read once, handed on
    assert found["photo.jpg"][1] is None


def test_reading_from_bytes_and_from_a_path_gives_the_same_frames(tmp_path: Path) -> None:
    data = make_video(frames=8)
    (tmp_path / "v.mp4").write_bytes(data)
    with open_video(data) as a, open_video(tmp_path / "v.mp4") as b:
        for x, y in itertools.zip_longest(a.frames(), b.frames()):
            assert x is not None and y is not None
            assert x.number == y.number and np.array_equal(x.rgb, y.rgb)


def test_a_symbolic_link_is_not_read_through(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(make_video(frames=3))
    (tmp_path / "link.mp4").symlink_to(tmp_path / "v.mp4")
    with pytest.raises(SymlinkNotFollowed):
        open_video(tmp_path / "link.mp4")


# -- frames -----------------------------------------------------------------------------------


def test_sampling_takes_every_nth_frame_as_the_reference_does() -> None:
    data = make_video(frames=35, rate=10)
    with open_video(data) as reader:
        sampled = list(reader.frames(seconds_per_frame=1.0))
        assert reader.frame_count == 35
    assert [f.number for f in sampled] == [0, 10, 20, 30]
    assert [f.timestamp for f in sampled] == [0.0, 1.0, 2.0, 3.0]
    with open_video(data) as reader:
        every = list(reader.frames(seconds_per_frame=0))
    assert [f.number for f in every] == list(range(35))
    assert every[7].timestamp == pytest.approx(0.7)


def test_frame_step_truncates_as_the_reference() -> None:
    assert frame_step(1.0, 30000 / 1001) == 29  # int(29.97)
    assert frame_step(0.0, 30.0) == 1
    assert frame_step(1.0, 0.5) == 1  # never 0
    assert frame_step(0.5, 25.0) == 12
    with pytest.raises(ValueError):
        frame_step(-1.0, 30.0)


@pytest.mark.parametrize(
    ("degrees", "white_side"), [(None, "left"), (90, "bottom"), (-90, "top"), (180, "right")]
)
def test_the_display_matrix_turns_frames_upright(degrees: float | None, white_side: str) -> None:
    """A picture whose left half is white, stored with a rotation: the white half ends where
    the display matrix says (counter-clockwise degrees, as FFmpeg counts them)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if degrees is not None:
            stream.set_display_rotation(degrees)
        picture = np.zeros((48, 64, 3), np.uint8)
        picture[:, :32] = 255
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with open_video(buffer.getvalue()) as reader:
        upright = next(reader.frames()).rgb
        assert reader.rotation == (0 if degrees is None else round(degrees))
    sides = {
        "top": upright[:4].mean(),
        "bottom": upright[-4:].mean(),
        "left": upright[:, :4].mean(),
        "right": upright[:, -4:].mean(),
    }
    assert max(sides, key=lambda side: sides[side]) == white_side
    assert upright.shape[:2] == ((64, 48) if degrees in (90, -90) else (48, 64))
    with open_video(buffer.getvalue()) as reader:
        assert next(reader.frames(upright=False)).rgb.shape == (48, 64, 3)


def test_frames_reads_a_video_once() -> None:
    with open_video(make_video(frames=3)) as reader:
        list(reader.frames())
        with pytest.raises(RuntimeError):
            list(reader.frames())


# -- hostile files ----------------------------------------------------------------------------


def test_a_truncated_mp4_is_corrupt(tmp_path: Path) -> None:
    whole = make_video(frames=30)
    # its index (moov) is at the end, cut off
    with pytest.raises(CorruptMedia), open_video(whole[: len(whole) // 2]) as reader:
        list(reader.frames())
    streamable = make_video(
        frames=30, path=tmp_path / "fast.mp4", options={"movflags": "faststart"}
    )
    assert streamable.index(b"moov") < streamable.index(b"mdat")
    cut = streamable[: len(streamable) * 2 // 3]  # cut inside the frames
    with pytest.raises(CorruptMedia, match="damaged or truncated"), open_video(cut) as reader:
        list(reader.frames())


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_a_video_stream_without_frames_is_an_error(fmt: str, tmp_path: Path) -> None:
    data = empty_track(fmt, tmp_path / f"empty.{fmt}")
    with pytest.raises(MediaError) as caught, open_video(data) as reader:
        list(reader.frames())
    assert isinstance(caught.value, UnsupportedMedia | CorruptMedia)
    assert str(caught.value)


def test_a_hundred_thousand_frames_stop_at_the_frame_limit() -> None:
    limits = Limits(max_video_frames=1_000)
    declared = many_frames(100_000, fmt="mp4")
    with pytest.raises(MediaTooLarge, match="declares 100,000 frames"):  # before decoding
        open_video(declared, limits=limits)
    undeclared = many_frames(100_000, fmt="matroska")  # Matroska keeps no frame count
    with open_video(undeclared, limits=limits) as reader:
        with pytest.raises(MediaTooLarge, match="more than 1,000 frames"):
            for _ in reader.frames(seconds_per_frame=1.0):
                pass
        assert reader.frame_count == 1_000


def test_a_huge_declared_frame_size_is_refused_before_decoding() -> None:
    with pytest.raises(MediaTooLarge, match="16,000 x 16,000"):
        open_video(avi_declaring(16_000, 16_000))
    with pytest.raises(CorruptMedia, match="no usable frame size"):  # FFmpeg refuses it too
        open_video(avi_declaring(60_000, 60_000))
    with pytest.raises(MediaTooLarge, match=r"Limits\.max_video_pixels"):
        open_video(make_video(frames=2, size=(160, 120)), limits=Limits(max_video_pixels=10_000))


def test_a_long_declared_duration_is_refused_before_decoding() -> None:
    data = make_video(frames=40, rate=10)  # 4 s
    with pytest.raises(MediaTooLarge, match=r"Limits\.max_video_seconds"):
        open_video(data, limits=Limits(max_video_seconds=2.0))


def test_decoding_stops_at_the_time_limit() -> None:
    ticks = itertools.count()  # a clock that advances one second each time it is read

    def clock() -> float:
        return float(next(ticks))

    limits = Limits(max_video_decode_seconds=5.0)
    with open_video(make_video(frames=30), limits=limits, clock=clock) as reader:
        with pytest.raises(MediaTooLarge, match=r"Limits\.max_video_decode_seconds"):
            list(reader.frames())
        assert reader.frame_count < 10


def test_without_pyav_a_video_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_video(frames=2)
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(OptionalDependencyError, match=r"needle-triage\[video\]"):
        open_video(data)
    assert sniff_video(data[:SNIFF_BYTES]) == "mp4"  # sniffing needs no PyAV


def test_video_source_passes_unreadable_items_on() -> None:
    broken = Item("gone.mp4", 10, error=CorruptMedia("unreadable"))
    assert video_source(broken) == (broken, None)
    missing = Item("missing.mp4", 10, fs_path="/nonexistent/missing.mp4")
    assert video_source(missing) == (missing, None)


def test_a_file_cut_inside_a_frame_is_truncated_even_when_ffmpeg_decodes_the_rest(
    tmp_path: Path,
) -> None:
    """FFmpeg may make a frame of a packet cut short, without an error: the demuxer's flag
    on the last packet says the file ends inside it."""
    import io

    import av

    whole = make_video(frames=30, path=tmp_path / "fast.mp4", options={"movflags": "faststart"})
    with av.open(io.BytesIO(whole), format="mov") as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    pos, size = packets[len(packets) // 2]
    cut = whole[: pos + size // 2]
    with pytest.raises(CorruptMedia, match="damaged or truncated"), open_video(cut) as reader:
        list(reader.frames())
    with open_video(whole) as reader:
        assert len(list(reader.frames())) == 30
