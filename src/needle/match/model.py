"""What a match is: which bank entry a file's signal hit, how closely, and through what."""

from __future__ import annotations

from dataclasses import dataclass

from needle.jsonvalue import JSONObject

__all__ = ["Match"]


@dataclass(frozen=True)
class Match:
    """A file's signal matched a bank entry.

    ``distance`` is 0 for exact signals; for PDQ it is the Hamming distance, and
    ``threshold`` the bank's threshold it was held to. ``transform`` names the dihedral
    transform of the file whose hash matched (``original``, ``rotate90``, ``flipx`` ...):
    how the scanned file differs from the listed image, explained in plain words by
    ``needle.signals.pdq.DIHEDRAL_DESCRIPTIONS``; None for exact signals.
    """

    bank: str
    signal_type: str
    value: str
    distance: int
    threshold: int
    transform: str | None = None
    labels: tuple[str, ...] = ()
    entry_id: int | None = None

    def to_dict(self) -> JSONObject:
        return {
            "bank": self.bank,
            "signal_type": self.signal_type,
            "value": self.value,
            "distance": self.distance,
            "threshold": self.threshold,
            "transform": self.transform,
            "labels": list(self.labels),
        }
