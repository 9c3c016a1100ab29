"""Pull metadata out of an image file's container without decoding any pixel.

In: the file's bytes. Out: an ``ImageMetadata`` with the text chunks (PNG ``tEXt``/``zTXt``/
``iTXt``, JPEG comments), the raw EXIF (TIFF) block, the XMP packet, whether a C2PA/JUMBF
store is embedded, whether the image has an alpha channel, whether it is lossy, and a list
of problems met on the way.

Walks PNG chunks, JPEG segments and WebP (RIFF) chunks directly: every length is checked
against the data left, chunks over ``MAX_CHUNK_BYTES`` are skipped with a note (a 50 MB text
chunk costs nothing), compressed text is inflated no further than ``MAX_TEXT_BYTES``, and
invalid UTF-8 is replaced, not raised. PNG text after the image data is read too (Pillow's
``info`` misses it). Other formats (TIFF, GIF, HEIF, ...) get a byte search for an XMP packet
and a JUMBF box, and TIFF files are their own EXIF block.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MAX_CHUNK_BYTES",
    "MAX_TEXT_BYTES",
    "ImageMetadata",
    "TextChunk",
    "png_first_column",
    "read_metadata",
    "sniff_format",
]

#: metadata chunks larger than this are skipped: generator records are kilobytes, ComfyUI
#: workflows rarely over 1 MB; 8 MiB leaves room and bounds the cost of a hostile file
MAX_CHUNK_BYTES = 8 * 1024 * 1024
#: inflated size cap of one compressed text chunk (zip-bomb guard)
MAX_TEXT_BYTES = 8 * 1024 * 1024
#: at most this many metadata items are kept per file
MAX_ITEMS = 256

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_JPEG = b"http://ns.adobe.com/xmp/extension/\x00"
_XMP_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)


@dataclass(frozen=True)
class TextChunk:
    """A keyword/text pair and where it came from (``PNG tEXt``, ``JPEG COM``, ...)."""

    key: str
    text: str
    where: str


@dataclass
class ImageMetadata:
    """Metadata of one file, as read from its container."""

    format: str = "unknown"
    width: int | None = None
    height: int | None = None
    texts: list[TextChunk] = field(default_factory=list)
    exif: bytes | None = None
    exif_where: str = ""
    xmp: str | None = None
    jumbf: bool = False
    has_alpha: bool = False
    lossy: bool = False
    errors: list[str] = field(default_factory=list)

    def text(self, key: str) -> TextChunk | None:
        """The first text chunk named ``key`` (case-sensitive, as the generators write them)."""
        for chunk in self.texts:
            if chunk.key == key:
                return chunk
        return None


def sniff_format(data: bytes) -> str:
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "AVIF" if brand in (b"avif", b"avis") else "HEIF"
    return "unknown"


def read_metadata(data: bytes) -> ImageMetadata:
    """Read the container's metadata; never raises for malformed input."""
    meta = ImageMetadata(format=sniff_format(data))
    try:
        if meta.format == "PNG":
            _read_png(data, meta)
        elif meta.format == "JPEG":
            _read_jpeg(data, meta)
        elif meta.format == "WEBP":
            _read_webp(data, meta)
        else:
            _read_other(data, meta)
    except (struct.error, IndexError, ValueError) as exc:  # defensive: walkers check bounds
        meta.errors.append(f"{meta.format} container: malformed ({exc}); metadata partly read")
    return meta


