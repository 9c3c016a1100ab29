"""PDQ, Meta's 256-bit perceptual image hash, computed the way the reference C++ computes it.

In: a ``DecodedImage`` (RGB, upright, possibly reduced by ``decode_image``'s ``draft_size``).
Out: a ``Signal`` with the hash as 64 hex digits, its quality (0-100) and, for matching
rotated and flipped copies, the hashes of the 8 dihedral transforms; for a picture with a
border or caption band added around it, also the hash of the picture inside (``trimmed``).

How (ThreatExchange ``pdq/cpp/hashing/pdqhashing.cpp``): luminance Y = 0.299 R + 0.587 G +
0.114 B; two passes of a box filter (Jarosz) ``ceil(side / 128)`` pixels wide on each axis,
then one sample at the centre of each of 64 x 64 cells; quality from the gradients of that
64 x 64 image; a DCT keeping coefficients 1-16 on each axis; bit i*16+j set where coefficient
(i, j) is above the median of the 256.

Every step before the DCT is linear and separable, so needle writes the filter-and-sample as
two small matrices (64 x height and 64 x width) and computes ``rows @ Y @ cols.T``. On a
full-resolution image this is the reference computation: the same quality and the same bits as
the ``pdqhash`` bindings on every reference image (a coefficient within float rounding of the
median can flip a bit or two on rare images, as sums run in another order). When
``decode_image`` has reduced the picture (JPEG DCT-domain decode, ``Image.reduce``), each
decoded pixel is the mean of a ``scale`` x ``scale`` block, and the weights are summed over
those blocks: the same filter, applied to block means. That is what keeps the fast path within
2 bits of the full-resolution hash on photographs, where feeding ``pdqhash`` a resized image
changes the filter and goes past the reference's tolerance (``docs/performance.md``).

Borders (``needle.signals.trim``): padding or a caption bar moves PDQ far past the match
threshold, so when the decoded pixels have a uniform border or a solid caption band, the
picture inside is hashed too, on its own axes (the full-resolution span of the crop, at the
same reduction), and listed as the variant ``trimmed``, after the dihedral ones so that they
win ties. Only that one: the dihedral transforms of the trimmed hash would cost no more than
sign flips, but a border added *and* a turn is a rare edit, and each variant is one more
search per file and one more chance of a false match. Cost: a look at the four outermost
lines, about 35 µs on a 512-683 pixel decode when there is no border (PDQ itself: 0.5-1 ms);
when there is one, 0.5-1.2 ms more (the search, and the crop's hash and filter matrices).

Orientation: ``decode_image`` turns photos upright by their EXIF tag; lists made by tools
that ignore the tag (the reference CLI, python-threatexchange) still match, through the
dihedral variant that names how the stored picture is turned.

Thresholds and the quality floor come from the reference (pdq/README).
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import numpy as np
from PIL import Image

from needle.media.image import Axis, DecodedImage
from needle.signals.base import HammingMatchable, ImageHasher, Signal, SignalType
from needle.signals.trim import find_trim

__all__ = [
    "DIHEDRAL_DESCRIPTIONS",
    "DIHEDRAL_TRANSFORMS",
    "PDQ",
    "PDQ_DRAFT_SIZE",
    "PDQ_MATCH_DISTANCE",
    "PDQ_MAX_SIDE",
    "PDQ_QUALITY_FLOOR",
    "PDQ_REFERENCE_TOLERANCE",
    "TRIMMED",
    "bits_to_hex",
    "hex_to_bits",
    "pdq_hash",
    "pdq_hash_pixels",
]

PDQ_MATCH_DISTANCE = 31  # ThreatExchange pdq/README: distance <= 31 is a confident match
PDQ_QUALITY_FLOOR = (
    50  # ThreatExchange pdq/README: below quality 50 a hash is too unreliable to match
)
PDQ_REFERENCE_TOLERANCE = 10  # ThreatExchange pdq/README: a correct implementation is within 10
#: short side to decode images at for PDQ (``decode_image(draft_size=...)``): at 256 the hash
#: stays within 2 bits of the full-resolution one on the reference and benchmark photos,
#: at 128 it moves by up to 30 (bench/pdq_throughput.py, docs/performance.md)
PDQ_DRAFT_SIZE = 256

#: sides longer than this (at full resolution) are averaged down to at most this many pixels
#: before hashing, and the hash is that of the reduced copy (within a few bits of the
#: reference's: PDQ is built to survive resizing). The filter matrices are 64 x side: a few
#: hundred bytes of PNG or WebP can declare a picture 6 million pixels wide, whose matrices
#: would take 14 GB. No camera or scanner writes a side this long (JPEG's limit is 65,535).
PDQ_MAX_SIDE = 65_536
#: pictures with more pixels than this are turned into luminance a band of rows at a time, so
#: that no full-size float copy is made (3 floats a pixel: 2 GB for 178 megapixels, the most
#: ``Limits.max_pixels`` lets through); smaller ones in one step, as before
_BAND_ABOVE_PIXELS = 1 << 24
_BAND_PIXELS = 1 << 20

_MIN_HASHABLE_SIDE = 5  # pdqhashing.cpp MIN_HASHABLE_DIM: smaller images hash to zero, quality 0
_CELLS = 64  # pdqhashing.cpp: the image is reduced to 64 x 64 before the DCT
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # pdqhashing.cpp luma_from_*_coeff

#: Names of the dihedral variants, in the order of ``Signal.variants``. A variant's name says
#: how the scanned file differs from the listed image it matched: ``rotate90`` matches a file
#: that is the listed image turned 90° counter-clockwise, as ``bridge-2-rotate-90.jpg`` is in
#: the reference test set (whose file names these follow). See ``DIHEDRAL_DESCRIPTIONS``.
DIHEDRAL_TRANSFORMS = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip-plus1",
    "flip-minus1",
)

#: What each variant name means (the dihedral ones and ``TRIMMED``), in words for reports:
#: "the file is the listed image ..."
DIHEDRAL_DESCRIPTIONS = {
    "original": "as listed, neither turned nor mirrored",
    "rotate90": "turned 90° counter-clockwise (a quarter turn to the left)",
    "rotate180": "turned 180° (upside down)",
    "rotate270": "turned 90° clockwise (a quarter turn to the right)",
    "flipx": "flipped top to bottom (mirrored across the horizontal axis)",
    "flipy": "mirrored left to right (across the vertical axis)",
    "flip-plus1": "mirrored across the diagonal from top-left to bottom-right (transposed)",
    "flip-minus1": "mirrored across the diagonal from top-right to bottom-left",
    "trimmed": "with a border or caption band added around it (matched with that cut off)",
}

#: Name of the variant hashed from the picture inside a uniform border or caption band
#: (``needle.signals.trim``), listed after the dihedral ones so that they win ties
TRIMMED = "trimmed"
#: JPEG's block side: ringing from a sharp edge stays inside the block (``find_trim(window)``)
_JPEG_BLOCK = 8
#: pictures too large to turn into luminance at once are searched for borders at this size
_TRIM_LOOK_SIDE = 1024


def _dct_matrix() -> np.ndarray:
    # pdqhashing.cpp dct_matrix_64: rows 1..16 of the 64-point DCT-II, in double, stored as float
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(_CELLS, dtype=np.float64)[None, :]
    return (np.sqrt(2.0 / _CELLS) * np.cos(np.pi / 2.0 / _CELLS * i * (2 * j + 1))).astype(
        np.float32
    )


_DCT = _dct_matrix()


def bits_to_hex(bits: np.ndarray) -> str:
    """256 bits, most significant first (as ``pdqhash`` returns them), to the reference hex."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bits(value: str) -> np.ndarray:
    """The reference 64-digit hex to 256 bits (uint8 0/1), most significant first."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def _box_bounds(length: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each output of downscaling.cpp ``box1DFloat`` reads: ``[lo, hi)`` per position."""
    half = (window + 2) // 2
    position = np.arange(length)
    return np.maximum(0, position - (window - half)), np.minimum(length, position + half)


