"""Reading zip archives without trusting them.

In: a seekable binary file holding a zip archive. Out: its central directory, one ``ZipEntry``
per entry (the name as stored bytes, sizes, method, flags), and one member's bytes on demand.

Why not ``zipfile.ZipFile``: it decodes every name while it opens the archive, so one name
flagged UTF-8 that is not UTF-8 (or one damaged extra field) makes the whole archive
unreadable; it builds an object per entry before the caller can count them; it truncates
names at a NUL byte; and reading one member later means parsing the whole directory again.
Here each entry is parsed on its own, names stay bytes until they are shown, a problem with
one entry is that entry's problem, and a member is read from its offset alone (``ZipEntry``
is small and picklable: a worker process reads the member itself). Inflating, the CRC check
and the refusal of encrypted data are zipfile's own (``zipfile.ZipExtFile``).
"""

from __future__ import annotations

import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from needle.errors import MediaTooLarge

__all__ = [
    "METHOD_NAMES",
    "SUPPORTED_METHODS",
    "ZipEntry",
    "ZipFormatError",
    "iter_directory",
    "read_member",
]


class ZipFormatError(Exception):
    """The archive's structure is broken: no end record, or a damaged central directory."""


# APPNOTE.TXT 4.3.16 end of central directory, 4.3.15 zip64 locator, 4.3.14 zip64 end record,
# 4.3.12 central directory header, 4.3.7 local file header
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIG = b"PK\x05\x06"
_LOCATOR = struct.Struct("<4sLQL")
_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_EOCD64_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIG = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_ZIP64_EXTRA = 0x0001
_UNIX = 3  # "version made by" host system: UNIX, whose external attributes hold st_mode

#: general purpose flag bits (APPNOTE 4.4.4)
FLAG_ENCRYPTED = 0x0001
FLAG_PATCHED = 0x0020
FLAG_STRONG_ENCRYPTION = 0x0040
FLAG_UTF8 = 0x0800
_METHOD_AES = 99  # WinZip AES: the data is encrypted whatever the flags say

