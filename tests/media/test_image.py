"""Safe decoding: limits, broken files, every Pillow mode, EXIF orientation, draft decoding."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from conftest import image_bytes, synth_image
from needle.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from needle.media import Limits, decode_full, decode_image, image_size, to_rgb
from needle.media.image import ORIENTATION_TRANSPOSE, DecodedImage
from needle.signals.pdq import pdq_hash, pdq_hash_pixels


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _one_colour_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of one colour: tiny on disk, ``width * height`` decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then all-black pixels
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """30000 x 30000 pixels (900 megapixels) of black in about 110 kB."""
    return _one_colour_png(30_000, 30_000)


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image's pixels are decoded."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# -- broken and hostile input ---------------------------------------------------------------


def test_decompression_bomb_fails_before_decoding(bomb: bytes, no_pixel_decoding: None) -> None:
    assert len(bomb) < 200_000
    with pytest.raises(MediaTooLarge) as caught:
        decode_image(bomb)
    assert caught.value.reason == "too-large"
    assert "pixels" in str(caught.value)


def test_own_pixel_limit_is_checked_from_the_header(no_pixel_decoding: None) -> None:
    data = _one_colour_png(4000, 3000)  # under Pillow's own bomb level
    with pytest.raises(MediaTooLarge, match=r"4000x3000 = 12,000,000 pixels is over the limit"):
        decode_image(data, limits=Limits(max_pixels=10_000_000))


def test_empty_file_is_corrupt() -> None:
    with pytest.raises(CorruptMedia, match="empty"):
        decode_image(b"")


def test_truncated_jpeg_is_corrupt() -> None:
    data = image_bytes(synth_image(3, (320, 240)))
    with pytest.raises(CorruptMedia, match="damaged") as caught:
        decode_image(data[: len(data) // 2])
    assert caught.value.reason == "corrupt"


def test_random_bytes_are_unsupported() -> None:
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(UnsupportedMedia, match="not an image format") as caught:
        decode_image(noise)
    assert caught.value.reason == "unsupported"


def test_postscript_is_refused_without_running_ghostscript(no_pixel_decoding: None) -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n"
    with pytest.raises(UnsupportedMedia, match="Ghostscript"):
        decode_image(eps)


def test_shared_malformed_files(testdata: Path) -> None:
    folder = testdata / "malformed"
    with pytest.raises(CorruptMedia, match="empty"):
        decode_image((folder / "empty_file.png").read_bytes())
    # the others are odd but legal: 1x1 pixel images, a text chunk after the image data
    for name in ("empty_image.jpg", "empty_image.png", "text_after_idat.png"):
        decoded = decode_image((folder / name).read_bytes(), draft_size=256)
        assert decoded.image.mode == "RGB"
        assert decoded.image.size == (decoded.width, decoded.height) == (1, 1)
        signal = pdq_hash(decoded)  # too small to hash: the reference gives zero, quality 0
        assert (signal.value, signal.quality) == ("0" * 64, 0)


def test_every_failure_is_a_media_error() -> None:
    bad = [b"", b"GIF89a", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0garbage", b"BM" + b"\x00" * 60]
    for data in bad:
        with pytest.raises(MediaError):
            decode_image(data)


# -- frames and modes -------------------------------------------------------------------------

_COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220)]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_reads_first_frame_and_counts_frames(fmt: str) -> None:
    frames = [Image.new("RGB", (48, 32), colour) for colour in _COLOURS]
    data = image_bytes(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_image(data)
    assert decoded.frames == 3
    assert decoded.format == fmt
    red, green, blue = np.asarray(decoded.image).reshape(-1, 3).mean(axis=0)
    assert red > 150 and green < 90 and blue < 90


def test_sixteen_bit_png_keeps_its_tones() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256), (64, 1)).astype(np.uint16)
    data = image_bytes(Image.fromarray(ramp), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    decoded = decode_image(data)
    grey = np.asarray(decoded.image)[..., 0].astype(int)
    # mapped linearly to 8 bits, not clipped to white as Image.convert("RGB") would do
    assert grey[0, 0] == 0 and grey[0, -1] == 255
    assert abs(grey[0, 128] - 128) <= 1
    eight_bit = (ramp / 257).round().astype(np.uint8)
    assert np.abs(grey - eight_bit).max() <= 1


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    picture = synth_image(5, (320, 240))
    data = image_bytes(picture.convert("CMYK"), "JPEG", quality=95)
    decoded = decode_image(data, draft_size=64)
    assert decoded.image.mode == "RGB"
    assert decoded.scale == 2  # the DCT-domain draft works on CMYK too
    full = decode_image(data)
    difference = np.abs(np.asarray(full.image, dtype=int) - np.asarray(picture, dtype=int))
    assert difference.mean() < 12
    assert _distance(pdq_hash(decoded).value, pdq_hash_pixels(picture).value) <= 10


@pytest.mark.parametrize(
    "mode",
    ["1", "L", "LA", "La", "P", "PA", "RGBA", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"],
)
def test_to_rgb_handles_every_mode(mode: str) -> None:
    picture = synth_image(11, (64, 48))
    if mode == "La":  # Pillow converts nothing to La; build it from LA's bytes
        source = Image.frombytes("La", picture.size, picture.convert("LA").tobytes())
    else:
        source = (picture.convert("L") if mode in ("I", "F") else picture).convert(mode)
    converted = to_rgb(source)
    assert converted.mode == "RGB" and converted.size == (64, 48)
    assert np.asarray(converted).std() > 10  # still a picture, not a flat colour


def test_to_rgb_drops_alpha_like_the_reference_tools() -> None:
    rgba = Image.new("RGBA", (4, 4), (200, 10, 10, 0))  # fully transparent red
    assert to_rgb(rgba).getpixel((0, 0)) == (200, 10, 10)


def test_float_images_in_zero_to_one_are_scaled() -> None:
    values = np.linspace(0.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    grey = np.asarray(to_rgb(Image.fromarray(values, "F")))[..., 0]
    assert grey.min() == 0 and grey.max() == 255


# -- orientation ------------------------------------------------------------------------------

_UNDO = {  # the transpose that stores an upright picture under each EXIF orientation
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _stored_with_orientation(upright: Image.Image, orientation: int, fmt: str) -> bytes:
    undo = _UNDO[orientation]
    stored = upright if undo is None else upright.transpose(undo)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image_bytes(stored, fmt, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = synth_image(21, (203, 157))  # odd sizes: blocks do not divide them
    decoded = decode_image(_stored_with_orientation(upright, orientation, "PNG"))
    assert decoded.orientation == orientation
    assert decoded.upright_size == (203, 157)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(upright))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_and_oriented_images_hash_like_the_full_one(orientation: int) -> None:
    """Block means are counted from the stored file's edge, whichever way it is turned."""
    upright = synth_image(22, (1203, 957))
    data = _stored_with_orientation(upright, orientation, "PNG")
    reduced = decode_image(data, draft_size=200)
    assert reduced.scale == 4 and reduced.image.size == (301, 240)
    exact = pdq_hash_pixels(upright)
    assert _distance(pdq_hash(reduced).value, exact.value) <= 2  # 10 if blocks are misplaced


