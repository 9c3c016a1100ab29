"""What a match is: which bank entry a file's signal hit, how closely, and through what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from needle.jsonvalue import JSONObject

if TYPE_CHECKING:
    from needle.match.video import VideoMatch

__all__ = ["CROP_TRANSFORM", "Match", "crop_transform"]

#: ``Match.transform`` of a hit on the PDQ hash of a part of a listed picture (banks built
#: from media, ``needle bank add NAME FILE``): the scanned file is a crop of that picture
CROP_TRANSFORM = "crop"


def crop_transform(dihedral: str | None) -> str:
    """The transform of a hit on a part of a picture through dihedral variant ``dihedral``:
    ``crop``, or ``crop+rotate90`` for a crop that is also turned."""
    if dihedral in (None, "original"):
        return CROP_TRANSFORM
    return f"{CROP_TRANSFORM}+{dihedral}"


@dataclass(frozen=True)
class Match:
    """A file's signal matched a bank entry.

    ``distance`` is 0 for exact signals; for PDQ it is the Hamming distance, and
    ``threshold`` the bank's threshold it was held to. ``transform`` names the dihedral
    transform of the file whose hash matched (``original``, ``rotate90``, ``flipx`` ...):
    how the scanned file differs from the listed image, explained in plain words by
    ``needle.signals.pdq.DIHEDRAL_DESCRIPTIONS``; None for exact signals. A hit on the PDQ
    hash of a part of a listed picture (a bank built from media) is a ``crop``
    (``crop+rotate90`` when turned too), and ``region`` names the part ("centre 90%").

    A video's ``vpdq`` hit on a banked video (``needle.match.video``): ``value`` is the
    sha256 of the banked vPDQ (``needle.signals.vpdq_exchange.vpdq_digest``), ``distance``
    the nearest frame distance, ``threshold`` the per-frame one, and ``video`` how much of
    each video is in the other and where.
    """

    bank: str
    signal_type: str
    value: str
    distance: int
    threshold: int
    transform: str | None = None
    labels: tuple[str, ...] = ()
    entry_id: int | None = None
    region: str | None = None
    video: VideoMatch | None = None

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "bank": self.bank,
            "signal_type": self.signal_type,
            "value": self.value,
            "distance": self.distance,
            "threshold": self.threshold,
            "transform": self.transform,
            "labels": list(self.labels),
        }
        if self.region is not None:
            out["region"] = self.region
        if self.video is not None:
            out["video"] = self.video.to_dict()
        return out
