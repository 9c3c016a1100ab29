"""Borders and caption bands around a picture: where the picture itself lies.

In: the luminance of a decoded picture (an H x W float array, possibly reduced). Out: a
``Trim`` saying how many lines to drop at each edge when a uniform border or a solid caption
band is found there, else ``None``.

Why: a picture re-posted with white padding or a caption bar added is still the listed
picture, but PDQ sees the whole frame: padding of 5 % a side moves the hash by 80 bits or
more, far past the match threshold of 31. The PDQ of the picture with the border cut off is
within a few bits of the listed one's (``needle.signals.pdq``, variant ``trimmed``).

How, for each edge, walking its lines (rows for top and bottom, columns for the sides) inwards:

1. The edge colour is the median of the outermost line. A line is *plain* when at least
   ``PLAIN_SHARE`` of its pixels are within ``TOLERANCE`` luma levels of that colour (JPEG
   noise stays inside), *background* when at least ``BACKGROUND_SHARE`` are (a line through
   a caption's text, or a border line blended with the picture by a reduced decode). An edge
   whose outermost line is not plain has nothing to trim: that is all most photographs cost.
2. A uniform border is a run of plain lines, then at most ``window`` background lines (JPEG
   ringing next to the picture), then the picture: ``PICTURE_LINES`` lines in a row that are
   not background. At the top and bottom, no plain line may follow within the reach of a
   run of text (else the "picture" was a caption's text, and the border only its padding).
3. A caption band (top and bottom only) is a run of background lines holding lines of text
   (not background) in runs of at most ``CAPTION_TEXT_SHARE`` of the side, most of the band
   being background; it ends with a plain line (the band's padding), at most ``window``
   background lines, and then the picture: more non-background lines in a row than a run of
   text. A band found this way is preferred to a border: it reaches further.
4. Either must meet the picture at a clear edge: the picture's first lines are on average
   at least ``EDGE_CONTRAST`` from the border's colour, or busy (varying by more than
   ``TOLERANCE``). A sky brightening smoothly towards the edge passes ``TOLERANCE`` line by
   line and would otherwise look like a border ending there.

Both looks run with the border's colour told within ``FINE_TOLERANCE`` first (a pale picture
whose edges lie 8 levels from white padding, as a near-white drawing's do, is told apart
from the padding only so; flat JPEG-coded white stays within 2-3 levels), then within
``TOLERANCE`` when the finer look found nothing (JPEG ringing next to a sharp edge can keep
the finer look from finding an edge that the wider one finds). The finer look asks for a
clear edge of ``FINE_EDGE_CONTRAST``.

Then, for the picture as a whole: some edge must lose at least ``MIN_TRIM_SHARE`` of its
side (less is not worth another hash), each side must keep ``MIN_KEEP_SHARE``, and no more
than ``MAX_BORDER_COLOUR_LEFT`` of what is left may be a border's colour (a page of text, a
drawing on white, a dark picture in a black frame: no clear edge to trust).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BACKGROUND_SHARE",
    "CAPTION_TEXT_SHARE",
    "EDGE_CONTRAST",
    "FINE_EDGE_CONTRAST",
    "FINE_TOLERANCE",
    "MAX_BORDER_COLOUR_LEFT",
    "MIN_KEEP_SHARE",
    "MIN_TRIM_SHARE",
    "PICTURE_LINES",
    "PLAIN_SHARE",
    "TOLERANCE",
    "Trim",
    "find_trim",
]

#: luma levels (0-255) a border pixel may stray from the border's colour: JPEG noise on a
#: flat area stays within 2-3 levels; the lines where ringing goes further are the ``window``
TOLERANCE = 12.0
#: the first, finer look: a pale picture (a near-white drawing) padded with white lies within
#: ``TOLERANCE`` of its border everywhere; flat JPEG-coded white stays within 2-3 levels, so
#: 4 still tells border from picture
FINE_TOLERANCE = 4.0
#: the clear edge the finer look asks for (``EDGE_CONTRAST`` at ``TOLERANCE``): a pale picture
#: 8 levels under white padding meets it with the one line that blends the two
FINE_EDGE_CONTRAST = 1.5 * FINE_TOLERANCE
#: a line is plain (pure border) when this share of its pixels is the border's colour
PLAIN_SHARE = 0.97
#: a line is background (band with some text, border blended with picture) when this share
#: is; so a picture whose edge is half the border's colour is not taken for more border
BACKGROUND_SHARE = 0.5
#: non-background lines in a row that say the picture has begun
PICTURE_LINES = 2
#: and are on average this far from the border's colour (luma levels), or vary by more than
#: ``TOLERANCE`` (standard deviation): a clear edge, where a sky brightening smoothly towards
#: the edge only drifts past ``TOLERANCE``, flat line after flat line
EDGE_CONTRAST = 2 * TOLERANCE
#: the longest run of text lines in a caption band, as a share of the side: a line of text in
#: a bar of 15 % of the height, with room for a second
CAPTION_TEXT_SHARE = 0.08
#: something is trimmed only when some edge loses at least this share of its side
MIN_TRIM_SHARE = 0.02
#: and each side keeps at least this share: a "border" larger than the picture is the picture
MIN_KEEP_SHARE = 0.5
#: ... and at most this share of what is left is a border's colour
MAX_BORDER_COLOUR_LEFT = 0.5
#: pictures with a side shorter than this (decoded pixels) are left alone
_MIN_SIDE = 16
#: pixels of the trimmed picture looked at to tell whether it is mostly a border's colour
_SAMPLE_PIXELS = 1 << 14
#: lines whose shares are worked out first; twice as many each time more are needed
_FIRST_LINES = 24


@dataclass(frozen=True)
class Trim:
    """Lines (decoded pixels) to drop at each edge of the picture."""

    top: int
    bottom: int
    left: int
    right: int

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` of what remains of a ``width`` x ``height`` picture."""
        return self.left, self.top, width - self.right, height - self.bottom


