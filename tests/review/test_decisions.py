from __future__ import annotations

import pytest

from needle.review import (
    DECISIONS,
    ItemNotFound,
    ReviewError,
    add_to_case,
    case_items,
    cases,
    decide,
    remove_from_case,
    review_item,
)
from needle.store import Store
from review.flagged import file_ids, flagged, store_flagged


@pytest.fixture
def two(store: Store) -> list[int]:
    ids = file_ids(
        store, store_flagged(store, ["/e"], [flagged("/e/a.jpg", "high"), flagged("/e/b.jpg")])
    )
    return sorted(ids.values())


def test_the_five_decisions() -> None:
    assert list(DECISIONS.values()) == [
        "abuse – real",
        "abuse – AI-generated",
        "not abuse",
        "escalate",
        "needs second review",
    ]


def test_decide_validates(store: Store, two: list[int]) -> None:
    with pytest.raises(ReviewError, match="unknown decision"):
        decide(store, two[0], "probably", "", "rev")
    with pytest.raises(ReviewError, match="over the limit"):
        decide(store, two[0], "not-abuse", "x" * 5000, "rev")
    with pytest.raises(ItemNotFound):
        decide(store, 999_999, "not-abuse", "", "rev")
    entry = decide(store, two[0], "abuse-ai", "generated", "rev")
    assert entry.label == "abuse – AI-generated"
    assert review_item(store, two[0]).decision == entry or (
        review_item(store, two[0]).decision.decision == "abuse-ai"  # type: ignore[union-attr]
    )


def test_cases(store: Store, two: list[int]) -> None:
    assert add_to_case(store, "  account   12 ", two[0], "rev") is True
    assert add_to_case(store, "account 12", two[0], "rev") is False
    add_to_case(store, "account 12", two[1], "rev")
    add_to_case(store, "other", two[1], "rev")
    summary = {c.name: c.items for c in cases(store)}
    assert summary == {"account 12": 2, "other": 1}
    assert [i.file_id for i in case_items(store, "account 12")] == two
    assert remove_from_case(store, "other", two[1]) is True
    assert remove_from_case(store, "other", two[1]) is False
    assert [c.name for c in cases(store)] == ["account 12"]
    with pytest.raises(ReviewError):
        add_to_case(store, "   ", two[0], "rev")
    with pytest.raises(ReviewError):
        add_to_case(store, "x" * 201, two[0], "rev")
    with pytest.raises(ItemNotFound):
        add_to_case(store, "account 12", 999_999, "rev")
