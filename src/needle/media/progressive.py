"""A progressive JPEG cut down to its DC scans, for decodes at 1/8 scale.

In: the bytes of a progressive JPEG that is about to be decoded at 1/8 scale. Out: the bytes
of a much shorter JPEG holding only the file's DC coefficients, or ``None`` when the file is
not one this applies to (the caller then decodes the file as it is).

Why: at 1/8 scale libjpeg's IDCT of a full-resolution component reads only the DC coefficient
of each 8x8 block: the block's mean. A baseline JPEG cannot skip the rest (each block's
coefficients are coded one after another), but a progressive one codes them in separate
scans, first the DC of every block and then bands of AC coefficients. Decoding all of them
costs 4-8x the DC scans alone on a large photo, and a 1/8 decode throws most of it away.

How: keep every segment before the first scan and every table between scans, keep the DC
scans (``Ss = 0``: first pass and refinements), drop every AC scan, and give each component
one synthetic AC scan that says "every AC coefficient is zero, to full precision" (end-of-band
runs over all its blocks, with a Huffman table of its own). That last step matters: libjpeg
smooths an image whose AC coefficients never arrived (block smoothing, meant for previews of a
partial download), which would change even the DC; with them all declared known, nothing is
smoothed.

What comes out: luminance exactly as the whole file decodes at 1/8 (up to colour clipping),
and colour exactly too when chroma is stored at full resolution or 4:2:2. With 4:2:0 chroma,
libjpeg decodes chroma at 1/8 with a 2x2 IDCT that reads a few AC coefficients; here chroma
is the mean of each 16x16 block instead, still finer than the chroma a 4:2:0 JPEG of the
decoded size would carry. PDQ reads luminance only (its weights are JPEG's), so hashes do not
move (tests/media/test_progressive.py; docs/performance.md).

Files with restart intervals, arithmetic coding, more than 4 components or anything the
parser does not expect are left alone (``None``). The output is never longer than the input
plus about 50 bytes a component and 3 per 32,767 blocks, and parsing is one pass over the marker structure (scan
data is skipped with one regular-expression search per scan).
"""

from __future__ import annotations

import re
import struct

__all__ = ["dc_only"]

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_SOF2 = 0xC2  # progressive, Huffman coded
_SOS = 0xDA
_DHT = 0xC4
_DRI = 0xDD
#: a marker inside entropy-coded data: 0xFF followed by anything but a stuffed zero, a
#: restart marker or fill
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: markers of frames needle leaves alone: baseline/extended (one scan), lossless, arithmetic,
#: hierarchical
_OTHER_FRAMES = frozenset({0xC0, 0xC1, 0xC3, *range(0xC5, 0xC8), *range(0xC9, 0xD0)}) - {0xCC}
#: the synthetic scans' AC table slot; only dropped AC scans would have read it afterwards
_TABLE = 3
_MAX_RUN = 32_767  # EOB14 with 14 extra bits: the longest end-of-band run one symbol codes


def dc_only(data: bytes) -> bytes | None:
    """``data`` without the AC scans a 1/8-scale decode does not read (see the module
    docstring), or ``None`` when the file is not a progressive JPEG this can be done for."""
    if not data.startswith(_SOI):
        return None
    try:
        return _rewrite(data)
    except (IndexError, struct.error, ValueError, ZeroDivisionError):
        return None


def _rewrite(data: bytes) -> bytes | None:
    out = [_SOI]
    pos, end = 2, len(data)
    frame: bytes | None = None
    kept_scan = False
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            return None
        header_end = pos + 2 + length
        if header_end > end:
            return None
        if marker == _DRI or marker in _OTHER_FRAMES:
            return None
        if marker == _SOF2:
            frame = data[pos + 4 : header_end]
        if marker != _SOS:
            out.append(data[pos:header_end])
            pos = header_end
            continue
        if frame is None:
            return None
        found = _MARKER.search(data, header_end)
        scan_end = found.start() if found else end
        if data[pos + 5 + 2 * data[pos + 4]] == 0:  # spectral selection starts at DC
            out.append(data[pos:scan_end])
            kept_scan = True
        pos = scan_end
    if frame is None or not kept_scan:
        return None
    out.extend(_zero_ac_scan(cid, blocks) for cid, blocks in _blocks(frame))
    out.append(_EOI)
    return b"".join(out)


def _components(frame: bytes) -> list[tuple[int, int, int]]:
    """(id, horizontal, vertical sampling factor) of each component of a SOF2 payload."""
    count = frame[5]
    if not 1 <= count <= 4 or len(frame) < 6 + 3 * count:
        raise ValueError("bad frame header")
    return [(frame[6 + 3 * i], frame[7 + 3 * i] >> 4, frame[7 + 3 * i] & 15) for i in range(count)]


def _blocks(frame: bytes) -> list[tuple[int, int]]:
    """(id, 8x8 blocks in a scan of that component alone) of each component."""
    height, width = struct.unpack_from(">HH", frame, 1)
    if not (height and width):
        raise ValueError("no size in the frame header")
    components = _components(frame)
    most_h = max(h for _, h, _ in components)
    most_v = max(v for _, _, v in components)
    return [
        (cid, -(-width * h // most_h // 8) * -(-height * v // most_v // 8))
        for cid, h, v in components
    ]


def _zero_ac_scan(component: int, blocks: int) -> bytes:
    """A Huffman table and a first AC scan (coefficients 1-63, full precision) of one
    component in which every block is an end of band: all its AC coefficients are zero."""
    # EOB0..EOB14 (run lengths 1 .. 2**15 - 1), fifteen 4-bit codes in symbol order
    symbols = bytes(r << 4 for r in range(15))
    table = bytes([0x10 | _TABLE, 0, 0, 0, len(symbols)] + [0] * 12) + symbols
    dht = struct.pack(">BBH", 0xFF, _DHT, 2 + len(table)) + table
    sos = struct.pack(">BBHB", 0xFF, _SOS, 8, 1) + bytes([component, _TABLE, 1, 63, 0])
    value, length = 0, 0
    while blocks:
        run = min(blocks, _MAX_RUN)
        extra = run.bit_length() - 1  # EOBr: 2**r plus r extra bits
        value = (value << (4 + extra)) | (extra << extra) | (run - (1 << extra))
        length += 4 + extra
        blocks -= run
    pad = -length % 8
    value = (value << pad) | ((1 << pad) - 1)  # padded with 1 bits, as the standard says
    coded = value.to_bytes((length + pad) // 8, "big").replace(b"\xff", b"\xff\x00")
    return dht + sos + coded
