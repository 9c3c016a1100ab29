"""vPDQ as a bank value: one string per video, the way hash exchanges pass it around.

In: a vPDQ hash as a hash list spells it, in any of three forms:

- the compact JSON list of python-threatexchange and HMA (``vpdq_util.vpdq_to_json``, signal
  type ``vpdq``): one ``"<pdq_hex>,<quality>,<timestamp>"`` string per sampled frame, e.g.
  ``["e271...055c,100,0.000", "c0f1...055c,100,1.000"]``. It has no frame numbers: they are
  counted 0, 1, 2 ... in list order;
- the older threatexchange JSON object (``vpdq_util.OLD_json_to_vpdq``): frame number ->
  ``{"quality": 100, "hash": "<pdq_hex>", "timestamp": 1.0}``, the hash as a hex string;
- needle's and the reference's text (``VpdqHash.to_text``): ``frame,quality,pdq_hex,timestamp``
  lines, separated by line breaks or by ``;`` so that a whole video fits one CSV cell.

Out: the features (``needle.signals.vpdq.VpdqFeature``), and back: the canonical bank value
(``vpdq_value``), which is the compact list as HMA writes it (``json.dumps`` with its
default separators, lower-case hex, timestamps to 3 decimals), so that a bank exported by
needle is read by HMA as it is. A canonical value runs to kilobytes, more than a database
key holds: ``vpdq_digest`` (its sha256) is what the store keys it by and a match names it by.

Hostile input is bounded: a value longer than ``VPDQ_MAX_CHARS`` characters is refused before
it is parsed, and one of more than ``VPDQ_MAX_FRAMES`` features after. Anything malformed is
a ``SignalFormatError`` that says what and where.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from needle.errors import SignalFormatError
from needle.signals.vpdq import VPDQ_TIMESTAMP_DECIMALS, VpdqFeature

__all__ = [
    "VPDQ_MAX_CHARS",
    "VPDQ_MAX_FRAMES",
    "VPDQ_SIGNAL",
    "parse_vpdq_value",
    "vpdq_digest",
    "vpdq_value",
]

#: the signal type's name, as python-threatexchange and HMA spell it
VPDQ_SIGNAL = "vpdq"
#: most features one value may hold: 3 h 42 min of 30 frames a second hashed every frame
#: (``needle bank add`` keeps every frame of a banked video), or 4.6 days at one a second
VPDQ_MAX_FRAMES = 400_000
#: most characters one value may have, checked before it is parsed: 160 a feature at
#: ``VPDQ_MAX_FRAMES`` (a compact feature takes about 82, the old JSON object about 115)
VPDQ_MAX_CHARS = 160 * VPDQ_MAX_FRAMES

_PDQ_HEX = 64
_HEX = frozenset("0123456789abcdef")


def vpdq_value(features: Iterable[VpdqFeature]) -> str:
    """The canonical bank value of ``features``, in the order given: HMA's compact JSON list.

    Frame numbers are not part of it (HMA's form has none). Raises ``SignalFormatError`` for
    no features at all, or a feature out of range.
    """
    items = [_compact(feature.checked()) for feature in features]
    if not items:
        raise SignalFormatError("a vPDQ value needs at least one frame hash")
    return json.dumps(items)


def _compact(feature: VpdqFeature) -> str:
    timestamp = feature.timestamp + 0.0  # -0.0 is written as 0.000
    return f"{feature.pdq.lower()},{feature.quality},{timestamp:.{VPDQ_TIMESTAMP_DECIMALS}f}"


def vpdq_digest(value: str) -> str:
    """The sha256 (hex) of a canonical value (``vpdq_value``'s output), as it is given: the
    key of a vPDQ entry in the store and the name of the entry in a match."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def parse_vpdq_value(text: str, *, max_frames: int = VPDQ_MAX_FRAMES) -> tuple[VpdqFeature, ...]:
    """The features of a bank value in any accepted form (see the module docstring).

    A value is refused unread when longer than ``VPDQ_MAX_CHARS`` characters, and when it
    holds more than ``max_frames`` features. ``SignalFormatError`` says what is wrong and,
    for one bad feature, which (counted from 1).
    """
    if len(text) > VPDQ_MAX_CHARS:
        raise SignalFormatError(
            f"a vPDQ value is at most {VPDQ_MAX_CHARS:,} characters, this one has {len(text):,}"
        )
    body = text.strip()
    if not body:
        raise SignalFormatError("empty vpdq value")
    json_form = body[0] in "[{"
    features = _from_json(body, max_frames) if json_form else _from_lines(body, max_frames)
    if not features:
        raise SignalFormatError("a vPDQ value holds no frame hash")
    return features


def _too_many(count: int, max_frames: int) -> SignalFormatError:
    return SignalFormatError(
        f"a vPDQ value holds at most {max_frames:,} frame hashes, not {count:,}"
    )


def _from_json(body: str, max_frames: int) -> tuple[VpdqFeature, ...]:
    try:
        doc = json.loads(body)
    except RecursionError:
        raise SignalFormatError("a vPDQ value's JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
        raise SignalFormatError(f"a vPDQ value is not valid JSON: {exc}") from None
    if isinstance(doc, list):
        if len(doc) > max_frames:
            raise _too_many(len(doc), max_frames)
        return _checked(_compact_feature(frame, item) for frame, item in enumerate(doc))
    if isinstance(doc, dict):
        if len(doc) > max_frames:
            raise _too_many(len(doc), max_frames)
        return _checked(_object_feature(key, item) for key, item in doc.items())
    raise SignalFormatError("a vPDQ value's JSON is a list of frame hashes (or an object)")


def _checked(features: Iterator[VpdqFeature]) -> tuple[VpdqFeature, ...]:
    """``features``, each checked; an error names the feature (counted from 1)."""
    out: list[VpdqFeature] = []
    try:
        for feature in features:
            out.append(feature.checked())
    except SignalFormatError as exc:
        raise SignalFormatError(f"vPDQ frame hash {len(out) + 1}: {exc}") from None
    return tuple(out)


def _compact_feature(frame: int, item: Any) -> VpdqFeature:
    """One ``"pdq_hex,quality,timestamp"`` string of the compact list."""
    if not isinstance(item, str):
        raise SignalFormatError(f"expected a 'pdq_hex,quality,timestamp' string, not {_kind(item)}")
    parts = [part.strip() for part in item.split(",")]
    if len(parts) != 3:
        raise SignalFormatError(
            f"a compact vPDQ feature has 3 fields (pdq_hex,quality,timestamp), not {len(parts)}"
        )
    pdq, quality, timestamp = parts
    return VpdqFeature(frame, _quality(quality), _pdq(pdq), _timestamp(timestamp))


def _object_feature(key: str, item: Any) -> VpdqFeature:
    """One ``"frame": {"quality": .., "hash": "<hex>", "timestamp": ..}`` of the old object."""
    try:
        frame = int(key)
    except ValueError:
        raise SignalFormatError(f"a frame number is a whole number, not {key[:20]!r}") from None
    if not isinstance(item, dict):
        raise SignalFormatError(f"frame {frame}: expected an object, not {_kind(item)}")
    missing = [name for name in ("quality", "hash", "timestamp") if name not in item]
    if missing:
        raise SignalFormatError(f"frame {frame}: missing {', '.join(missing)}")
    quality, pdq, timestamp = item["quality"], item["hash"], item["timestamp"]
    if isinstance(quality, bool) or not isinstance(quality, int):
        raise SignalFormatError(f"frame {frame}: quality is a whole number, not {_kind(quality)}")
    if not isinstance(pdq, str):
        raise SignalFormatError(f"frame {frame}: hash is a hex string, not {_kind(pdq)}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise SignalFormatError(f"frame {frame}: timestamp is a number, not {_kind(timestamp)}")
    return VpdqFeature(frame, quality, _pdq(pdq), float(timestamp))


def _from_lines(body: str, max_frames: int) -> tuple[VpdqFeature, ...]:
    """``frame,quality,pdq_hex,timestamp`` lines, separated by line breaks or ``;``."""
    lines = [line for line in body.replace(";", "\n").splitlines() if line.strip()]
    if len(lines) > max_frames:
        raise _too_many(len(lines), max_frames)
    return _checked(VpdqFeature.from_text(line) for line in lines)


def _pdq(text: str) -> str:
    pdq = text.strip().lower()
    if len(pdq) != _PDQ_HEX or not _HEX.issuperset(pdq):
        raise SignalFormatError(f"a vPDQ frame hash is {_PDQ_HEX} hex digits: {text[:80]!r}")
    return pdq


def _quality(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SignalFormatError(f"a vPDQ quality is a whole number, not {text[:20]!r}") from None


def _timestamp(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SignalFormatError(f"a vPDQ timestamp is a number, not {text[:20]!r}") from None
    if not math.isfinite(value):
        raise SignalFormatError(f"a vPDQ timestamp is a finite number, not {text[:20]!r}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