def _decode_text(raw: bytes, where: str, meta: ImageMetadata, *, utf8_only: bool = False) -> str:
    """UTF-8 when it is valid (many tools write UTF-8 into tEXt), else Latin-1 or replaced."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if not utf8_only:
            return raw.decode("latin-1")
        meta.errors.append(f"{where}: invalid UTF-8; undecodable bytes replaced")
        return raw.decode("utf-8", errors="replace")


def _inflate(raw: bytes, where: str, meta: ImageMetadata) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_TEXT_BYTES)
    except zlib.error as exc:
        meta.errors.append(f"{where}: compressed text is corrupt ({exc}); skipped")
        return None
    if inflater.unconsumed_tail:
        meta.errors.append(
            f"{where}: inflates to more than {MAX_TEXT_BYTES // (1024 * 1024)} MiB; skipped"
        )
        return None
    return out


def _too_big(length: int, where: str, meta: ImageMetadata) -> bool:
    if length > MAX_CHUNK_BYTES:
        meta.errors.append(
            f"{where}: {length / 1e6:.1f} MB is over the {MAX_CHUNK_BYTES // (1024 * 1024)} MiB "
            "metadata limit; skipped"
        )
        return True
    return False


def _add_text(meta: ImageMetadata, chunk: TextChunk) -> None:
    if len(meta.texts) < MAX_ITEMS:
        meta.texts.append(chunk)


# --- PNG -------------------------------------------------------------------------------------


def _read_png(data: bytes, meta: ImageMetadata) -> None:
    pos = len(_PNG_SIGNATURE)
    end = len(data)
    while pos + 8 <= end:
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body_start = pos + 8
        name = ctype.decode("latin-1")
        if body_start + length > end:
            meta.errors.append(
                f"PNG chunk {name!r} at byte {pos} claims {length} bytes but the file ends "
                "first (truncated); metadata partly read"
            )
            return
        if ctype == b"IHDR" and length >= 13:
            width, height, _depth, color = struct.unpack(
                ">IIBB", data[body_start : body_start + 10]
            )
            meta.width, meta.height = width, height
            meta.has_alpha = color in (4, 6)
        elif ctype == b"tRNS":
            meta.has_alpha = True
        elif ctype in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"caBX"):
            if ctype == b"caBX":
                meta.jumbf = True
            elif not _too_big(length, f"PNG {name} chunk", meta):
                _png_text(ctype, data[body_start : body_start + length], meta)
        elif ctype == b"IEND":
            return
        pos = body_start + length + 4  # CRC
    if pos < end:
        meta.errors.append("PNG: file ends inside a chunk header (truncated)")


def _png_text(ctype: bytes, body: bytes, meta: ImageMetadata) -> None:
    if ctype == b"eXIf":
        if meta.exif is None:
            meta.exif, meta.exif_where = body, "PNG eXIf"
        return
    key_raw, sep, rest = body.partition(b"\x00")
    key = key_raw.decode("latin-1")
    where = f"PNG {ctype.decode()} {key!r}"
    if not sep:
        meta.errors.append(f"PNG {ctype.decode()} chunk without a keyword separator; skipped")
        return
    if ctype == b"tEXt":
        text = _decode_text(rest, where, meta)
    elif ctype == b"zTXt":
        raw = _inflate(rest[1:], where, meta)
        if raw is None:
            return
        text = _decode_text(raw, where, meta)
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            meta.errors.append(f"{where}: truncated iTXt header; skipped")
            return
        compressed = rest[0] == 1
        parts = rest[2:].split(b"\x00", 2)
        if len(parts) < 3:
            meta.errors.append(f"{where}: malformed iTXt header; skipped")
            return
        raw_text: bytes | None = parts[2]
        if compressed:
            raw_text = _inflate(parts[2], where, meta)
            if raw_text is None:
                return
        assert raw_text is not None
        text = _decode_text(raw_text, where, meta, utf8_only=True)
    if key == "XML:com.adobe.xmp":
        meta.xmp = text if meta.xmp is None else meta.xmp + "\n" + text
        return
    _add_text(meta, TextChunk(key, text, where))


# --- JPEG ------------------------------------------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _read_jpeg(data: bytes, meta: ImageMetadata) -> None:
    meta.lossy = True
    pos, end = 2, len(data)
    xmp_ext: list[bytes] = []
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            meta.errors.append(f"JPEG: no marker at byte {pos}; metadata partly read")
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = data[pos + 4 : pos + 2 + length]
        if length < 2 or pos + 2 + length > end:
            meta.errors.append(f"JPEG segment 0x{marker:02X} at byte {pos} is truncated")
            # a cut-off C2PA store still goes to the C2PA reader, which says what is wrong
            meta.jumbf = meta.jumbf or (marker == 0xEB and body[:2] == b"JP")
            return
        if marker in _SOF and len(body) >= 5:
            meta.height, meta.width = struct.unpack(">HH", body[1:5])
        elif marker == 0xE1:
            if body.startswith(b"Exif\x00\x00") and meta.exif is None:
                meta.exif, meta.exif_where = body[6:], "JPEG APP1 EXIF"
            elif body.startswith(_XMP_JPEG):
                text = _decode_text(body[len(_XMP_JPEG) :], "JPEG XMP", meta, utf8_only=True)
                meta.xmp = text if meta.xmp is None else meta.xmp + "\n" + text
            elif body.startswith(_XMP_EXT_JPEG) and len(body) > len(_XMP_EXT_JPEG) + 40:
                xmp_ext.append(body[len(_XMP_EXT_JPEG) + 40 :])
        elif marker == 0xEB and body[:2] == b"JP":
            meta.jumbf = True
        elif marker == 0xFE:
            _add_text(meta, TextChunk("comment", _decode_text(body, "JPEG COM", meta), "JPEG COM"))
        pos += 2 + length
    if xmp_ext:
        text = _decode_text(b"".join(xmp_ext), "JPEG extended XMP", meta, utf8_only=True)
        meta.xmp = text if meta.xmp is None else meta.xmp + "\n" + text


# --- WebP ------------------------------------------------------------------------------------


def _read_webp(data: bytes, meta: ImageMetadata) -> None:
    pos, end = 12, len(data)
    while pos + 8 <= end:
        ctype, length = struct.unpack("<4sI", data[pos : pos + 8])
        body_start = pos + 8
        name = ctype.decode("latin-1")
        if body_start + length > end:
            meta.errors.append(f"WebP chunk {name!r} at byte {pos} is truncated")
            return
        body = data[body_start : body_start + min(length, 32)]
        if ctype == b"VP8X" and len(body) >= 10:
            meta.has_alpha = bool(body[0] & 0x10)
            meta.width = 1 + int.from_bytes(body[4:7], "little")
            meta.height = 1 + int.from_bytes(body[7:10], "little")
        elif ctype == b"VP8 ":
            meta.lossy = True
            if len(body) >= 10:
                meta.width = int.from_bytes(body[6:8], "little") & 0x3FFF
                meta.height = int.from_bytes(body[8:10], "little") & 0x3FFF
        elif ctype == b"VP8L" and len(body) >= 5:
            bits = int.from_bytes(body[1:5], "little")
            meta.width, meta.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            meta.has_alpha = meta.has_alpha or bool((bits >> 28) & 1)
        elif ctype == b"ALPH":
            meta.has_alpha = True
        elif ctype == b"C2PA":
            meta.jumbf = True
        elif ctype in (b"EXIF", b"XMP ") and not _too_big(length, f"WebP {name} chunk", meta):
            full = data[body_start : body_start + length]
            if ctype == b"EXIF" and meta.exif is None:
                meta.exif = full[6:] if full.startswith(b"Exif\x00\x00") else full
                meta.exif_where = "WebP EXIF"
            elif ctype == b"XMP ":
                meta.xmp = _decode_text(full, "WebP XMP", meta, utf8_only=True)
        pos = body_start + length + (length & 1)


# --- everything else -------------------------------------------------------------------------


def _read_other(data: bytes, meta: ImageMetadata) -> None:
    if meta.format == "TIFF":
        meta.exif, meta.exif_where = data, "TIFF"
    meta.lossy = meta.format in ("HEIF", "AVIF")
    match = _XMP_PACKET.search(data)
    if match:
        raw = match.group(0)
        if not _too_big(len(raw), f"{meta.format} XMP packet", meta):
            meta.xmp = _decode_text(raw, f"{meta.format} XMP", meta, utf8_only=True)
    meta.jumbf = b"jumb" in data and b"c2pa" in data


# --- the first pixel column of a PNG, without decoding the image ------------------------------


def png_first_column(data: bytes, rows: int) -> np.ndarray | None:
    """Pixels ``x = 0`` of the first ``rows`` rows of an 8-bit, non-interlaced RGB/RGBA PNG.

    The first pixel of a row depends on nothing to its left (PNG's filters take the left and
    upper-left neighbours as 0 there), so undoing the filters for column 0 needs only the
    column above: enough of the image data is inflated for ``rows`` rows and one byte group
    per row is read. Returns ``(rows, channels)`` ``uint8``, or None when the file is of
    another kind (palette, grey, 16-bit, interlaced) or too short.
    """
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, color, _comp, _filter, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = {2: 3, 6: 4}.get(color)
    if channels is None or depth != 8 or interlace != 0 or height < rows or width == 0:
        return None
    stride = 1 + width * channels
    need = rows * stride
    inflater = zlib.decompressobj()
    raw = bytearray()
    pos = 8
    try:
        while pos + 8 <= len(data) and len(raw) < need:
            length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
            if ctype == b"IDAT":
                raw += inflater.decompress(data[pos + 8 : pos + 8 + length], need - len(raw))
            elif ctype == b"IEND":
                break
            pos += 12 + length
    except zlib.error:
        return None
    if len(raw) < need:
        return None
    rows_view = np.frombuffer(bytes(raw[:need]), dtype=np.uint8).reshape(rows, stride)
    filters = rows_view[:, 0]
    first = rows_view[:, 1 : 1 + channels].astype(np.int32)
    out = np.zeros((rows, channels), dtype=np.int32)
    above = np.zeros(channels, dtype=np.int32)
    for y in range(rows):
        kind = int(filters[y])
        if kind in (0, 1):  # none, sub (left neighbour is 0)
            value = first[y]
        elif kind == 2:  # up
            value = first[y] + above
        elif kind == 3:  # average of 0 and up
            value = first[y] + above // 2
        elif kind == 4:  # Paeth with a = c = 0 predicts the pixel above
            value = first[y] + above
        else:
            return None
        above = value & 0xFF
        out[y] = above
    return out.astype(np.uint8)