def _cell_weights(full: int) -> np.ndarray:
    """64 x ``full`` weights: two Jarosz box passes, then the sample at each cell's centre.

    Row r is row ``centre[r]`` of B @ B, where B is the box filter as a matrix; it is built
    from difference arrays so that no ``full`` x ``full`` matrix is ever made.
    """
    # downscaling.cpp computeJaroszFilterWindowSize: half a cell, rounded up
    window = (full + 2 * _CELLS - 1) // (2 * _CELLS)
    lo, hi = _box_bounds(full, window)
    count = hi - lo
    # downscaling.cpp decimateFloat: (int)(((i + 0.5) * in) / out)
    centre = ((np.arange(_CELLS) + 0.5) * full / _CELLS).astype(np.int64)
    # first pass: output centre[r] averages inputs o in [lo, hi) of centre[r] ...
    spans = count[centre]
    row = np.repeat(np.arange(_CELLS), spans)
    o = lo[centre].repeat(spans) + (
        np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    )
    weight = 1.0 / (count[centre].repeat(spans) * count[o])
    # ... each of which, after the second pass, averages inputs [lo[o], hi[o])
    stride = full + 1
    diff = np.bincount(row * stride + lo[o], weight, _CELLS * stride)
    diff -= np.bincount(row * stride + hi[o], weight, _CELLS * stride)
    return np.cumsum(diff.reshape(_CELLS, stride), axis=1)[:, :full]