#: compression methods zipfile.ZipExtFile inflates
SUPPORTED_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
#: others a zip may name (APPNOTE 4.4.5), for messages
METHOD_NAMES = {
    1: "shrink", 2: "reduce", 3: "reduce", 4: "reduce", 5: "reduce", 6: "implode",
    9: "deflate64", 10: "pkware implode", 18: "ibm terse", 19: "lz77", 93: "zstandard",
    94: "mp3", 95: "xz", 96: "jpeg", 97: "wavpack", 98: "ppmd", 99: "aes-encrypted",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One central directory entry. ``header_offset`` is absolute in the file (data prepended
    to the archive, as in self-extracting ones, already accounted for); ``problem`` says
    why this entry alone cannot be read, when its own fields are damaged."""

    index: int
    raw_name: bytes
    flag_bits: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    create_system: int
    external_attr: int
    problem: str | None = None

    @property
    def name(self) -> str:
        """The stored name: UTF-8 when flagged so (bytes that are not UTF-8 kept as surrogate
        escapes, shown as ``\\xNN`` by ``needle.media.names``), else IBM code page 437."""
        if self.flag_bits & FLAG_UTF8:
            return self.raw_name.decode("utf-8", "surrogateescape")
        return self.raw_name.decode("cp437")

    @property
    def is_dir(self) -> bool:
        return self.raw_name.endswith(b"/")

    @property
    def is_symlink(self) -> bool:
        return self.create_system == _UNIX and stat.S_ISLNK(self.external_attr >> 16)

    @property
    def encrypted(self) -> bool:
        flags = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION
        return bool(self.flag_bits & flags) or self.method == _METHOD_AES


def _end_record(fp: BinaryIO) -> tuple[int, int, int]:
    """Where the central directory starts, its size, and how far the archive is shifted in
    the file (bytes prepended to it), as ``zipfile`` computes them."""
    fp.seek(0, 2)
    file_size = fp.tell()
    tail_size = min(file_size, _EOCD.size + _MAX_COMMENT)
    fp.seek(file_size - tail_size)
    tail = fp.read(tail_size)
    chosen = -1
    pos = tail.rfind(_EOCD_SIG)
    while pos >= 0:  # prefer a record whose comment ends the file; else the last one
        if pos + _EOCD.size <= len(tail):
            comment_size = _EOCD.unpack_from(tail, pos)[7]
            if pos + _EOCD.size + comment_size == len(tail):
                chosen = pos
                break
            if chosen < 0:
                chosen = pos
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    if chosen < 0:
        raise ZipFormatError("not a zip archive (no end of central directory record)")
    record_at = file_size - tail_size + chosen
    cd_size, cd_offset = _EOCD.unpack_from(tail, chosen)[5:7]
    directory_end = record_at
    if record_at >= _LOCATOR.size + _EOCD64.size:
        fp.seek(record_at - _LOCATOR.size)
        locator = fp.read(_LOCATOR.size)
        if locator[:4] == _LOCATOR_SIG:
            _, disk, _, disks = _LOCATOR.unpack(locator)
            if disk != 0 or disks > 1:
                raise ZipFormatError("archives split over several files are not supported")
            fp.seek(record_at - _LOCATOR.size - _EOCD64.size)
            record = fp.read(_EOCD64.size)
            if record[:4] == _EOCD64_SIG:
                cd_size, cd_offset = _EOCD64.unpack(record)[8:10]
                directory_end = record_at - _LOCATOR.size - _EOCD64.size
    shift = directory_end - cd_size - cd_offset
    start = cd_offset + shift
    if start < 0:
        raise ZipFormatError("bad offset for the central directory")
    return start, cd_size, shift


def _zip64(
    extra: bytes, size: int, compressed: int, offset: int
) -> tuple[int, int, int, str | None]:
    """Sizes and offset from the zip64 extra field, for those the fixed fields mark 0xFFFFFFFF."""
    wanted = [value == 0xFFFFFFFF for value in (size, compressed, offset)]
    if not any(wanted):
        return size, compressed, offset, None
    values = [size, compressed, offset]
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == _ZIP64_EXTRA:
            data = extra[pos + 4 : pos + 4 + length]
            at = 0
            for i, want in enumerate(wanted):
                if want:
                    if at + 8 > len(data):
                        return size, compressed, offset, "damaged zip64 extra field"
                    values[i] = struct.unpack_from("<Q", data, at)[0]
                    at += 8
            return values[0], values[1], values[2], None
        pos += 4 + length
    return size, compressed, offset, "sizes marked zip64 but no zip64 extra field"


def iter_directory(fp: BinaryIO) -> Iterator[ZipEntry]:
    """The central directory's entries, in stored order; ``ZipFormatError`` where it breaks
    (the entries before that have been yielded)."""
    start, remaining, shift = _end_record(fp)
    fp.seek(start)
    index = 0
    while remaining > 0:
        head = fp.read(_CENTRAL.size)
        if len(head) != _CENTRAL.size:
            raise ZipFormatError("truncated central directory")
        fields = _CENTRAL.unpack(head)
        if fields[0] != _CENTRAL_SIG:
            raise ZipFormatError("bad central directory entry (wrong signature)")
        (
            _, _, create_system, _, _, flag_bits, method, _, _, crc,
            compressed, size, name_size, extra_size, comment_size, _, _, external_attr, offset,
        ) = fields  # fmt: skip
        raw_name = fp.read(name_size)
        extra = fp.read(extra_size)
        fp.seek(comment_size, 1)
        if len(raw_name) != name_size or len(extra) != extra_size:
            raise ZipFormatError("truncated central directory")
        size, compressed, offset, problem = _zip64(extra, size, compressed, offset)
        yield ZipEntry(
            index, raw_name, flag_bits, method, crc, compressed, size, offset + shift,
            create_system, external_attr, problem,
        )  # fmt: skip
        remaining -= _CENTRAL.size + name_size + extra_size + comment_size
        index += 1


def _lzma_dictionary(fp: BinaryIO) -> int:
    """The dictionary size an LZMA member's properties ask for (APPNOTE 5.8.8), without
    moving ``fp``; the decoder allocates that much before it inflates a byte."""
    at = fp.tell()
    head = fp.read(9)  # version (2), properties size (2), properties: lc/lp/pb, dictionary
    fp.seek(at)
    if len(head) < 9:
        return 0
    return int(struct.unpack_from("<I", head, 5)[0])


def read_member(fp: BinaryIO, entry: ZipEntry, *, max_decoder_memory: int) -> bytes:
    """``entry``'s bytes, inflated and CRC-checked; at most ``entry.size`` bytes are made.

    The caller has already refused what must not be read (encrypted, unsupported method,
    over the size limits). Raises ``zipfile.BadZipFile``, ``EOFError``, ``zlib.error``,
    ``lzma.LZMAError`` and the like on damaged data, ``MediaTooLarge`` when an LZMA member
    asks for more decoder memory than ``max_decoder_memory``.
    """
    fp.seek(entry.header_offset)
    head = fp.read(_LOCAL.size)
    if len(head) != _LOCAL.size or head[:4] != _LOCAL_SIG:
        raise zipfile.BadZipFile("no local file header where the central directory says")
    name_size, extra_size = _LOCAL.unpack(head)[-2:]
    if fp.read(name_size) != entry.raw_name:
        raise zipfile.BadZipFile("the name in the local header differs from the directory's")
    fp.seek(extra_size, 1)
    if entry.method == 14:
        dictionary = _lzma_dictionary(fp)
        if dictionary > max_decoder_memory:
            raise MediaTooLarge(
                f"the LZMA member asks for a {dictionary:,}-byte dictionary, over the limit of "
                f"{max_decoder_memory:,} (Limits.max_decompressor_memory)"
            )
    info = zipfile.ZipInfo(entry.name.replace("\x00", "?"))
    info.compress_type = entry.method
    info.compress_size = entry.compressed_size
    info.file_size = entry.size
    info.CRC = entry.crc
    info.flag_bits = entry.flag_bits
    with zipfile.ZipExtFile(fp, "r", info) as member:
        return member.read(entry.size)
