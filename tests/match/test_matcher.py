"""Matcher: banks in, Match results out — thresholds per bank, quality floor, transforms."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import image_bytes, synth_image
from match.match_helpers import flip_bits, near, random_hashes
from needle.banks.model import Bank, BankEntry
from needle.errors import ConfigError, SignalFormatError
from needle.match import Match, Matcher
from needle.match.pdq import hamming_distances
from needle.media import decode_image
from needle.signals.base import Signal
from needle.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ, PDQ_QUALITY_FLOOR

BASE = "5a" * 32


def pdq_signal(value: str, quality: int | None = 90) -> Signal:
    return Signal("pdq", value, quality)


def test_exact_signals_match_by_equality() -> None:
    md5 = hashlib.md5(b"one").hexdigest()
    sha1 = hashlib.sha1(b"one").hexdigest()
    sha256 = hashlib.sha256(b"one").hexdigest()
    bank = Bank(
        "known",
        [
            BankEntry("md5", md5, ("A1",)),
            BankEntry("sha1", sha1),
            BankEntry("sha256", sha256, meta={"MediaID": "7"}),
            BankEntry("md5", hashlib.md5(b"two").hexdigest()),
        ],
    )
    matcher = Matcher([bank])
    found = matcher.match(
        {
            "md5": Signal("md5", md5.upper()),
            "sha1": Signal("sha1", sha1),
            "sha256": Signal("sha256", sha256),
        }
    )
    assert found == [
        Match("known", "md5", md5, 0, 0, None, ("A1",), 0),
        Match("known", "sha1", sha1, 0, 0, None, (), 1),
        Match("known", "sha256", sha256, 0, 0, None, (), 2),
    ]
    assert matcher.match([Signal("md5", hashlib.md5(b"three").hexdigest())]) == []
    # a sha1 value is not looked up among md5 entries, nor an unknown type anywhere
    assert matcher.match([Signal("sha1", md5), Signal("vpdq", md5)]) == []


def test_one_match_per_bank_in_bank_order_then_distance() -> None:
    near3, near9 = flip_bits(BASE, range(3)), flip_bits(BASE, range(100, 109))
    banks = [
        Bank("zeta", [BankEntry("pdq", near9), BankEntry("pdq", near3)]),
        Bank("alpha", [BankEntry("pdq", near3, ("x",)), BankEntry("md5", "a" * 32)]),
    ]
    found = Matcher(banks).match([pdq_signal(BASE), Signal("md5", "A" * 32)])
    assert [(m.bank, m.signal_type, m.distance, m.entry_id) for m in found] == [
        ("zeta", "pdq", 3, 1),
        ("zeta", "pdq", 9, 0),
        ("alpha", "md5", 0, 1),
        ("alpha", "pdq", 3, 0),
    ]
    assert found[3].labels == ("x",) and found[3].value == near3
    assert found[3].threshold == 31 and found[3].transform == "original"


def test_each_bank_keeps_its_own_threshold() -> None:
    rng = np.random.default_rng(7)
    strict = Bank("strict", [BankEntry("pdq", BASE)], pdq_threshold=10)
    usual = Bank("usual", [BankEntry("pdq", BASE)], pdq_threshold=31)
    wide = Bank("wide", [BankEntry("pdq", BASE)], pdq_threshold=63)
    matcher = Matcher([strict, usual, wide])
    for k, banks in [
        (0, ["strict", "usual", "wide"]),
        (10, ["strict", "usual", "wide"]),
        (11, ["usual", "wide"]),
        (31, ["usual", "wide"]),
        (32, ["wide"]),
        (63, ["wide"]),
        (64, []),
    ]:
        found = matcher.match([pdq_signal(near(rng, BASE, k))])
        assert [m.bank for m in found] == banks, k
        assert all(m.distance == k for m in found)
        assert [m.threshold for m in found] == [
            {"strict": 10, "usual": 31, "wide": 63}[b] for b in banks
        ]


def test_quality_floor() -> None:
    matcher = Matcher([Bank("b", [BankEntry("pdq", BASE)])])
    assert matcher.quality_floor == PDQ_QUALITY_FLOOR == 50
    assert matcher.match([pdq_signal(BASE, 49)]) == []
    assert len(matcher.match([pdq_signal(BASE, 50)])) == 1
    assert len(matcher.match([pdq_signal(BASE, None)])) == 1  # unknown quality: still matched
    stricter = Matcher([Bank("b", [BankEntry("pdq", BASE)])], quality_floor=80)
    assert stricter.match([pdq_signal(BASE, 79)]) == []
    # a low-quality PDQ hash does not stop the file's exact hashes from matching
    md5 = Matcher([Bank("b", [BankEntry("md5", "b" * 32)])])
    assert len(md5.match([pdq_signal(BASE, 10), Signal("md5", "b" * 32)])) == 1


def test_variants_report_the_transform_with_the_best_distance() -> None:
    matcher = Matcher([Bank("b", [BankEntry("pdq", BASE)])])
    variants = (
        ("original", flip_bits(BASE, range(60))),
        ("rotate90", flip_bits(BASE, range(7))),
        ("flipx", flip_bits(BASE, range(2))),
    )
    [found] = matcher.match([Signal("pdq", variants[0][1], 90, variants)])
    assert (found.transform, found.distance) == ("flipx", 2)
    assert matcher.match([Signal("pdq", variants[0][1], 90)]) == []  # without its variants


def test_rotated_copy_of_a_synthetic_image() -> None:
    picture = synth_image(11, (320, 240))
    hasher = PDQ()
    known = hasher.hash_image(decode_image(image_bytes(picture)))
    matcher = Matcher([Bank("demo", [BankEntry("pdq", known.value)])])
    for op in (Image.Transpose.ROTATE_90, Image.Transpose.FLIP_LEFT_RIGHT):
        copy = hasher.hash_image(decode_image(image_bytes(picture.transpose(op))))
        distances = {t: int(hamming_distances([v], [known.value])[0, 0]) for t, v in copy.variants}
        [found] = matcher.match({"pdq": copy})
        assert found.transform is not None and found.transform != "original"
        assert distances["original"] > 31
        assert found.distance == distances[found.transform] == min(distances.values())


def test_dihedral_reference_images(testdata: Path) -> None:
    """ThreatExchange's eight dihedral transforms of one photo all match its original."""
    folder = testdata / "pdq" / "reg-test-input" / "dih"
    hasher = PDQ()
    signals = {
        p.name: hasher.hash_image(decode_image(p.read_bytes())) for p in sorted(folder.iterdir())
    }
    original = signals.pop("bridge-1-original.jpg")
    matcher = Matcher([Bank("bridge", [BankEntry("pdq", original.value)])])
    assert [(m.transform, m.distance) for m in matcher.match([original])] == [("original", 0)]
    batch = list(signals.values())
    results = matcher.match_many([[s] for s in batch])
    assert len(results) == 7
    for found in results:
        assert len(found) == 1
        assert found[0].transform in DIHEDRAL_TRANSFORMS[1:]
        assert found[0].distance <= 10


