"""Hits on the PDQ hashes of parts of a picture (banks built from media) are crops."""

from __future__ import annotations

import numpy as np
import pytest

from match.match_helpers import near, random_hashes
from needle.banks.model import (
    META_REGION,
    META_SOURCE_FILE,
    META_SOURCE_SHA256,
    Bank,
    BankEntry,
)
from needle.match import Matcher
from needle.match.model import crop_transform
from needle.signals.base import Signal
from needle.store import Store


def picture(sha: str, whole: str, parts: dict[str, str]) -> list[BankEntry]:
    """The entries ``bank add`` makes of one picture: its sha256, whole PDQ, parts' PDQ."""
    source = {META_SOURCE_FILE: f"{sha[:4]}.jpg", META_SOURCE_SHA256: sha}
    return [
        BankEntry("sha256", sha, ("series-a",), dict(source)),
        BankEntry("pdq", whole, ("series-a",), dict(source)),
        *(
            BankEntry("pdq", value, ("series-a",), {**source, META_REGION: name})
            for name, value in parts.items()
        ),
    ]


def pdq(value: str, variants: tuple[tuple[str, str], ...] = ()) -> Signal:
    return Signal("pdq", value, 90, variants)


@pytest.fixture
def hashes() -> list[str]:
    return random_hashes(np.random.default_rng(7), 8)


def test_a_hit_on_a_part_is_a_crop_naming_the_part(hashes: list[str]) -> None:
    rng = np.random.default_rng(1)
    entries = picture("a" * 64, hashes[0], {"centre 90%": hashes[1], "centre 80%": hashes[2]})
    matcher = Matcher([Bank("known", entries)])

    (match,) = matcher.match([pdq(near(rng, hashes[2], 6))])

    assert (match.transform, match.region, match.distance) == ("crop", "centre 80%", 6)
    assert match.labels == ("series-a",) and match.value == hashes[2]
    assert match.to_dict()["region"] == "centre 80%"
    (whole,) = matcher.match([pdq(hashes[0])])
    assert whole.transform == "original" and whole.region is None
    assert "region" not in whole.to_dict()


def test_one_match_per_picture_whole_first_then_the_nearest_part(hashes: list[str]) -> None:
    rng = np.random.default_rng(2)
    first = picture("a" * 64, hashes[0], {"centre 90%": hashes[1], "top 90%": hashes[2]})
    second = picture("b" * 64, hashes[3], {"centre 90%": hashes[4]})
    matcher = Matcher([Bank("known", first + second), Bank("other", first)])

    # a file near two parts of one picture: only the nearer part is reported, once per bank
    found = matcher.match([pdq(near(rng, hashes[1], 4)), pdq(near(rng, hashes[2], 9))])
    assert [(m.bank, m.region, m.distance) for m in found] == [
        ("known", "centre 90%", 4),
        ("other", "centre 90%", 4),
    ]
    # a file near the whole picture and one of its parts: the whole picture speaks for it
    found = matcher.match([pdq(near(rng, hashes[0], 20)), pdq(near(rng, hashes[2], 3))])
    assert [(m.bank, m.transform, m.distance) for m in found] == [
        ("known", "original", 20),
        ("other", "original", 20),
    ]
    # parts of two pictures: one crop match for each
    found = matcher.match([pdq(hashes[1]), pdq(hashes[4])])
    assert {(m.bank, m.value) for m in found} == {
        ("known", hashes[1]),
        ("known", hashes[4]),
        ("other", hashes[1]),
    }


def test_a_part_without_a_source_is_still_a_crop(hashes: list[str]) -> None:
    entries = [BankEntry("pdq", hashes[0], (), {META_REGION: "centre 90%"})]
    (match,) = Matcher([Bank("known", entries)]).match([pdq(hashes[0])])
    assert (match.transform, match.region) == ("crop", "centre 90%")


def test_a_turned_crop_names_both(hashes: list[str]) -> None:
    entries = picture("a" * 64, hashes[0], {"centre 90%": hashes[1]})
    variants = (("original", hashes[5]), ("rotate90", hashes[1]))
    (match,) = Matcher([Bank("known", entries)]).match([pdq(hashes[5], variants)])
    assert match.transform == "crop+rotate90" == crop_transform("rotate90")
    assert crop_transform(None) == crop_transform("original") == "crop"
    assert max(len(crop_transform(t)) for t in ("flip-minus1", "rotate270")) <= 20  # the column


def test_parts_survive_the_store_and_match_as_a_scan_loads_them(
    db_url: str, hashes: list[str]
) -> None:
    entries = picture("a" * 64, hashes[0], {"centre 90%": hashes[1], "bottom 90%": hashes[2]})
    with Store(db_url) as store:
        with store.bank_import("known") as batch:
            batch.add(entries)
        assert store.load_bank("known").entries == entries
        bank = store.load_bank_columns("known")  # labels are read from the open store
        (match,) = Matcher([bank]).match([pdq(hashes[2])])
    assert (match.transform, match.region) == ("crop", "bottom 90%")
