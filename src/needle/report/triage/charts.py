"""Bar charts for the triage report, as geometry for hand-written inline SVG (no scripts).

In: (label, count) pairs. Out: a ``BarChart`` whose bars carry their position and size; the
template draws each as a ``<rect>`` with its label and count as ``<text>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from needle.report.triage.model import Bar, BarChart

__all__ = ["columns", "horizontal_bars"]

_LABEL_W = 190  # room for a label left of a horizontal bar
_COUNT_W = 80  # room for the count right of it
_ROW_H = 22
_BAR_H = 16


def horizontal_bars(title: str, pairs: Iterable[tuple[str, int]], width: int = 640) -> BarChart:
    """One horizontal bar per pair, the longest for the largest count."""
    items = list(pairs)
    top = max((n for _, n in items), default=0) or 1
    room = width - _LABEL_W - _COUNT_W
    bars = tuple(
        Bar(
            label, n, _LABEL_W, i * _ROW_H + (_ROW_H - _BAR_H) / 2, round(room * n / top, 1), _BAR_H
        )
        for i, (label, n) in enumerate(items)
    )
    return BarChart(title, bars, width, max(len(items), 1) * _ROW_H, horizontal=True)


def columns(
    title: str, pairs: Iterable[tuple[str, int]], width: int = 900, height: int = 180
) -> BarChart:
    """One column per pair, left to right (a timeline); labels are drawn under the first
    and last columns only, every column has a ``<title>`` with its own."""
    items = list(pairs)
    top = max((n for _, n in items), default=0) or 1
    plot = height - 30
    step = width / max(len(items), 1)
    gap = min(2.0, step / 4)
    bars = tuple(
        Bar(label, n, round(i * step, 2), round(plot - plot * n / top, 2), round(step - gap, 2),
            round(plot * n / top, 2))
        for i, (label, n) in enumerate(items)
    )  # fmt: skip
    return BarChart(title, bars, width, height, horizontal=False)
