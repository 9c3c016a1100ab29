"""The ``vpdq`` entries of banks, indexed for the ``Matcher``: one ``VideoIndex`` per bank.

In: banks whose entries include ``vpdq`` values (the exchange form,
``needle.signals.vpdq_exchange``), then a file's ``vpdq`` signal. Out: for each banked video
the file's video matches, ``(bank, entry position, VideoMatch)``, with the bank's thresholds:
its PDQ threshold per frame, and its query and compared shares (``Bank.vpdq_query_percent``,
``Bank.vpdq_compared_percent``; the reference Python bindings' 80 % and 0 % by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from needle.banks.columns import TypeColumn
from needle.banks.model import Bank
from needle.errors import SignalFormatError
from needle.match.video import VideoIndex, VideoMatch
from needle.signals.base import Signal
from needle.signals.vpdq_exchange import VPDQ_SIGNAL, parse_vpdq_value
from needle.signals.vpdq_signal import signal_features

__all__ = ["VideoBanks"]


class VideoBanks:
    """Every bank's banked videos, one ``VideoIndex`` each (banks keep their own thresholds)."""

    def __init__(self, banks: Sequence[Bank], columns: list[tuple[int, TypeColumn]]) -> None:
        self._banks = banks
        self._indexes: list[tuple[int, VideoIndex]] = []
        for b, column in columns:
            bank = banks[b]
            values = column.strings(range(len(column)))
            videos = []
            for position, value in zip(column.positions.tolist(), values, strict=True):
                try:
                    videos.append((str(position), parse_vpdq_value(value)))
                except SignalFormatError as exc:
                    raise SignalFormatError(
                        f"bank {bank.name!r} entry #{position} is not a vPDQ hash: {exc}; "
                        "fix or re-import the bank"
                    ) from None
            index = VideoIndex.build(videos, threshold=bank.pdq_threshold)
            self._indexes.append((b, index))

    def __len__(self) -> int:
        """Banked videos."""
        return sum(len(index.video_ids) for _, index in self._indexes)

    def search(self, signal: Signal) -> list[tuple[int, int, VideoMatch]]:
        """The banked videos ``signal`` (type ``vpdq``) matches: (bank, entry, comparison)."""
        if signal.type != VPDQ_SIGNAL or not self._indexes:
            return []
        features = signal_features(signal)
        found = []
        for b, index in self._indexes:
            bank = self._banks[b]
            for match in index.search(
                features,
                distance=bank.pdq_threshold,
                query_share=bank.vpdq_query_percent,
                compared_share=bank.vpdq_compared_percent,
            ):
                if match.is_match:
                    found.append((b, int(match.video_id), match))
        return found
