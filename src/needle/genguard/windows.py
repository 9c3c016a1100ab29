"""Window hashes: trace a generator's output from a cropped, bordered, resized or re-encoded copy.

In: a generated output (``stored_hashes``: 0-2 hashes the ledger keeps for it), or a copy found
in the wild (``query_hashes``: an ``(n, 32)`` uint8 array of up to 6,497 hashes). Out: 256-bit
hashes (64 hex digits, or rows of 32 bytes) for ``needle.match.pdq.PDQIndex``: the caller indexes
every entry's stored hashes and queries one copy's hashes in one batch at ``WINDOW_DISTANCE``;
an entry is traced when **one** query hash is within that distance of one of its stored hashes.

Why windows: whole-image PDQ survives re-encoding and resizing but not a crop of 5-10 % or a
20-pixel border (``bench/trace_crops.py``), as every cell of its 64 x 64 grid moves. So each
output stores the hash of two centred windows, ``[0.2, 0.8]`` and ``[0.1, 0.9]`` of each side
(``STORED_MARGINS``), which a crop of up to 10-20 % per side leaves whole. A copy whose sides
lost fractions ``l, r, t, b`` of the original (negative for a border) shows the stored window
``[m, 1 - m]`` at ``x in [(m - l) / (1 - l - r), (1 - m - l) / (1 - l - r)]`` and likewise in
``y`` with ``t, b``. Not knowing the edit, ``query_hashes`` hashes that window for every
``(l, r, t, b)`` on a grid (``CROP_STEPS``: -5 % to 12.5 % in steps of 2.5 %); one of them lies
within 1.25 % per side of the truth. Each axis's intervals depend only on its own pair, so the
windows are every x interval times every y interval (64 x 64 for the 60 % window, 49 x 49 for
the 80 % one, whose margin bounds the crop at 10 %).

The hash (needle's own, not interoperable PDQ; stored and query use the same one): the image as
luminance, averaged down to at most ``WORK_SIDE`` pixels a side; per window the means of 64 x 64
equal cells, a DCT keeping frequencies 1-16 on each axis (PDQ's matrix), a bit per coefficient
above the median of the 256. All windows are computed together from cumulative sums: cell sums
along x by linear interpolation of the row-wise cumulative sum (exact for a box over
piecewise-constant pixels), the x DCT applied at once, then cumulative sums down the columns and
the y edges likewise, so 6,497 windows cost about 0.1 s rather than 6,497 PDQ runs. Windows
whose 16 x 16 band has an RMS under ``MIN_CONTRAST`` grey levels are dropped on both sides: the
median threshold of a flat region is noise that matches anything.

Why one hit (K = 1): a true copy's own entry is usually hit by 10-30 windows, but by only one
when the crop falls between grid points, so K = 2 would lose those; and the unrelated pictures
that did come within range (below) did so through many windows at once, so K would not stop them.

Measured (``bench/trace_windows.py``: 46 Debian wallpapers as installed, and fitted to 1024 x
1024 and 1024 x 768; 11 edits: JPEG q85, 10 % crops centred, one side and corner, half size,
a 20-pixel border, and combinations): every picture that stores a hash was found after every
edit (35-36 per set), except one 1024 x 768 copy cropped 11.25 % from the top whose picture has
a flat centre, so only its 80 % window. An edited copy's nearest window to its own stored hash:
median 2, 99th percentile 32-38, worst 48 (a fine wood-grain texture, randomly cropped and
re-encoded). To other wallpapers (colour variants and the same picture at other sizes aside):
never nearer than 56. 1M random stored hashes: no hit in 60 traces. The limit is pictures of
simple layout, a flat field with detail along one edge (``Flow.png``): their windows match
sub-images of other such pictures (a decoy cut from ``LadyBird.jpg`` at 42-46), as any
perceptual hash does; a trace is a lead to confirm by eye, not proof.
Time on 2 shared cores: ``query_hashes`` 0.07 s an image; the caller's ``PDQIndex`` lookup of
6,497 windows against 1M stored rows at 48 about 4.5 s (0.7 ms a window).

Not traced: crops beyond about 13 % a side (10 % for a picture whose centre is flat), borders
beyond about 6 % of a side, rotation, mirroring, a change of aspect ratio that is not a crop.
Pictures flat in both windows (10-11 of the 46 wallpapers: blank RGB under an alpha design, or
near-uniform) store nothing; whole-image PDQ, stored by the caller, is no better for them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from needle.media.image import to_rgb

__all__ = [
    "CROP_STEPS",
    "MIN_CONTRAST",
    "STORED_MARGINS",
    "WINDOW_DISTANCE",
    "WORK_SIDE",
    "query_hashes",
    "query_intervals",
    "stored_hashes",
]

#: Hamming distance at which a query window traces a stored one, from bench/trace_windows.py
#: (3 x 46 wallpapers, 11 edits each): a copy's nearest window to its own stored hash is at
#: median 2, 99th percentile 32-38, at worst 48 (a fine wood grain, randomly cropped on each
#: side and re-encoded: stripes are the most shift-sensitive); to another wallpaper's, never
#: nearer than 56; random 256-bit hashes sit at 128 +- 8, so 1M of them gave no hit. 48 keeps
#: every true copy measured; above it hits on unrelated simple layouts grow (see the module
#: docstring), and each 4 bits more costs the caller's index lookup about 1.6 times the time.
WINDOW_DISTANCE = 48

#: sides of the luminance working copy (each side averaged down to at most this): the smallest
#: query window, 0.6 / 1.1 of a side, still has 4.4 pixels per cell
WORK_SIDE = 512
#: images smaller than this on a side give no hashes: a window would be under 16 pixels wide
#: for its 64 cells
MIN_SIDE = 32
#: PDQ's geometry: 64 x 64 cells, DCT frequencies 1-16 on each axis, so 256 bits
CELLS = 64
BANDS = 16
#: stored windows: [m, 1 - m] of each side. 0.2 (the centred 60 %) survives crops up to 20 % a
#: side; 0.1 (80 %) is for pictures whose centre is flat (2 of 46 wallpapers traced only by it)
STORED_MARGINS = (0.2, 0.1)
#: crop fractions tried per side, negative for a border: -5 % .. 12.5 % in steps of 2.5 %. A
#: 10 % crop is on the grid; any other one is within 1.25 % of a grid point, where the distance
#: measured at most 48 (PDQ-style hashes tolerate only about 2-3 % of shift or scale)
CROP_STEPS = (-0.05, -0.025, 0.0, 0.025, 0.05, 0.075, 0.1, 0.125)
#: least RMS (grey levels, cell means) of a window's 16 x 16 DCT band for it to be stored or
#: queried: flat designs measured 0.0-0.8, the faintest traced wallpaper window 1.7
MIN_CONTRAST = 1.5
#: the median of 256 coefficients (torben's, as PDQ: the 128th smallest); bits are "above it"
_MEDIAN_RANK = BANDS * BANDS // 2 - 1
#: interval ends may stray this far outside [0, 1] by rounding
_SLACK = 1e-9


def _dct_matrix() -> np.ndarray:
    """Rows 1-16 of the 64-point DCT-II (pdqhashing.cpp ``dct_matrix_64``)."""
    i = np.arange(1, BANDS + 1, dtype=np.float64)[:, None]
    j = np.arange(CELLS, dtype=np.float64)[None, :]
    return np.sqrt(2.0 / CELLS) * np.cos(np.pi / 2.0 / CELLS * i * (2 * j + 1))


def _edge_dct() -> np.ndarray:
    """16 x 65: the DCT of 64 cell sums, written on the 65 cumulative sums at the cell edges
    (cell k is edge k + 1 minus edge k)."""
    dct = _dct_matrix()
    out = np.zeros((BANDS, CELLS + 1))
    out[:, 1:] += dct
    out[:, :-1] -= dct
    return out


_EDGE_DCT = _edge_dct()


def _luma(image: Image.Image) -> np.ndarray | None:
    """Luminance (PDQ's weights, alpha dropped as needle's PDQ does) as float64, averaged down to
    at most ``WORK_SIDE`` a side; None for an image too small to hash."""
    if min(image.size) < MIN_SIDE:
        return None
    gray = to_rgb(image).convert("L")
    size = (min(gray.width, WORK_SIDE), min(gray.height, WORK_SIDE))
    if size != gray.size:
        gray = gray.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    return np.asarray(gray, dtype=np.float64)


def _interpolate(cumulative: np.ndarray, position: np.ndarray, axis: int) -> np.ndarray:
    """``cumulative`` read at fractional ``position`` along ``axis`` by linear interpolation;
    the axes of ``position`` replace ``axis``."""
    index = np.minimum(position.astype(np.int64), cumulative.shape[axis] - 2)
    shape = [1] * (cumulative.ndim - 1 + position.ndim)
    shape[axis : axis + position.ndim] = position.shape
    weight = (position - index).reshape(shape)
    low = np.take(cumulative, index, axis=axis)
    return low + (np.take(cumulative, index + 1, axis=axis) - low) * weight


def _cell_edges(intervals: np.ndarray, length: int) -> np.ndarray:
    """``(n, 65)`` pixel positions of the cell edges of each interval (fractions of a side)."""
    steps = np.arange(CELLS + 1) / CELLS
    low, high = intervals[:, :1], intervals[:, 1:]
    return np.clip((low + (high - low) * steps) * length, 0.0, length)


def _window_dct(luma: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every window ``xs[i]`` (columns) x ``ys[j]`` (rows), given as ``(n, 2)`` fractions:
    the ``(ny * nx, 16, 16)`` DCT of its 64 x 64 cell sums (rows then columns) and the RMS of
    that band in grey levels of the cell means."""
    height, width = luma.shape
    across = np.zeros((height, width + 1))
    np.cumsum(luma, axis=1, out=across[:, 1:])
    # cell sums along x at every row, turned into x frequencies at once: (height, nx, 16)
    x_dct = _interpolate(across, _cell_edges(xs, width), axis=1) @ _EDGE_DCT.T
    down = np.zeros((height + 1, *x_dct.shape[1:]))
    np.cumsum(x_dct, axis=0, out=down[1:])
    at_edges = _interpolate(down, _cell_edges(ys, height), axis=0)  # (ny, 65, nx, 16)
    coefficients = np.einsum("ie,yexj->yxij", _EDGE_DCT, at_edges, optimize=True)
    coefficients = coefficients.reshape(-1, BANDS, BANDS)
    cell_area = np.outer(ys[:, 1] - ys[:, 0], xs[:, 1] - xs[:, 0]).ravel()
    cell_area *= height * width / CELLS**2
    rms = np.sqrt(np.square(coefficients).sum(axis=(1, 2)) / CELLS**2) / cell_area
    return coefficients, rms


