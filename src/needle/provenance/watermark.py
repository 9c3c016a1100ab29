"""The dwtDct invisible watermark of Stable Diffusion's reference scripts, on numpy/OpenCV/PyWavelets.

In: RGB pixels (``numpy`` array ``H x W x 3``, ``uint8``) at the resolution the generator saved.
Out: a ``WatermarkCheck`` saying, for the best of the known messages and channel orders, how many
bits matched and what that means (``very_likely`` / ``likely`` / ``partial`` / ``none``).

The algorithm is the ``dwtDct`` method of the ``invisible-watermark`` package (ShieldMnt,
``imwatermark/maxDct.py``), reimplemented here so that needle does not pull in its torch
dependency:

1. convert BGR to YUV with OpenCV (8-bit), keep the U channel (the package's default scales
   ``[0, 36, 36]`` are looped over ``range(2)``, so only U carries the mark);
2. one-level Haar DWT of the top-left ``(H//4*4) x (W//4*4)`` region, keep the LL band;
3. cut LL into 4x4 blocks in raster order; block ``n`` carries bit ``n % len(message)``;
4. embedding moves the block's largest-magnitude coefficient (index 0 excluded) onto the
   lattice ``(|v| // 36 + 0.25 + 0.5 * bit) * 36``; decoding reads ``|v| % 36 > 18`` and
   averages each bit over all its blocks (``mean * 255 > 127``).

Both steps are per block and a block covers 8x8 pixels, so a block reads the same in the whole
image and in any window aligned to 8 pixels. Images over ``WINDOW x WINDOW`` pixels are read on a
centred window of that size: the same per-block readings, fewer of them averaged per bit. The
decoder's LL band is computed in numpy with PyWavelets' own arithmetic (bit-identical, ~6x
faster); the encoder calls PyWavelets as the reference does.

Known messages: ``StableDiffusionV1`` (136 bits, CompVis scripts), ``SDV2`` (32 bits,
Stability-AI/stablediffusion) and the 48-bit SDXL message ``0xB3EC907BB19E``
(Stability-AI/generative-models, also diffusers' SDXL pipelines). Some pipelines handed RGB
pixels to an encoder that expects BGR, so each message is tried in both channel orders.

Limits: resizing, cropping at an offset that is not a multiple of 8, rotation or heavy JPEG
compression destroy or weaken the mark; a low count on a lossy file is therefore reported as
``inconclusive``, never as proof of absence. Only these three open-model messages are known;
closed services use other marks (SynthID, ...) that cannot be read locally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from needle._optional import import_optional
from needle.jsonvalue import JSONObject

__all__ = [
    "LEVELS",
    "MESSAGES",
    "MIN_PIXELS",
    "READINGS",
    "SCALE",
    "SD1",
    "SD2",
    "SDXL",
    "WINDOW",
    "WatermarkCheck",
    "WatermarkMessage",
    "WatermarkReading",
    "binomial_tail",
    "block_scores",
    "centre_window",
    "check",
    "decode_bits",
    "embed",
]

#: quantisation step of the U channel's LL coefficients (invisible-watermark default scales)
SCALE = 36.0
#: block size in the LL band (invisible-watermark default)
BLOCK = 4
#: invisible-watermark refuses images under 256x256 pixels ("image too small")
MIN_PIXELS = 256 * 256

#: side in pixels of the centred window read on larger images (the reference reads everything;
#: each block reads the same either way, only the number of blocks averaged per bit drops).
#: 1024 reads SD 1.x/2.x outputs and SDXL 1024x1024 whole and bounds the cost (bench/).
WINDOW = 1024

#: levels, strongest first
LEVELS = ("very_likely", "likely", "partial", "none")


@dataclass(frozen=True)
class WatermarkMessage:
    """A known message with its bits and the bits-matched thresholds of each level."""

    name: str
    model: str
    bits: tuple[int, ...]
    very_likely: int
    likely: int
    partial: int

    def level(self, matched: int) -> str:
        if matched >= self.very_likely:
            return "very_likely"
        if matched >= self.likely:
            return "likely"
        if matched >= self.partial:
            return "partial"
        return "none"


def _bits_of_bytes(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


#: SDXL thresholds from Stability-AI/generative-models scripts/demo/detect.py (MATCH_VALUES):
#: <= 27 "no watermark", 28-33 "partial", 34-35 "likely (0.02 % of real images)",
#: >= 36 "very likely (no real image in their test)".
SDXL = WatermarkMessage(
    name="0xB3EC907BB19E",
    model="Stable Diffusion XL",
    bits=tuple(int(b) for b in format(0xB3EC907BB19E, "048b")),
    very_likely=36,
    likely=34,
    partial=28,
)
#: SD 1.x / 2.x publish no table. Their thresholds are the smallest counts whose binomial tail
#: P(X >= k | n bits, p = 1/2) is no larger than SDXL's at 36, 34 and 28 of 48 divided by
#: READINGS (every image is read 6 ways, so chance matches get 6 tries); see
#: tests/provenance/test_watermark.py::test_thresholds_follow_the_sdxl_tail.
SD1 = WatermarkMessage(
    name="StableDiffusionV1",
    model="Stable Diffusion 1.x",
    bits=_bits_of_bytes(b"StableDiffusionV1"),
    very_likely=91,
    likely=88,
    partial=80,
)
SD2 = WatermarkMessage(
    name="SDV2",
    model="Stable Diffusion 2.x",
    bits=_bits_of_bytes(b"SDV2"),
    very_likely=27,
    likely=26,
    partial=22,
)
MESSAGES = (SDXL, SD1, SD2)
#: readings per image: every message in both channel orders
READINGS = 2 * len(MESSAGES)


@dataclass(frozen=True)
class WatermarkReading:
    """The bits read for one message in one channel order."""

    message: str
    model: str
    channel_order: str
    bits_matched: int
    bits_total: int
    level: str

    def to_dict(self) -> JSONObject:
        return {
            "message": self.message,
            "model": self.model,
            "channel_order": self.channel_order,
            "bits_matched": self.bits_matched,
            "bits_total": self.bits_total,
            "level": self.level,
        }


@dataclass(frozen=True)
class WatermarkCheck:
    """Whether the decode ran, and its best reading.

    ``level`` is the best reading's level, or ``inconclusive`` when the file is lossy and no
    reading reached ``partial``, or ``not_attempted`` with ``reason`` saying why.
    """

    attempted: bool
    level: str
    best: WatermarkReading | None = None
    readings: tuple[WatermarkReading, ...] = ()
    reason: str = ""
    region: tuple[int, int, int, int] | None = None

    def to_dict(self) -> JSONObject:
        return {
            "attempted": self.attempted,
            "level": self.level,
            "best": self.best.to_dict() if self.best else None,
            "readings": [r.to_dict() for r in self.readings],
            "reason": self.reason,
            "region": list(self.region) if self.region else None,
        }


def _cv2() -> Any:
    return import_optional("cv2", "provenance")


def _pywt() -> Any:
    return import_optional("pywt", "provenance")


def _to_bgr(rgb: np.ndarray, channel_order: str) -> np.ndarray:
    """The array the reference encoder received: BGR when the caller converted, RGB otherwise."""
    _check_rgb(rgb)
    if channel_order == "bgr":
        return np.ascontiguousarray(rgb[:, :, ::-1])
    if channel_order == "rgb":
        return np.ascontiguousarray(rgb)
    raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {channel_order!r}")


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an H x W x 3 uint8 RGB array")


def _blocks(ll: np.ndarray) -> np.ndarray:
    """LL band -> (n_blocks, 16) in the reference's raster order of 4x4 blocks."""
    rows, cols = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    view = ll[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    return view.transpose(0, 2, 1, 3).reshape(rows * cols, BLOCK * BLOCK)


#: the Haar low-pass tap, exactly as PyWavelets stores it
_HAAR = 0.7071067811865476
#: _HAAR * v for every 8-bit v, rounded as PyWavelets' own product is
_HAAR_TIMES = _HAAR * np.arange(256, dtype=np.float64)


def _ll_band(channel: np.ndarray) -> np.ndarray:
    """Haar LL band of an 8-bit plane with even sides.

    Bit-identical to ``pywt.dwt2(channel, "haar")[0]``: PyWavelets computes each output as
    ``h * x[2i+1] + h * x[2i]`` along rows, then along columns, and so does this, in float64,
    at a fraction of the cost (tests compare the two).
    """
    rows = _HAAR_TIMES[channel[1::2]] + _HAAR_TIMES[channel[0::2]]
    return _HAAR * rows[:, 1::2] + _HAAR * rows[:, 0::2]


def _grid(rows: int, cols: int) -> tuple[int, int]:
    """Blocks per column and per row of the reference's grid for an image of this size."""
    return (rows // 4 * 4 // 2) // BLOCK, (cols // 4 * 4 // 2) // BLOCK


def embed(
    rgb: np.ndarray,
    bits: tuple[int, ...] | list[int],
    *,
    channel_order: str = "bgr",
    scale: float = SCALE,
    channel: int = 1,
    reference_quirks: bool = True,
) -> np.ndarray:
    """Embed ``bits`` as invisible-watermark's ``dwtDct`` encoder does; return new RGB pixels.

    ``channel`` is the YUV plane that carries the mark: 1 (U) as the reference does; needle's
    own stamp uses 0 (Y), which JPEG's chroma subsampling leaves intact, with
    ``reference_quirks=False``: the reference's inverse transform swaps the horizontal and
    vertical details and wraps values outside 0-255, harmless on the smooth U plane but
    visible damage on Y; without the quirks the details stay in place and values are clipped.

    ``channel_order="bgr"`` reproduces a generator that converted RGB to BGR before encoding
    (the SD reference scripts); ``"rgb"`` one that passed RGB pixels straight in. Values the
    inverse transform pushes outside 0-255 wrap the way numpy's uint8 cast does on x86, as in
    the reference.
    """
    cv2, pywt = _cv2(), _pywt()
    if len(bits) == 0:
        raise ValueError("no bits to embed")
    bgr = _to_bgr(rgb, channel_order)
    rows, cols = bgr.shape[:2]
    if rows * cols < MIN_PIXELS:
        raise ValueError("image too small: the algorithm needs at least 256x256 pixels")
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    ca, (ch, cv, cd) = pywt.dwt2(yuv[:r4, :c4, channel], "haar")
    blocks = _blocks(ca)
    n = blocks.shape[0]
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    idx = np.arange(n)
    val = blocks[idx, pos]
    wm = np.asarray(bits, dtype=np.float64)[idx % len(bits)]
    new = (np.abs(val) // scale + 0.25 + 0.5 * wm) * scale
    brows, bcols = ca.shape[0] // BLOCK, ca.shape[1] // BLOCK
    if not reference_quirks:
        new = _reachable(new, val, scale, yuv[:r4, :c4, channel], idx, pos, bcols)
    blocks[idx, pos] = np.where(val >= 0.0, new, -new)
    ca[: brows * BLOCK, : bcols * BLOCK] = (
        blocks.reshape(brows, bcols, BLOCK, BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(brows * BLOCK, bcols * BLOCK)
    )
    # the reference passes (cA, (cV, cH, cD)): horizontal and vertical details swapped
    details = (cv, ch, cd) if reference_quirks else (ch, cv, cd)
    back = pywt.idwt2((ca, details), "haar")
    if reference_quirks:
        yuv[:r4, :c4, channel] = (np.trunc(back).astype(np.int64) & 0xFF).astype(np.uint8)
    else:
        yuv[:r4, :c4, channel] = np.clip(np.rint(back), 0, 255).astype(np.uint8)
    out = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)
    return np.ascontiguousarray(out[:, :, ::-1]) if channel_order == "bgr" else out


def _reachable(
    new: np.ndarray,
    val: np.ndarray,
    scale: float,
    plane: np.ndarray,
    idx: np.ndarray,
    pos: np.ndarray,
    bcols: int,
) -> np.ndarray:
    """Move each target one lattice step (same bit) where the pixels could not reach it.

    An LL sample is twice the mean of a 2x2 pixel cell; changing it by ``d`` changes each of
    those pixels by ``d / 2``. A target that would push a pixel past 0 or 255 is clipped away
    and reads as the wrong bit, so the nearest lattice point carrying the same bit that keeps
    the cell in range is taken instead (at most one step, ``scale``, either way).
    """
    r = (idx // bcols) * BLOCK + pos // BLOCK
    c = (idx % bcols) * BLOCK + pos % BLOCK
    cells = np.stack(
        [
            plane[2 * r, 2 * c],
            plane[2 * r + 1, 2 * c],
            plane[2 * r, 2 * c + 1],
            plane[2 * r + 1, 2 * c + 1],
        ]
    ).astype(np.float64)
    sign = np.where(val >= 0.0, 1.0, -1.0)
    low, high = -2.0 * cells.min(axis=0), 2.0 * (255.0 - cells.max(axis=0))
    best = new.copy()
    best_cost = np.full(new.shape, np.inf)
    for step in (0.0, -scale, scale):
        candidate = new + step
        delta = sign * (candidate - np.abs(val))
        ok = (candidate >= 0.0) & (delta >= low) & (delta <= high)
        cost = np.where(ok, np.abs(delta), np.inf)
        better = cost < best_cost
        best = np.where(better, candidate, best)
        best_cost = np.where(better, cost, best_cost)
    return best


def block_scores(
    rgb: np.ndarray,
    *,
    channel_order: str = "bgr",
    scale: float = SCALE,
    window: tuple[int, int, int, int] | None = None,
    channel: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Each 4x4 LL block's reading (0 or 1) and its index ``n`` in the reference's raster order.

    ``window`` (``top, left, height, width`` in pixels, all multiples of 8) reads only the
    blocks inside it; each of them reads exactly as in the full decode, since a block covers
    8x8 pixels of the image and nothing outside them.
    """
    cv2 = _cv2()
    _check_rgb(rgb)
    if channel_order not in ("bgr", "rgb"):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {channel_order!r}")
    rows, cols = rgb.shape[:2]
    grid_rows, grid_cols = _grid(rows, cols)
    top, left, height, width = window or (0, 0, grid_rows * 8, grid_cols * 8)
    if top % 8 or left % 8 or height % 8 or width % 8:
        raise ValueError("a window's offsets and sides must be multiples of 8 pixels")
    height = min(height, grid_rows * 8 - top)
    width = min(width, grid_cols * 8 - left)
    if height <= 0 or width <= 0:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64)
    region = rgb[top : top + height, left : left + width]
    # "bgr": the generator converted RGB to BGR before encoding; OpenCV's RGB2YUV reads it
    # as such without a copy. "rgb": RGB pixels were handed to a BGR encoder.
    code = cv2.COLOR_RGB2YUV if channel_order == "bgr" else cv2.COLOR_BGR2YUV
    u = cv2.cvtColor(np.ascontiguousarray(region), code)[:, :, channel]
    blocks = _blocks(_ll_band(u))
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    val = np.abs(blocks[np.arange(blocks.shape[0]), pos])
    scores = (np.mod(val, scale) > 0.5 * scale).astype(np.uint8)
    block_rows = np.arange(top // 8, (top + height) // 8)
    block_cols = np.arange(left // 8, (left + width) // 8)
    index = (block_rows[:, None] * grid_cols + block_cols[None, :]).ravel()
    return scores, index


def decode_bits(scores: np.ndarray, n_bits: int, index: np.ndarray | None = None) -> np.ndarray:
    """Average block readings per bit position (block ``n`` carries bit ``n % n_bits``)."""
    positions = (index if index is not None else np.arange(scores.shape[0])) % n_bits
    sums = np.bincount(positions, weights=scores, minlength=n_bits)
    counts = np.bincount(positions, minlength=n_bits)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return (means * 255 > 127).astype(np.uint8)


def centre_window(rows: int, cols: int, side: int) -> tuple[int, int, int, int] | None:
    """A centred ``side x side`` window on the block grid, or None when the image fits in it."""
    grid_rows, grid_cols = _grid(rows, cols)
    height, width = grid_rows * 8, grid_cols * 8
    side = side // 8 * 8
    if height <= side and width <= side:
        return None
    h, w = min(height, side), min(width, side)
    return (height - h) // 2 // 8 * 8, (width - w) // 2 // 8 * 8, h, w


def check(
    rgb: np.ndarray,
    *,
    lossy: bool = False,
    window: int | None = WINDOW,
    messages: tuple[WatermarkMessage, ...] = MESSAGES,
) -> WatermarkCheck:
    """Decode every known message in both channel orders and keep the best reading.

    Images larger than ``window x window`` pixels are read on a centred window of that size
    aligned to the block grid (``window=None`` reads everything, as the reference does).
    ``lossy`` (JPEG, lossy WebP, ...) turns a result below ``partial`` into ``inconclusive``:
    compression can erase the mark, so a low count on such a file proves nothing.
    """
    _check_rgb(rgb)
    rows, cols = rgb.shape[:2]
    if rows * cols < MIN_PIXELS:
        return WatermarkCheck(
            attempted=False,
            level="not_attempted",
            reason=f"{cols}x{rows} is under 256x256 pixels, the algorithm's minimum",
        )
    box = centre_window(rows, cols, window) if window else None
    readings: list[WatermarkReading] = []
    for order in ("bgr", "rgb"):
        scores, index = block_scores(rgb, channel_order=order, window=box)
        for message in messages:
            expected = np.asarray(message.bits, dtype=np.uint8)
            bits = decode_bits(scores, len(message.bits), index)
            matched = int(np.sum(bits == expected))
            readings.append(
                WatermarkReading(
                    message=message.name,
                    model=message.model,
                    channel_order=order,
                    bits_matched=matched,
                    bits_total=len(message.bits),
                    level=message.level(matched),
                )
            )
    best = min(readings, key=lambda r: (LEVELS.index(r.level), -r.bits_matched / r.bits_total))
    level = best.level
    reason = ""
    if level == "none" and lossy:
        level = "inconclusive"
        reason = "lossy file: compression weakens the mark, so a low count proves nothing"
    return WatermarkCheck(
        attempted=True,
        level=level,
        best=best,
        readings=tuple(readings),
        reason=reason,
        region=box,
    )


def binomial_tail(n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): how often random bits match ``k`` of ``n``."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