def _shares(lines: np.ndarray, colour: float, tolerance: float) -> np.ndarray:
    """Share of each line's pixels within ``tolerance`` of ``colour``."""
    near = np.abs(lines - np.float32(colour)) <= np.float32(tolerance)
    return np.count_nonzero(near, axis=1) / lines.shape[1]


def _walk(shares: np.ndarray, text: int, window: int) -> int | None:
    """Depth of the border (``text`` 0) or caption band (``text``: the longest run of text
    lines it may hold) that ``shares`` describe, line by line from the edge: 0 when there is
    none, None when the lines ran out before the picture began."""
    plain = (shares >= PLAIN_SHARE).tolist()
    background = (shares >= BACKGROUND_SHARE).tolist()
    picture = max(text + 1, PICTURE_LINES)
    last_background = last_plain = 0
    for i in range(1, len(shares)):
        if background[i]:
            last_background = i
            if plain[i] and (text or last_plain == i - 1):
                last_plain = i
            elif not text and i - last_plain > window:
                return 0  # a border fading out, not ending: a sky, a wall
        elif i - last_background >= picture:
            break
    else:
        return None
    depth = last_background + 1
    if depth - 1 - last_plain > window:
        return 0  # the band does not end in its own colour: no clear edge
    if text and 2 * (depth - sum(background[:depth])) > depth:
        return 0  # more text than background: not a band
    return depth


def _depth(shares: np.ndarray, text: int, window: int) -> int | None:
    """Lines to drop at one edge from its lines' ``shares``, ``text`` being the longest run of
    text lines a caption band there may hold (0: no caption there); None when more lines
    are needed."""
    if text:
        band = _walk(shares, text, window)
        if band != 0:
            return band
    border = _walk(shares, 0, window)
    if not border or not text:
        return border
    after = shares[border : border + text + 1]
    if len(after) < text + 1:
        return None
    return 0 if bool((after >= PLAIN_SHARE).any()) else border