def test_axes_follow_the_orientation_table() -> None:
    """``DecodedImage.axes`` agrees with what Pillow's transposes actually do."""
    width, height = 5, 3
    stored = (np.arange(height)[:, None] * 100 + np.arange(width)[None, :]).astype(np.int32)
    for orientation, method in ORIENTATION_TRANSPOSE.items():
        upright = np.asarray(Image.fromarray(stored, "I").transpose(method))
        decoded = DecodedImage(Image.new("RGB", (1, 1)), "PNG", width, height, 1, 1, orientation)
        x_axis, y_axis = decoded.axes()
        along_x, along_y = upright[0, :], upright[:, 0]  # stored y*100 + x along each axis
        for axis, run in ((x_axis, along_x), (y_axis, along_y)):
            step = int(run[1] - run[0])
            assert abs(step) in (1, 100)
            assert axis.full == (width if abs(step) == 1 else height)
            assert axis.reversed == (step < 0)


# -- draft decoding ---------------------------------------------------------------------------


def test_jpeg_draft_decodes_in_the_dct_domain() -> None:
    data = image_bytes(synth_image(4, (2000, 1500)), quality=90)
    decoded = decode_image(data, draft_size=256)
    assert (decoded.width, decoded.height) == (2000, 1500)
    assert decoded.scale == 4 and decoded.image.size == (500, 375)
    full = decode_image(data)
    assert full.scale == 1 and full.image.size == (2000, 1500)


def test_other_formats_are_block_averaged() -> None:
    data = image_bytes(synth_image(4, (1600, 1200)), "PNG")
    decoded = decode_image(data, draft_size=256)
    assert decoded.scale == 4 and decoded.image.size == (400, 300)


def test_draft_never_goes_below_draft_size() -> None:
    data = image_bytes(synth_image(4, (8000, 600)), quality=80)
    decoded = decode_image(data, draft_size=256)
    assert min(decoded.image.size) >= 256
    assert decoded.scale == 2


def test_multi_picture_jpeg_is_drafted_too() -> None:
    frames = [synth_image(i, (1024, 768)) for i in range(2)]
    data = image_bytes(frames[0], "MPO", save_all=True, append_images=frames[1:])
    decoded = decode_image(data, draft_size=128)
    assert decoded.format == "MPO" and decoded.frames == 2
    assert decoded.scale == 4 and decoded.image.size == (256, 192)


# -- full-resolution stored pixels (decode_full) ------------------------------------------------


def test_decode_full_keeps_stored_orientation_size_and_alpha() -> None:
    upright = synth_image(22, (203, 157))
    data = _stored_with_orientation(upright, 6, "PNG")
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    full = decode_full(data)
    assert full.mode == "RGB" and full.size == (157, 203)  # not turned upright
    assert np.array_equal(np.asarray(full), stored)
    rgba = Image.new("RGBA", (40, 30), (10, 200, 30, 77))
    assert np.array_equal(np.asarray(decode_full(image_bytes(rgba, "PNG"))), np.asarray(rgba))
    palette = Image.new("P", (8, 8), 3)
    palette.info["transparency"] = 3
    assert decode_full(image_bytes(palette, "PNG", transparency=3)).mode == "RGBA"
    big = synth_image(23, (1600, 1200))
    jpeg = image_bytes(big, "JPEG")
    assert decode_full(jpeg).size == (1600, 1200)  # never drafted
    assert image_size(jpeg) == (1600, 1200)
    assert image_size(b"not an image") is None


def test_decode_full_applies_the_same_limits(bomb: bytes, no_pixel_decoding: None) -> None:
    with pytest.raises(MediaTooLarge, match="pixels"):
        decode_full(bomb)
    data = _one_colour_png(4000, 3000)
    with pytest.raises(MediaTooLarge, match=r"4000x3000 = 12,000,000 pixels is over the limit"):
        decode_full(data, limits=Limits(max_pixels=10_000_000))
    with pytest.raises(MediaTooLarge, match=r"over the limit of 100"):
        decode_full(data, limits=Limits(max_file_bytes=100))
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n"
    with pytest.raises(UnsupportedMedia, match="Ghostscript"):
        decode_full(eps)
    with pytest.raises(CorruptMedia):
        decode_full(b"")
