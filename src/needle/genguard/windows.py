"""Window hashes: trace a generator's output from a cropped, bordered or resized copy.

DRAFT - being measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

__all__ = ["WINDOW_DISTANCE", "query_hashes", "stored_hashes", "window_hashes"]

WINDOW_DISTANCE = 48

WORK_SIDE = 512
CELLS = 64
BANDS = 16
STORED_MARGINS = (0.2,)
CROP_GRID = tuple(np.round(np.arange(-0.05, 0.15 + 1e-9, 0.025), 4).tolist())
MIN_CONTRAST = 1.0


def _dct_matrix() -> np.ndarray:
    i = np.arange(1, BANDS + 1, dtype=np.float64)[:, None]
    j = np.arange(CELLS, dtype=np.float64)[None, :]
    return np.sqrt(2.0 / CELLS) * np.cos(np.pi / 2.0 / CELLS * i * (2 * j + 1))


_DCT = _dct_matrix()
# coefficient i of the cells between 65 edges of cumulative sums: DCT of their differences
_EDGE_DCT = np.zeros((BANDS, CELLS + 1))
_EDGE_DCT[:, 1:] += _DCT
_EDGE_DCT[:, :-1] -= _DCT


def working_copy(image: Image.Image, side: int = WORK_SIDE) -> np.ndarray:
    gray = image.convert("RGB").convert("L") if image.mode not in ("L", "RGB") else image.convert("L")
    factor = max(1, min(gray.width, gray.height) // (2 * side))
    if factor > 1:
        gray = gray.reduce(factor)
    gray = gray.resize((side, side), Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float64)


def _edges(intervals: np.ndarray, length: int) -> np.ndarray:
    """(n, 65) pixel positions of the cell edges of each interval (fractions of the side)."""
    k = np.arange(CELLS + 1) / CELLS
    lo, hi = intervals[:, :1], intervals[:, 1:]
    return np.clip((lo + (hi - lo) * k) * length, 0.0, length)


def _interp(cum: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``cum`` at fractional ``pos`` along ``axis`` (exact area sums)."""
    idx = np.minimum(pos.astype(np.int64), cum.shape[axis] - 2)
    frac = pos - idx
    a = np.take(cum, idx, axis=axis)
    b = np.take(cum, idx + 1, axis=axis)
    shape = [1] * a.ndim
    shape[axis : axis + pos.ndim] = pos.shape
    frac = frac.reshape(shape)
    return a + (b - a) * frac


def window_coefficients(
    luma: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """DCT (16x16) of the 64x64 cell means of every window xs[i] x ys[j]: (ny, nx, 16, 16),
    and the cell-mean contrast (RMS of the 16x16 band) of each (ny, nx)."""
    h, w = luma.shape
    sx = np.zeros((h, w + 1))
    np.cumsum(luma, axis=1, out=sx[:, 1:])
    ex = _edges(xs, w)  # (nx, 65)
    gx = _interp(sx, ex, axis=1)  # (h, nx, 65)
    tx = gx @ _EDGE_DCT.T  # (h, nx, 16): DCT along x of the cell column sums
    sy = np.zeros((h + 1, *tx.shape[1:]))
    np.cumsum(tx, axis=0, out=sy[1:])
    ey = _edges(ys, h)  # (ny, 65)
    gy = _interp(sy, ey, axis=0)  # (ny, 65, nx, 16)
    coef = np.einsum("ie,yexj->yxij", _EDGE_DCT, gy, optimize=True)
    area = np.outer((ys[:, 1] - ys[:, 0]) * h, (xs[:, 1] - xs[:, 0]) * w) / CELLS**2
    contrast = np.sqrt((coef**2).sum(axis=(2, 3)) / CELLS**2) / area
    return coef, contrast


def pack(coef: np.ndarray) -> np.ndarray:
    flat = coef.reshape(-1, BANDS * BANDS)
    median = np.partition(flat, 127, axis=1)[:, 127:128]
    return np.packbits(flat > median, axis=1)


def window_hashes(
    luma: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    coef, contrast = window_coefficients(luma, xs, ys)
    return pack(coef), contrast.ravel()


def _intervals(margin: float, grid: Sequence[float]) -> np.ndarray:
    g = np.asarray(grid)
    lo, hi = np.meshgrid(g, g, indexing="ij")
    lo, hi = lo.ravel(), hi.ravel()
    keep_total = 1.0 - lo - hi
    out = np.stack([(margin - lo) / keep_total, (1 - margin - lo) / keep_total], axis=1)
    ok = (out[:, 0] >= -1e-9) & (out[:, 1] <= 1 + 1e-9)
    return out[ok]


def stored_array(
    image: Image.Image, margins: Sequence[float] = STORED_MARGINS, min_contrast: float = MIN_CONTRAST
) -> np.ndarray:
    luma = working_copy(image)
    outs = []
    for m in margins:
        iv = np.array([[m, 1 - m]])
        h, c = window_hashes(luma, iv, iv)
        outs.append(h[c >= min_contrast])
    return np.concatenate(outs)


def stored_hashes(image: Image.Image) -> tuple[str, ...]:
    return tuple(row.tobytes().hex() for row in stored_array(image))


def query_array(
    image: Image.Image,
    margins: Sequence[float] = STORED_MARGINS,
    grid: Sequence[float] = CROP_GRID,
    min_contrast: float = MIN_CONTRAST,
) -> np.ndarray:
    luma = working_copy(image)
    outs = []
    for m in margins:
        iv = _intervals(m, grid)
        h, c = window_hashes(luma, iv, iv)
        outs.append(h[c >= min_contrast])
    return np.concatenate(outs)


def query_hashes(image: Image.Image) -> np.ndarray:
    return query_array(image)