@lru_cache(maxsize=32)
def _axis_weights(full: int, scale: int, reverse: bool, pixels: int) -> np.ndarray:
    """64 x ``pixels`` weights for an axis whose pixels are means of ``scale`` full-res pixels.

    Blocks are counted from the start of the stored file's axis, which is the end of the
    upright axis when ``reverse``; the last block may be partial. If the sizes do not fit that
    layout (an image resized some other way), blocks are spread evenly instead.
    """
    cumulative = np.zeros((_CELLS, full + 1))
    np.cumsum(_cell_weights(full), axis=1, out=cumulative[:, 1:])
    index = np.arange(pixels + 1)
    if (pixels - 1) * scale < full <= pixels * scale:
        if reverse:
            edges = np.maximum(0, full - (pixels - index) * scale)
        else:
            edges = np.minimum(index * scale, full)
    else:
        edges = np.round(index * full / pixels).astype(np.int64)
    weights = (cumulative[:, edges[1:]] - cumulative[:, edges[:-1]]).astype(np.float32)
    weights.flags.writeable = False
    return weights


def _luma(image: Image.Image) -> np.ndarray:
    pixels = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    return pixels.astype(np.float32) @ _LUMA


def _filtered_rows(image: Image.Image, rows: np.ndarray) -> np.ndarray:
    """``rows @ Y`` for the luminance Y of ``image`` (RGB), in bands of rows when it is large."""
    width, height = image.size
    if width * height <= _BAND_ABOVE_PIXELS:
        return rows @ _luma(image)
    out = np.zeros((rows.shape[0], width), dtype=np.float32)
    band = max(1, _BAND_PIXELS // width)
    for top in range(0, height, band):
        bottom = min(height, top + band)
        out += rows[:, top:bottom] @ _luma(image.crop((0, top, width, bottom)))
    return out


def _bounded(image: Image.Image, x: Axis, y: Axis) -> tuple[Image.Image, Axis, Axis]:
    """``image`` with every axis longer than ``PDQ_MAX_SIDE`` at full resolution averaged down
    (integer block means) to at most that many pixels, then taken as full resolution."""
    factors = [
        -(-length // PDQ_MAX_SIDE) if axis.full > PDQ_MAX_SIDE else 1
        for axis, length in ((x, image.width), (y, image.height))
    ]
    if factors != [1, 1]:
        image = image.reduce((factors[0], factors[1]))
    if x.full > PDQ_MAX_SIDE:
        x = Axis(image.width, 1, False)
    if y.full > PDQ_MAX_SIDE:
        y = Axis(image.height, 1, False)
    return image, x, y


def _quality(cells: np.ndarray) -> int:
    """pdqhashing.cpp pdqImageDomainQualityMetric: significant gradients of the 64 x 64 image."""
    hundred, full_scale = np.float32(100), np.float32(255)
    down = np.trunc((cells[:-1, :] - cells[1:, :]) * hundred / full_scale)
    across = np.trunc((cells[:, :-1] - cells[:, 1:]) * hundred / full_scale)
    total = int(np.abs(down).astype(np.int64).sum() + np.abs(across).astype(np.int64).sum())
    return min(100, total // 90)


def _hex(coefficients: np.ndarray) -> str:
    """Bit i*16+j set where coefficient (i, j) is above the median (torben: the 128th of 256)."""
    flat = coefficients.ravel()
    median = np.partition(flat, 127)[127]
    return np.packbits(flat[::-1] > median).tobytes().hex()


_ODD = np.where(np.arange(16) % 2 == 1, 1.0, -1.0).astype(np.float32)
_CHECKER = np.where((np.arange(16)[:, None] + np.arange(16)[None, :]) % 2 == 1, -1.0, 1.0).astype(
    np.float32
)


def _dihedral(dct: np.ndarray) -> tuple[np.ndarray, ...]:
    """The DCT of each transform in ``DIHEDRAL_TRANSFORMS`` order, from the file's own DCT.

    Sign patterns and transposes as in pdqhashing.cpp ``dct16OriginalTo*``; each variant
    undoes the transform its name gives to the file, so ``rotate90`` uses the reference's
    Rotate270 (turning the file back by 90° clockwise) and ``rotate270`` its Rotate90.
    """
    return (
        dct,
        (dct * _ODD[:, None]).T,  # reference Rotate270
        dct * _CHECKER,  # Rotate180
        (dct * _ODD[None, :]).T,  # Rotate90
        dct * _ODD[:, None],  # FlipX
        dct * _ODD[None, :],  # FlipY
        dct.T,  # FlipPlus1
        (dct * _CHECKER).T,  # FlipMinus1
    )


def _cells(pixels: Image.Image | np.ndarray, x: Axis, y: Axis) -> np.ndarray:
    """The 64 x 64 filtered and sampled luminance of ``pixels`` (RGB image or luminance)."""
    if isinstance(pixels, Image.Image):
        rows = _axis_weights(y.full, y.scale, y.reversed, pixels.height)
        cols = _axis_weights(x.full, x.scale, x.reversed, pixels.width)
        return _filtered_rows(pixels, rows) @ cols.T
    rows = _axis_weights(y.full, y.scale, y.reversed, pixels.shape[0])
    cols = _axis_weights(x.full, x.scale, x.reversed, pixels.shape[1])
    return (rows @ pixels) @ cols.T


def _crop_axis(axis: Axis, pixels: int, lo: int, hi: int) -> Axis:
    """The axis of decoded pixels ``[lo, hi)`` of an axis of ``pixels``: the full-resolution
    span they average, laid out as ``_axis_weights`` lays the whole axis out."""
    full, scale = axis.full, axis.scale
    if (pixels - 1) * scale < full <= pixels * scale:
        if axis.reversed:  # blocks counted from the far end: a partial one at the start
            start, end = max(0, full - (pixels - lo) * scale), full - (pixels - hi) * scale
        else:
            start, end = lo * scale, min(hi * scale, full)
    else:
        start, end = round(lo * full / pixels), round(hi * full / pixels)
    return Axis(max(1, end - start), scale, axis.reversed)


def _trimmed(pixels: Image.Image | np.ndarray, x: Axis, y: Axis) -> str | None:
    """The hash of the picture inside a border or caption band (``needle.signals.trim``),
    or None when there is none, or what remains is too flat to hash reliably.

    The crop keeps the reduction of ``pixels``: its axes are the full-resolution span of the
    kept pixels, so its hash approximates the PDQ of the picture before the border was added.
    """
    window = max(1, -(-_JPEG_BLOCK // min(x.scale, y.scale)))  # ringing lines at this scale
    if isinstance(pixels, Image.Image):
        # only pictures too large to turn into luminance at once: search a reduced copy
        factor = -(-max(pixels.size) // _TRIM_LOOK_SIDE)
        trim = find_trim(_luma(pixels.reduce(factor)), window=max(1, window // factor))
        if trim is None:
            return None
        width, height = pixels.size
        left, top, right, bottom = trim.box(-(-width // factor), -(-height // factor))
        box = (
            left * factor,
            top * factor,
            min(width, right * factor),
            min(height, bottom * factor),
        )
        crop: Image.Image | np.ndarray = pixels.crop(box)
    else:
        height, width = pixels.shape
        trim = find_trim(pixels, window=window)
        if trim is None:
            return None
        box = trim.box(width, height)
        crop = pixels[box[1] : box[3], box[0] : box[2]]
    cx = _crop_axis(x, width, box[0], box[2])
    cy = _crop_axis(y, height, box[1], box[3])
    cells = _cells(crop, cx, cy)
    if _quality(cells) < PDQ_QUALITY_FLOOR:
        return None
    return _hex(_DCT @ cells @ _DCT.T)


def _signal(
    pixels: Image.Image | np.ndarray, x: Axis, y: Axis, dihedral: bool, trim: bool = False
) -> Signal:
    """The hash of ``pixels`` (an RGB image, or a luminance array), whose axes map onto the
    full-resolution picture as ``x`` and ``y`` say."""
    if x.full < _MIN_HASHABLE_SIDE or y.full < _MIN_HASHABLE_SIDE:
        return Signal(PDQ.name, "0" * 64, 0)
    if x.full > PDQ_MAX_SIDE or y.full > PDQ_MAX_SIDE:
        luma_given = not isinstance(pixels, Image.Image)
        image = Image.fromarray(np.asarray(pixels, np.float32)) if luma_given else pixels
        image, x, y = _bounded(image, x, y)  # type: ignore[arg-type]
        pixels = np.asarray(image) if luma_given else image
    if isinstance(pixels, Image.Image) and pixels.width * pixels.height <= _BAND_ABOVE_PIXELS:
        pixels = _luma(pixels)  # once, for the hash and the border search
    cells = _cells(pixels, x, y)
    dct = _DCT @ cells @ _DCT.T
    quality = _quality(cells)
    value = _hex(dct)
    variants: list[tuple[str, str]] = []
    if dihedral:
        hexes = [value, *(_hex(variant) for variant in _dihedral(dct)[1:])]
        variants.extend(zip(DIHEDRAL_TRANSFORMS, hexes, strict=True))
    trimmed = _trimmed(pixels, x, y) if trim else None
    if trimmed is not None:
        variants.append((TRIMMED, trimmed))
    return Signal(PDQ.name, value, quality, tuple(variants))


def pdq_hash(image: DecodedImage, *, dihedral: bool = True, trim: bool = True) -> Signal:
    """PDQ of a decoded image, allowing for the reduction ``decode_image`` applied.

    ``dihedral`` adds the 8 dihedral variants, ``trim`` the ``trimmed`` one when the picture
    has a border or caption band (``needle.signals.trim``).
    """
    x, y = image.axes()
    return _signal(image.image, x, y, dihedral, trim)


def pdq_hash_pixels(
    pixels: np.ndarray | Image.Image, *, dihedral: bool = True, trim: bool = True
) -> Signal:
    """PDQ of full-resolution pixels (H x W x 3 uint8 RGB array, or a Pillow image).

    The same bits as ``pdqhash.compute`` on the same array.
    """
    if isinstance(pixels, Image.Image):
        rgb = pixels if pixels.mode == "RGB" else pixels.convert("RGB")
        x, y = Axis(rgb.width, 1, False), Axis(rgb.height, 1, False)
        return _signal(rgb, x, y, dihedral, trim)
    array = np.asarray(pixels)
    if array.ndim != 3 or array.shape[2] < 3:
        raise ValueError(f"expected an H x W x 3 RGB array, got shape {array.shape}")
    luma = array[..., :3].astype(np.float32) @ _LUMA
    height, width = luma.shape
    return _signal(luma, Axis(width, 1, False), Axis(height, 1, False), dihedral, trim)


class PDQ(SignalType, ImageHasher, HammingMatchable):
    """The PDQ signal type: 256 bits, Hamming distance, match at <= 31, quality floor 50."""

    name = "pdq"
    hex_length = 64
    bits = 256
    default_threshold = PDQ_MATCH_DISTANCE
    quality_floor = PDQ_QUALITY_FLOOR

    #: also compute the 8 dihedral variants (cost: ~0.1 ms, see docs/performance.md)
    dihedral: ClassVar[bool] = True
    #: also compute the ``trimmed`` variant of pictures with a border or caption band
    trim: ClassVar[bool] = True

    def hash_image(self, image: DecodedImage) -> Signal:
        return pdq_hash(image, dihedral=self.dihedral, trim=self.trim)
