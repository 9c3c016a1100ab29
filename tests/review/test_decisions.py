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


def test_an_abuse_decision_carries_an_industry_classification(store: Store, two: list[int]) -> None:
    from needle.review import CLASSIFICATIONS

    assert list(CLASSIFICATIONS) == ["A1", "A2", "B1", "B2"]
    entry = decide(store, two[0], "abuse-real", "", "rev", "b2")
    assert entry.classification == "B2"
    assert review_item(store, two[0]).history[0].classification == "B2"
    with pytest.raises(ReviewError, match="unknown classification"):
        decide(store, two[0], "abuse-real", "", "rev", "C3")
    with pytest.raises(ReviewError, match="abuse decision only"):
        decide(store, two[1], "not-abuse", "", "rev", "A1")
    assert decide(store, two[1], "not-abuse", "", "rev", "").classification is None


def test_case_details_are_kept_per_case(store: Store, two: list[int]) -> None:
    from needle.review import case_details, set_case_details

    assert case_details(store, "account 7") == {}
    set_case_details(store, " account  7 ", {"esp_user_id": "7", "screen_name": "someone"}, "rev")
    assert case_details(store, "account 7") == {"esp_user_id": "7", "screen_name": "someone"}
    set_case_details(store, "account 7", {"esp_user_id": "7"}, "rev")
    assert case_details(store, "account 7") == {"esp_user_id": "7"}
