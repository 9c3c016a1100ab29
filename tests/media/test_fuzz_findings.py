"""Hostile files the fuzzers found (fuzz/image_signals.py, fuzz/archive_walk.py): each must
become a ``MediaError`` with a reason, never an exception that costs the file its record.

Every input is built here from a small benign picture, then damaged the way the fuzzer's
input was: no binary file is kept.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import struct
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from conftest import image_bytes, synth_image
from needle.errors import (
    CorruptMedia,
    MediaError,
    MediaTooLarge,
    UnsafeArchiveMember,
    UnsupportedMedia,
)
from needle.media import Limits, decode_image, walk
from needle.signals import compute_signals

# --- images ---------------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _empty_trns_after_idat() -> bytes:
    """A PNG whose ``tRNS`` chunk, after the image data, is empty: Pillow reads it when the
    pixels are loaded and unpacks two bytes from nothing (``struct.error``)."""
    png = image_bytes(synth_image(0, (32, 24)), "PNG")
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + _png_chunk(b"tRNS", b"") + png[iend:]


def _dds_unknown_pixel_format() -> bytes:
    """A DDS file whose pixel-format flags are 0: Pillow raises ``NotImplementedError``."""
    data = bytearray(image_bytes(Image.new("RGBA", (8, 8), (1, 2, 3, 4)), "DDS"))
    data[80:84] = b"\0\0\0\0"  # DDS_PIXELFORMAT.dwFlags ("DDS " + 76 header bytes + dwSize)
    return bytes(data)


def _avif_without_primary_item() -> bytes:
    """An AVIF whose ``pitm`` box names an item that does not exist: libavif's decoder
    raises ``RuntimeError`` ("Missing or empty image item") when the file is opened."""
    data = bytearray(image_bytes(Image.new("RGB", (8, 8), (1, 2, 3)), "AVIF"))
    at = data.index(b"pitm") + 8  # box type, version and flags, then the 16-bit item id
    data[at : at + 2] = b"\x00\x07"
    return bytes(data)


def _jp2_box_longer_than_any_file() -> bytes:
    """A JPEG 2000 signature box, then a box whose 64-bit length (``XLBox``) is 2**64 - 1:
    Pillow seeks past it and ``OverflowError`` escapes."""
    signature = struct.pack(">I4s", 12, b"jP  ") + b"\r\n\x87\n"
    return signature + struct.pack(">I4sQ", 1, b"ftyp", 2**64 - 1) + b"jp2 "


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (_dds_unknown_pixel_format, UnsupportedMedia),
        (_avif_without_primary_item, CorruptMedia),
        (_jp2_box_longer_than_any_file, CorruptMedia),
    ],
    ids=["dds-unknown-pixel-format", "avif-missing-item", "jp2-box-length"],
)
@pytest.mark.parametrize("draft_size", [None, 512])
def test_damaged_image_is_a_media_error(
    make: object, error: type[MediaError], draft_size: int | None
) -> None:
    data = make()  # type: ignore[operator]
    with pytest.raises(error) as caught:
        decode_image(data, draft_size=draft_size)
    assert caught.value.reason in ("corrupt", "unsupported")
    # the scan still hashes the bytes of a file it cannot decode
    assert set(compute_signals(data, None)) == {"md5", "sha1", "sha256"}


@pytest.mark.parametrize("draft_size", [None, 512])
def test_png_with_an_empty_trns_keeps_its_pixels(draft_size: int | None) -> None:
    """The damaged chunk is metadata: the decoder's second try, without it, gives the pixels
    (needle.media's rule: a metadata problem never costs the pixel signals)."""
    data = _empty_trns_after_idat()
    clean = image_bytes(synth_image(0, (32, 24)), "PNG")
    damaged, expected = decode_image(data, draft_size=draft_size), decode_image(clean)
    assert damaged.image.tobytes() == expected.image.tobytes()
    assert compute_signals(data, damaged)["pdq"] == compute_signals(clean, expected)["pdq"]


# --- archives -------------------------------------------------------------------------------

_PAYLOAD = random.Random(1).randbytes(20_000)  # incompressible: every stream is long


def _zip(method: int) -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        archive.writestr("photo.png", _PAYLOAD)
    return bytearray(buf.getvalue())


def _member_data_offset(data: bytearray) -> int:
    """Where the first member's compressed bytes start: after its 30-byte local header, its
    name and its extra field."""
    name, extra = struct.unpack("<HH", data[26:30])
    return 30 + name + extra


def _zip_bad_deflate() -> bytes:
    """A deflated member whose stream is garbled: zlib raises ``zlib.error``."""
    data = _zip(zipfile.ZIP_DEFLATED)
    start = _member_data_offset(data)
    for k in range(start + 2, start + 40):
        data[k] ^= 0xFF
    return bytes(data)


def _zip_bad_lzma_properties() -> bytes:
    """An LZMA member with impossible properties: ``lzma.LZMAError``."""
    data = _zip(zipfile.ZIP_LZMA)
    data[_member_data_offset(data) + 4] = 0xFF  # after the 4-byte header: lc/lp/pb
    return bytes(data)


def _zip_future_version() -> bytes:
    """A central directory entry that needs zip version 20.1: ``NotImplementedError`` when
    the archive is opened."""
    data = _zip(zipfile.ZIP_STORED)
    data[data.rindex(b"PK\x01\x02") + 6] = 201  # "version needed to extract"
    return bytes(data)


def _tar(members: int = 3) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for i in range(members):
            info = tarfile.TarInfo(f"photo{i}.png")
            info.size = len(_PAYLOAD)
            archive.addfile(info, io.BytesIO(_PAYLOAD))
    return buf.getvalue()


def _garbled(data: bytes, at: float) -> bytes:
    out = bytearray(data)
    start = int(len(out) * at)
    for k in range(start, start + 16):
        out[k] ^= 0xFF
    return bytes(out)


def _tar_xz_garbled() -> bytes:
    """A tar.xz whose stream breaks after the first header: ``lzma.LZMAError`` while listing."""
    return _garbled(lzma.compress(_tar()), 0.5)


def _tar_gz_garbled() -> bytes:
    """A tar.gz whose deflate stream breaks: ``zlib.error`` while listing."""
    return _garbled(gzip.compress(_tar(), mtime=0), 0.8)


@pytest.mark.parametrize(
    ("name", "make", "where"),
    [
        ("case.zip", _zip_bad_deflate, "member"),
        ("case.zip", _zip_bad_lzma_properties, "member"),
        ("case.zip", _zip_future_version, "archive"),
        ("case.tar.xz", _tar_xz_garbled, "archive"),
        ("case.tar.gz", _tar_gz_garbled, "archive"),
    ],
    ids=["zip-deflate", "zip-lzma-properties", "zip-version", "tar-xz", "tar-gz"],
)
def test_damaged_archive_is_an_error_item(
    tmp_path: Path, name: str, make: object, where: str
) -> None:
    """Walking never raises; every damaged part is a record whose reading says why (members
    are read lazily, so a member's damage shows when it is read)."""
    path = tmp_path / name
    path.write_bytes(make())  # type: ignore[operator]
    items = list(walk([path]))
    assert items, "a damaged archive still yields an item that says so"
    outcomes = {}
    for item in items:
        try:
            item.read()
            outcomes[item.path] = None
        except MediaError as exc:
            outcomes[item.path] = exc
    if where == "member":
        assert isinstance(outcomes[f"{path}!photo.png"], CorruptMedia)
    elif name.endswith((".xz", ".gz")):
        assert isinstance(outcomes[str(path)], CorruptMedia)  # the archive's own record


def test_bzip2_damage_is_still_reported(tmp_path: Path) -> None:
    """bz2 raises OSError, which was always caught: kept here beside its siblings."""
    path = tmp_path / "case.tar.bz2"
    path.write_bytes(_garbled(bz2.compress(_tar()), 0.5))
    (item,) = walk([path])
    assert isinstance(item.error, CorruptMedia)


def test_encrypted_zip_member_is_recorded_as_unsupported(tmp_path: Path) -> None:
    """zipfile raises RuntimeError ("password required") for an encrypted member."""
    data = bytearray(_zip(zipfile.ZIP_STORED))
    for header, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central
        at = data.index(header) + flags_at
        data[at] |= 0x01
    path = tmp_path / "case.zip"
    path.write_bytes(bytes(data))
    (item,) = walk([path])
    assert item.path == f"{path}!photo.png" and item.size == len(_PAYLOAD)
    assert isinstance(item.error, UnsupportedMedia) and "encrypted" in str(item.error)


def test_member_without_a_name_is_unsafe(tmp_path: Path) -> None:
    """A zip entry named "" made ``ZipInfo.is_dir`` raise ``IndexError``; a tar member named
    "" was read as a file called ``case.tar!``. Both are refused like other unsafe names."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"benign")
        archive.writestr("photo.png", b"benign")
    (tmp_path / "case.zip").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"benign"))
    (tmp_path / "case.tar").write_bytes(buf.getvalue())
    items = {item.path: item for item in walk([tmp_path])}
    for name in ("case.tar", "case.zip"):
        empty = items[f"{tmp_path / name}!"]
        assert isinstance(empty.error, UnsafeArchiveMember)
        assert "empty name" in str(empty.error)
    assert items[f"{tmp_path / 'case.zip'}!photo.png"].error is None


# --- decompression bombs under the pixel limit ----------------------------------------------


def _huge_canvas_webp(width: int = 6_488_096, height: int = 24) -> bytes:
    """An animated WebP of two 16 x 16 frames on a ``width`` x ``height`` canvas: a few
    hundred bytes that Pillow composites into a 155-megapixel image (30 s, 2.5 GB)."""
    frames = [Image.new("RGBA", (16, 16), (9, 9, 9, 255)), Image.new("RGBA", (16, 16))]
    data = bytearray(image_bytes(frames[0], "WEBP", save_all=True, append_images=frames[1:]))
    at = data.index(b"VP8X") + 12  # chunk header, 4 bytes of flags: then width-1, height-1
    data[at : at + 6] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


def test_tiny_file_declaring_a_huge_canvas_is_refused_before_decoding() -> None:
    data = _huge_canvas_webp()
    assert len(data) < 1000
    with warnings.catch_warnings():  # Pillow's own bomb warning: over its level, under ours
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as opened:  # the header is what the fuzzer made
            assert opened.size == (6_488_096, 24)
    with pytest.raises(MediaTooLarge, match="pixels a byte"):
        decode_image(data)


def test_pixels_per_byte_is_checked_only_on_large_images() -> None:
    small = _huge_canvas_webp(4000, 3000)  # 12 MP from a few hundred bytes: decoded
    decoded = decode_image(small, draft_size=512)
    assert (decoded.width, decoded.height) == (4000, 3000)
    with pytest.raises(MediaTooLarge):
        decode_image(small, limits=Limits(pixels_per_byte_above=1_000_000))
