"""A video's vPDQ as one ``Signal``, so a scanned video's hashes travel with its other signals.

In: the ``VpdqFeature`` of a hashed video (``needle.signals.vpdq.hash_video``). Out: a
``VpdqSignal``: a ``Signal`` of type ``vpdq`` whose ``value`` is the exchange form of the hash
(python-threatexchange's compact JSON list, ``needle.signals.vpdq_exchange.vpdq_value``) and
whose ``features`` keep the frames as computed, dihedral variants included, for the matcher
(``needle.match.matcher``: a mirrored copy of a banked video is found through them). A plain
``Signal("vpdq", value)`` (a hash sent over the API) is matched from its value alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from needle.signals.base import Signal
from needle.signals.vpdq import VpdqFeature
from needle.signals.vpdq_exchange import VPDQ_SIGNAL, parse_vpdq_value, vpdq_value

__all__ = ["VpdqSignal", "signal_features", "vpdq_signal"]


@dataclass(frozen=True)
class VpdqSignal(Signal):
    """A ``vpdq`` signal with its frames: ``value`` is the exchange form (no variants)."""

    features: tuple[VpdqFeature, ...] = field(default=(), repr=False, compare=False)


def vpdq_signal(features: Iterable[VpdqFeature]) -> VpdqSignal:
    """The signal of a hashed video's frames (in frame order, variants kept)."""
    frames = tuple(features)
    return VpdqSignal(VPDQ_SIGNAL, vpdq_value(frames), features=frames)


def signal_features(signal: Signal) -> tuple[VpdqFeature, ...]:
    """The frames of a ``vpdq`` signal: kept ones, else read from its value
    (``SignalFormatError`` when the value is not a vPDQ hash)."""
    if isinstance(signal, VpdqSignal) and signal.features:
        return signal.features
    return parse_vpdq_value(signal.value)