def _edge(
    lines: np.ndarray, limit: int, caption: bool, window: int, tolerance: float
) -> tuple[int, float]:
    """Lines to drop at the edge whose lines, from the outermost inwards, are ``lines``, and
    the edge's colour."""
    outer = lines[0]
    colour = float(np.partition(outer, len(outer) // 2)[len(outer) // 2])  # its median
    shares = _shares(lines[:1], colour, tolerance)
    if shares[0] < PLAIN_SHARE:
        return 0, colour
    text = max(1, int(len(lines) * CAPTION_TEXT_SHARE)) if caption else 0
    total = min(len(lines), limit + max(text + 1, PICTURE_LINES) + 1)
    count = min(total, _FIRST_LINES)
    while True:
        shares = np.concatenate((shares, _shares(lines[len(shares) : count], colour, tolerance)))
        depth = _depth(shares, text, window)
        if depth is not None or count == total:
            break
        count = min(total, count * 2)
    if not depth or depth > limit:
        return 0, colour
    clear = _clear_edge(lines[depth : depth + PICTURE_LINES], colour, tolerance)
    return (depth if clear else 0), colour


def _clear_edge(picture: np.ndarray, colour: float, tolerance: float) -> bool:
    """Whether the first lines of the ``picture`` are far from the border's ``colour`` on
    average (``EDGE_CONTRAST``; ``FINE_EDGE_CONTRAST`` at ``FINE_TOLERANCE``), or busy: not the smooth continuation of a flat area."""
    if not picture.size:
        return False
    contrast = EDGE_CONTRAST if tolerance >= TOLERANCE else FINE_EDGE_CONTRAST
    far = float(np.abs(picture - np.float32(colour)).mean()) >= contrast
    return far or float(picture.std()) >= tolerance


def find_trim(luma: np.ndarray, *, window: int = 1) -> Trim | None:
    """Where a uniform border or a caption band surrounds the picture in ``luma`` (H x W).

    ``window``: how many lines between a border's last plain line and the picture may be
    neither (JPEG ringing reaches up to 7 lines from an edge at full resolution; none at 1/8
    scale, where one line may blend border and picture). None when nothing is worth trimming.
    """
    if luma.ndim != 2 or min(luma.shape) < _MIN_SIDE:
        return None
    for tolerance in (FINE_TOLERANCE, TOLERANCE):
        trim = _find(luma, window, tolerance)
        if trim is not None:
            return trim
    return None


def _find(luma: np.ndarray, window: int, tolerance: float) -> Trim | None:
    """``find_trim`` with one ``tolerance`` for a border's colour."""
    height, width = luma.shape
    edges = {  # lines from the edge inwards, the side they cut, whether a caption may lie there
        "top": (luma, height, True),
        "bottom": (luma[::-1], height, True),
        "left": (luma.T, width, False),
        "right": (luma.T[::-1], width, False),
    }
    found = {
        name: _edge(lines, int(side * (1 - MIN_KEEP_SHARE)), caption, window, tolerance)
        for name, (lines, side, caption) in edges.items()
    }
    trim = Trim(**{name: depth for name, (depth, _) in found.items()})
    if not _worth_it(trim, width, height):
        return None
    left, top, right, bottom = trim.box(width, height)
    colours = {colour for depth, colour in found.values() if depth}
    return None if _mostly(luma[top:bottom, left:right], colours, tolerance) else trim


def _mostly(picture: np.ndarray, colours: set[float], tolerance: float) -> bool:
    """Whether more than ``MAX_BORDER_COLOUR_LEFT`` of ``picture`` is one of ``colours``
    (judged on a sample of about 16,000 pixels: a share needs no more)."""
    step = max(1, int((picture.size / _SAMPLE_PIXELS) ** 0.5))
    sample = picture[::step, ::step]
    return any(
        float((np.abs(sample - np.float32(colour)) <= tolerance).mean()) > MAX_BORDER_COLOUR_LEFT
        for colour in colours
    )


def _worth_it(trim: Trim, width: int, height: int) -> bool:
    """Some edge loses ``MIN_TRIM_SHARE`` of its side, each side keeps ``MIN_KEEP_SHARE``."""
    kept = 1 - MIN_KEEP_SHARE
    if trim.top + trim.bottom > height * kept or trim.left + trim.right > width * kept:
        return False
    return (
        max(trim.top, trim.bottom) >= height * MIN_TRIM_SHARE
        or max(trim.left, trim.right) >= width * MIN_TRIM_SHARE
    )
