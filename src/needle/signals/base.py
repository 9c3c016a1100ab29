"""What a signal type is: a name, what content it reads, and how two signals compare.

Capabilities are mixins, as in python-threatexchange: a type that hashes file bytes is a
``BytesHasher``; one that hashes decoded pixels is an ``ImageHasher``; one whose values are
compared by distance is ``HammingMatchable``, by equality ``ExactMatchable``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from needle.errors import SignalFormatError

if TYPE_CHECKING:
    from needle.media.image import DecodedImage

__all__ = [
    "BytesHasher",
    "ExactMatchable",
    "HammingMatchable",
    "ImageHasher",
    "Signal",
    "SignalType",
]


@dataclass(frozen=True)
class Signal:
    """One computed hash. ``quality`` is set for perceptual hashes (PDQ: 0-100).

    ``variants`` holds extra hashes of the same content used only for matching, such as the
    PDQ hashes of the 8 dihedral transforms keyed by transform name.
    """

    type: str
    value: str
    quality: int | None = None
    variants: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class SignalType:
    """Base of every signal type. Subclasses set ``name`` and mix in capabilities."""

    name: ClassVar[str]
    #: hex length of a value, used to infer the type of a bare hash in a plain list
    hex_length: ClassVar[int | None] = None

    def validate(self, value: str) -> str:
        """Return ``value`` normalised (lower-case hex), or raise ``SignalFormatError``."""
        text = value.strip().lower()
        if self.hex_length is not None:
            if len(text) != self.hex_length:
                raise SignalFormatError(
                    f"{self.name} must be {self.hex_length} hex digits, got {len(text)}"
                )
            try:
                int(text, 16)
            except ValueError:
                raise SignalFormatError(
                    f"{self.name} value is not hexadecimal: {value!r}"
                ) from None
        elif not text:
            raise SignalFormatError(f"empty {self.name} value")
        return text


class BytesHasher:
    """Computes its signal from the file's bytes."""

    def hash_bytes(self, data: bytes) -> Signal:
        raise NotImplementedError


class ImageHasher:
    """Computes its signal from decoded pixels."""

    def hash_image(self, image: DecodedImage) -> Signal:
        raise NotImplementedError


class ExactMatchable:
    """Signals match only when equal."""


class HammingMatchable:
    """Signals match when their Hamming distance is at most a threshold."""

    bits: ClassVar[int]
    default_threshold: ClassVar[int]

    @staticmethod
    def distance(a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()
