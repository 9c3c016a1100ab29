"""The same picture without its metadata: what the decoder falls back to when metadata breaks it.

In: the bytes of a PNG or JPEG that Pillow refused. Out: the same file with only what the
pixels need (and the EXIF, for the orientation), or None when there was nothing to remove.

Why: Pillow refuses a whole image over one text chunk that inflates past its limit
(``PngImagePlugin.MAX_TEXT_CHUNK``), one ancillary chunk with a bad checksum, a short JFIF
or Adobe segment... A file would then get no perceptual hash, though its pixels are intact,
and adding such a chunk would be a way to hide a known picture. Pixels never depend on these
parts (Pillow applies no colour profile or gamma), so the PDQ of the stripped file is the
PDQ of the picture.

- PNG: keeps the critical chunks (``IHDR``, ``PLTE``, ``IDAT``, ``IEND``, any other whose name
  starts upper-case) and ``eXIf`` when its checksum is right; drops text (``tEXt``, ``zTXt``,
  ``iTXt``), ``iCCP`` and every other ancillary chunk. Animation chunks go too: the first
  frame, which is all a hash reads, is the ``IDAT`` image.
- JPEG: drops the APP segments (except EXIF in APP1) and comments before the first scan.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["without_metadata"]

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8"
_SOS = 0xDA
_APP0, _APP15, _COM = 0xE0, 0xEF, 0xFE
_EXIF = b"Exif\x00\x00"
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RSTn: markers without a length


def without_metadata(data: bytes) -> bytes | None:
    if data.startswith(_PNG):
        return _png(data)
    if data.startswith(_JPEG):
        return _jpeg(data)
    return None


def _png(data: bytes) -> bytes | None:
    kept = [_PNG]
    dropped = False
    pos = len(_PNG)
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break  # truncated: let the decoder say so
        body = data[pos + 8 : pos + 8 + length]
        crc = struct.unpack_from(">I", data, end - 4)[0]
        critical = not kind[0] & 0x20
        keep = critical or (kind == b"eXIf" and zlib.crc32(kind + body) == crc)
        if keep:
            kept.append(data[pos:end])
        else:
            dropped = True
        pos = end
        if kind == b"IEND":
            break
    kept.append(data[pos:])
    return b"".join(kept) if dropped else None


def _jpeg(data: bytes) -> bytes | None:
    kept = [_JPEG]
    dropped = False
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            kept.append(data[pos : pos + 2])
            pos += 2
            continue
        if marker == _SOS:
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2:
            break  # damaged: let the decoder say so
        end = pos + 2 + length
        segment = data[pos:end]
        is_exif = marker == _APP0 + 1 and segment[4:10] == _EXIF
        if (_APP0 <= marker <= _APP15 or marker == _COM) and not is_exif:
            dropped = True
        else:
            kept.append(segment)
        pos = end
    kept.append(data[pos:])
    return b"".join(kept) if dropped else None
