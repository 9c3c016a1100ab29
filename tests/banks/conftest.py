"""Benign hash values for bank-format tests: digests of short made-up strings, random PDQ bits."""

from __future__ import annotations

import hashlib
import random

import pytest


class Hashes:
    """Deterministic valid values of every built-in signal type, by index."""

    @staticmethod
    def md5(i: int) -> str:
        return hashlib.md5(f"needle-test-{i}".encode()).hexdigest()

    @staticmethod
    def sha1(i: int) -> str:
        return hashlib.sha1(f"needle-test-{i}".encode()).hexdigest()

    @staticmethod
    def sha256(i: int) -> str:
        return hashlib.sha256(f"needle-test-{i}".encode()).hexdigest()

    @staticmethod
    def pdq(i: int) -> str:
        return f"{random.Random(i).getrandbits(256):064x}"


@pytest.fixture
def hashes() -> type[Hashes]:
    return Hashes
