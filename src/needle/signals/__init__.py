"""Signal types: the hashes needle computes and matches (md5, sha1, sha256, pdq, ...).

Built-ins and third-party types (entry-point group ``needle.signals``) share one registry;
look a type up with ``registry.get("pdq")``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from needle.errors import SignalFormatError
from needle.plugins import Registry
from needle.signals.base import (
    BytesHasher,
    ExactMatchable,
    HammingMatchable,
    ImageHasher,
    Signal,
    SignalType,
)

if TYPE_CHECKING:
    from needle.media.image import DecodedImage

__all__ = [
    "DEFAULT_SIGNAL_TYPES",
    "BytesHasher",
    "ExactMatchable",
    "HammingMatchable",
    "ImageHasher",
    "Signal",
    "SignalType",
    "compute_signals",
    "infer_type",
    "registry",
]


def _builtins() -> Iterable[SignalType]:
    from needle.signals.cryptographic import MD5, SHA1, SHA256
    from needle.signals.pdq import PDQ

    return [MD5(), SHA1(), SHA256(), PDQ()]


registry: Registry[SignalType] = Registry("signal type", "needle.signals", _builtins)

#: what a scan computes for every image unless told otherwise
DEFAULT_SIGNAL_TYPES = ("md5", "sha1", "sha256", "pdq")


def compute_signals(
    data: bytes,
    image: DecodedImage | None,
    types: Iterable[str] = DEFAULT_SIGNAL_TYPES,
) -> dict[str, Signal]:
    """The signals of one file, by type name: digests from ``data``, pixel hashes from ``image``.

    ``image`` is ``None`` when the file could not be decoded; pixel hashes (pdq) are then left
    out and the digests still computed, so a broken file can still match a list by md5.
    An unknown type name raises ``PluginError`` naming the known ones.
    """
    signals: dict[str, Signal] = {}
    for name in types:
        signal_type = registry.get(name)
        if isinstance(signal_type, BytesHasher):
            signals[name] = signal_type.hash_bytes(data)
        elif isinstance(signal_type, ImageHasher) and image is not None:
            signals[name] = signal_type.hash_image(image)
    return signals


def infer_type(value: str) -> str:
    """Guess the signal type of a bare hex hash from its length (32 md5, 40 sha1, 64 ...).

    A 64-digit value is ambiguous (sha256 or pdq); it is taken as ``pdq`` only when asked for,
    so callers pass ``signal_type`` explicitly for sha256 lists or rely on the default below.
    """
    text = value.strip().lower()
    by_length = {t.hex_length: t.name for t in registry if t.hex_length and t.name != "sha256"}
    if len(text) == 64:
        raise SignalFormatError(
            "a 64-digit hash may be sha256 or pdq; give the type (--type sha256 or --type pdq)"
        )
    try:
        name = by_length[len(text)]
    except KeyError:
        raise SignalFormatError(f"cannot tell the type of a {len(text)}-digit hash") from None
    return registry.get(name).name
