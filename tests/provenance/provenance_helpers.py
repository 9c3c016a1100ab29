"""Builders of small benign test files for the provenance tests: PNG chunks, JPEG segments,
WebP containers with EXIF/XMP, and a platform-exact synthetic pattern."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"
SHARED_PROVENANCE = "provenance"


def reference_pattern(h: int = 256, w: int = 256) -> np.ndarray:
    """Integer-only RGB pattern (gradients, stripes, a block): the same bytes on every platform."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 3 + y) % 256
    g = (y * 2 + (x // 16) * 7) % 256
    b = ((x ^ y) * 5 + 60) % 256
    img = np.stack([r, g, b], -1).astype(np.int64)
    img[64:128, 96:192] = (200, 40, 90)
    img = (img * 3 + 128) // 4
    return img.astype(np.uint8)


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def png_with_chunks(chunks: list[bytes], size: tuple[int, int] = (8, 8)) -> bytes:
    """A small RGB PNG with extra chunks inserted right after IHDR."""
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buf, "PNG")
    data = buf.getvalue()
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + b"".join(chunks) + data[ihdr_end:]


def text_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def itxt_chunk(key: str, raw: bytes, compressed: bool = False) -> bytes:
    body = zlib.compress(raw) if compressed else raw
    return png_chunk(
        b"iTXt", key.encode() + b"\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + body
    )


def jpeg_with_segments(
    segments: list[tuple[int, bytes]], size: tuple[int, int] = (16, 16)
) -> bytes:
    """A small JPEG with APPn/COM segments inserted after SOI."""
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 100, 110)).save(buf, "JPEG")
    data = buf.getvalue()
    extra = b"".join(
        b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
        for marker, body in segments
    )
    return data[:2] + extra + data[2:]


def tiff_exif(ifd0: dict[int, bytes], exif_ifd: dict[int, bytes] | None = None) -> bytes:
    """A big-endian TIFF/EXIF block; values are stored as type 2 (ASCII) or 7 (UNDEFINED)."""
    entries0 = dict(ifd0)
    header = b"MM\x00\x2a" + struct.pack(">I", 8)
    n0 = len(entries0) + (1 if exif_ifd else 0)
    ifd0_size = 2 + 12 * n0 + 4
    exif_offset = 8 + ifd0_size
    n1 = len(exif_ifd or {})
    exif_size = (2 + 12 * n1 + 4) if exif_ifd else 0
    data_offset = exif_offset + exif_size
    blobs = b""

    def entries(table: dict[int, bytes], typ: int) -> bytes:
        nonlocal blobs
        out = b""
        for tag, value in sorted(table.items()):
            if len(value) <= 4:
                out += struct.pack(">HHI", tag, typ, len(value)) + value.ljust(4, b"\x00")
            else:
                out += struct.pack(">HHII", tag, typ, len(value), data_offset + len(blobs))
                blobs += value
        return out

    body0 = entries(entries0, 2)
    if exif_ifd:
        body0 += struct.pack(">HHII", 0x8769, 4, 1, exif_offset)
    ifd0_bytes = struct.pack(">H", n0) + body0 + b"\x00\x00\x00\x00"
    exif_bytes = b""
    if exif_ifd:
        exif_bytes = struct.pack(">H", n1) + entries(exif_ifd, 7) + b"\x00\x00\x00\x00"
    return header + ifd0_bytes + exif_bytes + blobs


def webp_with_chunks(extra: list[tuple[bytes, bytes]], size: tuple[int, int] = (16, 16)) -> bytes:
    """A lossless WebP (VP8X container) with EXIF / XMP chunks appended."""
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, "WEBP", lossless=True)
    data = buf.getvalue()
    body = data[12:]
    if body[:4] != b"VP8X":
        flags = 0
        for ctype, _ in extra:
            flags |= {b"EXIF": 0x08, b"XMP ": 0x04}.get(ctype, 0)
        w, h = size
        vp8x = (
            bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        )
        body = b"VP8X" + struct.pack("<I", 10) + vp8x + body
    for ctype, payload in extra:
        body += (
            ctype
            + struct.pack("<I", len(payload))
            + payload
            + (b"\x00" if len(payload) & 1 else b"")
        )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def xmp_packet(inner: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'{inner}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(pixels: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