def _bits(coefficients: np.ndarray) -> np.ndarray:
    """``(n, 32)`` uint8: bit ``i * 16 + j`` (most significant first) set where coefficient
    ``(i, j)`` is above the median of its window's 256."""
    flat = coefficients.reshape(len(coefficients), BANDS * BANDS)
    median = np.partition(flat, _MEDIAN_RANK, axis=1)[:, _MEDIAN_RANK : _MEDIAN_RANK + 1]
    return np.packbits(flat > median, axis=1)


def _hashes(luma: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Hashes of every window ``xs`` x ``ys`` with contrast enough to keep."""
    coefficients, rms = _window_dct(luma, xs, ys)
    return _bits(coefficients[rms >= MIN_CONTRAST])


def query_intervals(margin: float) -> np.ndarray:
    """``(n, 2)``: where the stored interval ``[margin, 1 - margin]`` lies in a copy whose two
    ends lost fractions ``(low, high)`` of the original, for every pair of ``CROP_STEPS`` that
    keeps it inside the copy."""
    steps = np.asarray(CROP_STEPS)
    low, high = (grid.ravel() for grid in np.meshgrid(steps, steps, indexing="ij"))
    kept = 1.0 - low - high
    out = np.stack([(margin - low) / kept, (1.0 - margin - low) / kept], axis=1)
    inside = (out[:, 0] >= -_SLACK) & (out[:, 1] <= 1.0 + _SLACK)
    return np.clip(out[inside], 0.0, 1.0)


def stored_hashes(image: Image.Image) -> tuple[str, ...]:
    """The hashes recorded for one output (64 hex digits, 256 bits each): its centred 60 % and
    80 % windows, less any that is too flat to hash (so 0-2 of them)."""
    luma = _luma(image)
    if luma is None:
        return ()
    out: list[str] = []
    for margin in STORED_MARGINS:
        interval = np.array([[margin, 1.0 - margin]])
        out += [row.tobytes().hex() for row in _hashes(luma, interval, interval)]
    return tuple(out)


def query_hashes(image: Image.Image) -> np.ndarray:
    """``(n, 32)`` uint8 hashes of the candidate windows of a found image (n up to 6,497; 0 for
    a flat or tiny image), to look up against stored hashes with ``needle.match.pdq.PDQIndex``
    at ``WINDOW_DISTANCE``: one hit traces the entry."""
    luma = _luma(image)
    if luma is None:
        return np.zeros((0, BANDS * BANDS // 8), dtype=np.uint8)
    parts = []
    for margin in STORED_MARGINS:
        intervals = query_intervals(margin)
        parts.append(_hashes(luma, intervals, intervals))
    return np.concatenate(parts)
