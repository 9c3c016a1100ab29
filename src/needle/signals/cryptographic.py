"""File-byte digests: md5, sha1, sha256. What hash lists of known material mostly use."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from needle.signals.base import BytesHasher, ExactMatchable, Signal, SignalType

__all__ = ["MD5", "SHA1", "SHA256", "digest_all"]


class _Digest(SignalType, BytesHasher, ExactMatchable):
    algorithm: ClassVar[str]

    def hash_bytes(self, data: bytes) -> Signal:
        return Signal(self.name, hashlib.new(self.algorithm, data).hexdigest())


class MD5(_Digest):
    name = "md5"
    algorithm = "md5"
    hex_length = 32


class SHA1(_Digest):
    name = "sha1"
    algorithm = "sha1"
    hex_length = 40


class SHA256(_Digest):
    name = "sha256"
    algorithm = "sha256"
    hex_length = 64


def digest_all(data: bytes) -> dict[str, str]:
    """md5, sha1 and sha256 of ``data`` in one call."""
    return {t.name: t.hash_bytes(data).value for t in (MD5(), SHA1(), SHA256())}
