"""Read the few EXIF (TIFF) text tags that carry provenance, with every offset checked.

In: a raw TIFF-structured EXIF block (no ``Exif\\0\\0`` prefix). Out: ``ExifText``, a mapping
of tag name to text for ``ImageDescription``, ``Make``, ``Model``, ``Software``, ``Artist``,
``Copyright``, ``UserComment`` (Exif IFD; AUTOMATIC1111 writes its parameters there in JPEG and
WebP) and the Windows ``XPComment``/``XPTitle``/``XPSubject``/``XPKeywords`` tags, plus notes on
anything malformed. ``read_directories`` gives the raw entries of IFD0, the Exif and GPS IFDs
and IFD1 (the thumbnail's) for the camera checks (``needle.provenance.camera``).

A small walker instead of Pillow's: it reads only what it needs, bounds every offset and
count, and turns every problem into a note rather than an exception or a warning.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "ExifDirectories",
    "ExifEntry",
    "ExifText",
    "decode_user_comment",
    "read_directories",
    "read_exif_text",
]

#: tag -> name, IFD0 text tags read
_IFD0_TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
}
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_USER_COMMENT = 0x9286
#: entries read per IFD at most (real files have < 100)
_MAX_ENTRIES = 1024
#: one value is read up to this size (parameters and ComfyUI graphs fit)
_MAX_VALUE_BYTES = 8 * 1024 * 1024
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


@dataclass
class ExifText:
    """Text tags found, by name, and problems met."""

    tags: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.tags.get(name)


def decode_user_comment(raw: bytes) -> str:
    """Decode an EXIF ``UserComment``: an 8-byte charset header, then the text.

    ``UNICODE`` is UTF-16 whose byte order writers disagree on (piexif, used by AUTOMATIC1111,
    writes big-endian); the order is taken from where the zero bytes of ASCII text fall.
    """
    header, body = raw[:8], raw[8:]
    if header.startswith(b"UNICODE"):
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace")
        even_zeros = body[0::2].count(0)
        odd_zeros = body[1::2].count(0)
        codec = "utf-16-be" if even_zeros >= odd_zeros else "utf-16-le"
        return body[: len(body) // 2 * 2].decode(codec, errors="replace").rstrip("\x00")
    if header.startswith((b"ASCII", b"\x00\x00\x00\x00\x00\x00\x00\x00", b"JIS")):
        text = body
    else:  # no header: some tools store bare text
        text = raw
    return text.rstrip(b"\x00").decode("utf-8", errors="replace")


def _text(raw: bytes, name: str) -> str:
    if name.startswith("XP"):
        return raw[: len(raw) // 2 * 2].decode("utf-16-le", errors="replace").rstrip("\x00")
    if name == "UserComment":
        return decode_user_comment(raw)
    raw = raw.rstrip(b"\x00")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_exif_text(block: bytes, where: str = "EXIF") -> ExifText:
    """Read the provenance text tags of an EXIF block; never raises."""
    out = ExifText()
    if len(block) < 8 or block[:2] not in (b"II", b"MM"):
        out.errors.append(f"{where}: not a TIFF structure; skipped")
        return out
    order = "<" if block[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack(order + "I", block[4:8])
        exif_ifd = _read_ifd(block, order, ifd0, _IFD0_TAGS, out, where, want_pointer=True)
        if exif_ifd:
            _read_ifd(block, order, exif_ifd, {_USER_COMMENT: "UserComment"}, out, where)
    except struct.error as exc:
        out.errors.append(f"{where}: malformed ({exc}); partly read")
    return out


def _read_ifd(
    block: bytes,
    order: str,
    offset: int,
    wanted: dict[int, str],
    out: ExifText,
    where: str,
    *,
    want_pointer: bool = False,
) -> int | None:
    if offset < 8 or offset + 2 > len(block):
        out.errors.append(f"{where}: IFD offset {offset} is outside the block; skipped")
        return None
    (count,) = struct.unpack(order + "H", block[offset : offset + 2])
    if count > _MAX_ENTRIES:
        out.errors.append(f"{where}: IFD claims {count} entries; read the first {_MAX_ENTRIES}")
        count = _MAX_ENTRIES
    pointer: int | None = None
    for i in range(count):
        entry = offset + 2 + 12 * i
        if entry + 12 > len(block):
            out.errors.append(f"{where}: IFD is truncated after {i} entries")
            break
        tag, typ, n = struct.unpack(order + "HHI", block[entry : entry + 8])
        if want_pointer and tag == _EXIF_IFD:
            (pointer,) = struct.unpack(order + "I", block[entry + 8 : entry + 12])
            continue
        name = wanted.get(tag)
        if name is None:
            continue
        size = _TYPE_SIZES.get(typ, 1) * n
        if size > _MAX_VALUE_BYTES:
            out.errors.append(f"{where}: {name} is {size / 1e6:.1f} MB; skipped")
            continue
        if size <= 4:
            raw = block[entry + 8 : entry + 8 + size]
        else:
            (value_at,) = struct.unpack(order + "I", block[entry + 8 : entry + 12])
            if value_at + size > len(block):
                out.errors.append(f"{where}: {name} points outside the block; skipped")
                continue
            raw = block[value_at : value_at + size]
        text = _text(raw, name).strip()
        if text and name not in out.tags:
            out.tags[name] = text
    return pointer


@dataclass(frozen=True)
class ExifEntry:
    """One IFD entry: its TIFF type, count and value bytes (empty when the value lies outside
    the block or is over the size cap)."""

    type: int
    count: int
    raw: bytes


@dataclass
class ExifDirectories:
    """The entries of IFD0, the Exif IFD, the GPS IFD and IFD1 (the thumbnail's) of one EXIF
    block, by tag, with its byte order (``<`` or ``>``) and the problems met."""

    order: str = "<"
    ifd0: dict[int, ExifEntry] = field(default_factory=dict)
    exif: dict[int, ExifEntry] = field(default_factory=dict)
    gps: dict[int, ExifEntry] = field(default_factory=dict)
    ifd1: dict[int, ExifEntry] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def text(self, ifd: dict[int, ExifEntry], tag: int) -> str | None:
        """An ASCII value, stripped; None when absent or empty."""
        entry = ifd.get(tag)
        if entry is None or not entry.raw:
            return None
        value = entry.raw.split(b"\x00", 1)[0].decode("latin-1").strip()
        return value or None

    def number(self, ifd: dict[int, ExifEntry], tag: int) -> int | None:
        """The first value of a BYTE, SHORT or LONG entry; None otherwise."""
        entry = ifd.get(tag)
        sizes = {1: "B", 3: "H", 4: "I"}
        if entry is None or entry.type not in sizes:
            return None
        code = sizes[entry.type]
        width = struct.calcsize(code)
        if len(entry.raw) < width:
            return None
        (value,) = struct.unpack(self.order + code, entry.raw[:width])
        return int(value)


def read_directories(block: bytes, where: str = "EXIF") -> ExifDirectories:
    """Every entry of IFD0, the Exif IFD, the GPS IFD and IFD1; never raises."""
    out = ExifDirectories()
    if len(block) < 8 or block[:2] not in (b"II", b"MM"):
        out.errors.append(f"{where}: not a TIFF structure; skipped")
        return out
    out.order = "<" if block[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack(out.order + "I", block[4:8])
        next_ifd = _entries(block, out, ifd0, out.ifd0, where)
        for pointer, target in ((_EXIF_IFD, out.exif), (_GPS_IFD, out.gps)):
            offset = out.number(out.ifd0, pointer)
            if offset is not None and offset != ifd0:
                _entries(block, out, offset, target, where)
        if next_ifd and next_ifd != ifd0:
            _entries(block, out, next_ifd, out.ifd1, where)
    except struct.error as exc:
        out.errors.append(f"{where}: malformed ({exc}); partly read")
    return out


def _entries(
    block: bytes, out: ExifDirectories, offset: int, into: dict[int, ExifEntry], where: str
) -> int:
    """The entries of the IFD at ``offset`` into ``into``; the next IFD's offset (0: none)."""
    order = out.order
    if offset < 8 or offset + 2 > len(block):
        out.errors.append(f"{where}: IFD offset {offset} is outside the block; skipped")
        return 0
    (count,) = struct.unpack(order + "H", block[offset : offset + 2])
    if count > _MAX_ENTRIES:
        out.errors.append(f"{where}: IFD claims {count} entries; read the first {_MAX_ENTRIES}")
        count = _MAX_ENTRIES
    for i in range(count):
        entry = offset + 2 + 12 * i
        if entry + 12 > len(block):
            out.errors.append(f"{where}: IFD is truncated after {i} entries")
            return 0
        tag, typ, n = struct.unpack(order + "HHI", block[entry : entry + 8])
        size = _TYPE_SIZES.get(typ, 1) * n
        if size <= 4:
            raw = block[entry + 8 : entry + 8 + size]
        else:
            (value_at,) = struct.unpack(order + "I", block[entry + 8 : entry + 12])
            fits = size <= _MAX_VALUE_BYTES and value_at + size <= len(block)
            raw = block[value_at : value_at + size] if fits else b""
        into.setdefault(tag, ExifEntry(typ, n, raw))
    end = offset + 2 + 12 * count
    if end + 4 > len(block):
        return 0
    (next_ifd,) = struct.unpack(order + "I", block[end : end + 4])
    return int(next_ifd)