def test_match_many_equals_match_one_by_one() -> None:
    rng = np.random.default_rng(8)
    hashes = random_hashes(rng, 300)
    banks = [
        Bank("a", [BankEntry("pdq", h, (str(i),)) for i, h in enumerate(hashes[:200])]),
        Bank("b", [BankEntry("pdq", h) for h in hashes[100:]], pdq_threshold=20),
        Bank("c", [BankEntry("md5", hashlib.md5(h.encode()).hexdigest()) for h in hashes[:50]]),
    ]
    matcher = Matcher(banks)
    assert len(matcher) == 450
    batch: list[dict[str, Signal] | list[Signal]] = []
    for i in range(60):
        h = hashes[int(rng.integers(0, 300))]
        signals = {"pdq": pdq_signal(near(rng, h, int(rng.integers(0, 40))))}
        if i % 3 == 0:
            signals["md5"] = Signal("md5", hashlib.md5(h.encode()).hexdigest())
        batch.append(signals if i % 2 else list(signals.values()))
    together = matcher.match_many(batch)
    assert together == [matcher.match(item) for item in batch]
    assert sum(map(len, together)) > 40
    # every reported PDQ distance is the true one and within the bank's threshold
    for item, found in zip(batch, together, strict=True):
        value = (item["pdq"] if isinstance(item, dict) else item[0]).value
        for m in found:
            if m.signal_type == "pdq":
                assert m.distance == PDQ.distance(value, m.value) <= m.threshold


def test_empty_matcher_and_empty_batch() -> None:
    assert Matcher([]).match([pdq_signal(BASE), Signal("md5", "a" * 32)]) == []
    assert Matcher([Bank("empty")]).match({}) == []
    assert Matcher([Bank("b", [BankEntry("pdq", BASE)])]).match_many([]) == []


def test_bad_banks_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match=r"unique.*twice: b"):
        Matcher([Bank("b"), Bank("a"), Bank("b")])
    with pytest.raises(ConfigError, match="'odd' has PDQ threshold 300"):
        Matcher([Bank("odd", [BankEntry("pdq", BASE)], pdq_threshold=300)])
    with pytest.raises(SignalFormatError, match="bank 'broken' entry #1"):
        Matcher(
            [
                Bank("fine", [BankEntry("pdq", BASE)]),
                Bank("broken", [BankEntry("pdq", BASE), BankEntry("pdq", "12ab")]),
            ]
        )


def test_value_is_searched_even_when_missing_from_variants() -> None:
    matcher = Matcher([Bank("b", [BankEntry("pdq", BASE)])])
    signal = Signal("pdq", flip_bits(BASE, range(4)), 90, (("rotate90", "0" * 64),))
    [found] = matcher.match([signal])
    assert (found.transform, found.distance) == ("original", 4)


def test_two_pdq_signals_of_one_file_give_one_match_per_entry() -> None:
    matcher = Matcher([Bank("b", [BankEntry("pdq", BASE)])])
    first, second = pdq_signal(flip_bits(BASE, range(9))), pdq_signal(flip_bits(BASE, range(2)))
    [found] = matcher.match([first, second])
    assert found.distance == 2
