"""Generation metadata hidden in the lowest bits of the pixels ("stealth PNG info").

In: the pixels of a lossless image (``numpy`` ``H x W x 4`` RGBA, or ``H x W x 3`` RGB) as
stored, before any compositing. Out: the hidden text (``StealthPayload``) or ``None``.

The format, written by the sd-webui-stealth-pnginfo extension for AUTOMATIC1111/Forge and by
NovelAI: bits are read column by column (x outer, y inner), one per pixel from the alpha
channel (``stealth_pnginfo`` plain, ``stealth_pngcomp`` gzip) or three per pixel from R, G, B
(``stealth_rgbinfo`` / ``stealth_rgbcomp``). The 15-byte signature is followed by a 32-bit
big-endian length in bits, then the payload: AUTOMATIC1111 ``parameters`` text, or NovelAI's
JSON (``Software``, ``Description``, ``Comment``, ...).

The signature is checked on the first 120 bits before anything else is read, so an image
without a payload costs one small slice; for 8-bit PNGs ``has_signature`` checks the first pixel
column read straight from the file (``container.png_first_column``), so the image is decoded
only when a payload is there. Payloads are bounded by ``MAX_PAYLOAD_BYTES``.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HEAD_ROWS",
    "MAX_PAYLOAD_BYTES",
    "SIGNATURES",
    "StealthPayload",
    "encode",
    "has_signature",
    "read_stealth",
]

#: signature -> (channels it lives in, gzip-compressed?)
SIGNATURES = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_SIG_BITS = 15 * 8
_LEN_BITS = 32
#: hidden payloads over this size are refused (real ones are a few kilobytes)
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class StealthPayload:
    """Hidden text and how it was stored."""

    signature: str
    text: str
    error: str | None = None


def _bit_stream(pixels: np.ndarray, mode: str) -> np.ndarray:
    """The low bits in the extension's reading order (column-major; R, G, B per pixel)."""
    if mode == "alpha":
        return (pixels[:, :, 3].T & 1).ravel()
    return (pixels[:, :, :3].transpose(1, 0, 2) & 1).ravel()


def _first_bits(pixels: np.ndarray, mode: str, count: int) -> np.ndarray:
    """The first ``count`` bits without touching the rest of the image."""
    height = pixels.shape[0]
    per_pixel = 1 if mode == "alpha" else 3
    columns = -(-count // (height * per_pixel))
    return _bit_stream(pixels[:, :columns], mode)[:count]


#: rows of the first pixel column that hold the 120-bit signature: one bit per row in alpha,
#: three per row in RGB (an RGB image can only carry the RGB form)
HEAD_ROWS = {4: _SIG_BITS, 3: _SIG_BITS // 3}


def has_signature(column: np.ndarray) -> bool:
    """Whether the first pixel column (``(rows, 3 or 4)``, at least ``HEAD_ROWS[channels]``
    rows) starts with a stealth signature, in the alpha or the RGB low bits."""
    if column.ndim != 2 or column.shape[1] not in (3, 4):
        return False
    if column.shape[0] < HEAD_ROWS[column.shape[1]]:
        return False
    heads = []
    if column.shape[0] >= HEAD_ROWS[3]:
        heads.append((column[: HEAD_ROWS[3], :3] & 1).ravel())
    if column.shape[1] == 4:
        heads.append(column[:_SIG_BITS, 3] & 1)
    return any(np.packbits(bits).tobytes() in SIGNATURES for bits in heads)


def read_stealth(pixels: np.ndarray) -> StealthPayload | None:
    """Find and decode a stealth payload; ``None`` when there is none.

    A payload that is announced but broken (truncated, bad gzip, over the size limit) comes
    back with ``error`` set and whatever text could be recovered.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        return None
    height, width = pixels.shape[:2]
    modes = ("alpha", "rgb") if pixels.shape[2] == 4 else ("rgb",)
    for mode in modes:
        capacity = height * width * (1 if mode == "alpha" else 3)
        if capacity < _SIG_BITS + _LEN_BITS:
            continue
        head = np.packbits(_first_bits(pixels, mode, _SIG_BITS + _LEN_BITS)).tobytes()
        found = SIGNATURES.get(head[:15])
        if found is None or found[0] != mode:
            continue
        compressed = found[1]
        signature = head[:15].decode()
        n_bits = int.from_bytes(head[15:19], "big")
        if n_bits > MAX_PAYLOAD_BYTES * 8:
            return StealthPayload(signature, "", f"announces {n_bits // 8} bytes; over the limit")
        available = capacity - _SIG_BITS - _LEN_BITS
        error = None
        if n_bits > available:
            error = f"announces {n_bits} bits but the image holds {available}; truncated"
            n_bits = available
        start = _SIG_BITS + _LEN_BITS
        bits = _first_bits(pixels, mode, start + n_bits)[start:]
        raw = np.packbits(bits).tobytes()[: n_bits // 8]
        if compressed:
            try:
                raw = _gunzip(raw)
            except (OSError, EOFError, zlib.error) as exc:
                return StealthPayload(signature, "", f"payload does not decompress ({exc})")
        text = raw.decode("utf-8", errors="replace")
        if "\ufffd" in text and error is None:
            error = "payload is not valid UTF-8; undecodable bytes replaced"
        return StealthPayload(signature, text, error)
    return None


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(raw, MAX_PAYLOAD_BYTES)
    if inflater.unconsumed_tail:
        raise OSError(f"inflates past {MAX_PAYLOAD_BYTES} bytes")
    return out


def encode(
    pixels: np.ndarray, text: str, *, mode: str = "alpha", compressed: bool = True
) -> np.ndarray:
    """Hide ``text`` as the extension does (for tests and for stamping); returns new pixels."""
    kind = "png" if mode == "alpha" else "rgb"
    signature = f"stealth_{kind}{'comp' if compressed else 'info'}".encode()
    payload = text.encode("utf-8")
    if compressed:
        payload = gzip.compress(payload)
    stream = signature + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8))
    out = pixels.copy()
    if mode == "alpha":
        plane = out[:, :, 3].T.copy()  # column-major order
        flat = plane.ravel()
        if bits.size > flat.size:
            raise ValueError("image too small for this payload")
        flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
        out[:, :, 3] = flat.reshape(plane.shape).T
    else:
        cube = out[:, :, :3].transpose(1, 0, 2).copy()
        flat = cube.ravel()
        if bits.size > flat.size:
            raise ValueError("image too small for this payload")
        flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
        out[:, :, :3] = flat.reshape(cube.shape).transpose(1, 0, 2)
    return out
