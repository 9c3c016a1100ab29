from __future__ import annotations

import time

import pytest

from needle.review import (
    ItemNotFound,
    QueueFilter,
    ReviewError,
    add_to_case,
    adjacent,
    decide,
    queue_count,
    queue_items,
    review_item,
)
from needle.store import Store
from review.flagged import file_ids, flagged, store_flagged


def _job(store: Store, priorities: list[str], root: str = "/evidence") -> dict[str, int]:
    records = [flagged(f"{root}/f{i}-{p}.jpg", p) for i, p in enumerate(priorities)]
    return file_ids(store, store_flagged(store, [root], records))


def test_queue_is_ordered_by_priority_and_leaves_out_what_needs_no_review(store: Store) -> None:
    ids = _job(store, ["low", "none", "critical", "medium", "high", "critical"])
    items = queue_items(store)
    assert [i.priority for i in items] == ["critical", "critical", "high", "medium", "low"]
    # within a priority, the older record (stored first: the lower id) comes first
    assert items[0].file_id < items[1].file_id
    assert ids["/evidence/f1-none.jpg"] not in {i.file_id for i in items}
    assert queue_count(store) == 5
    assert items[0].banks == ("test-bank",) and items[0].reasons
    assert items[0].name == "f2-critical.jpg"


def test_decided_or_grouped_items_stay_in_the_queue_whatever_their_priority(
    store: Store,
) -> None:
    ids = _job(store, ["none", "none", "high"])
    quiet, grouped = ids["/evidence/f0-none.jpg"], ids["/evidence/f1-none.jpg"]
    decide(store, quiet, "not-abuse", "", "rev")
    add_to_case(store, "account 7", grouped, "rev")
    shown = {i.file_id for i in queue_items(store)}
    assert {quiet, grouped} <= shown
    assert [i.file_id for i in queue_items(store, QueueFilter(priority="none"))] == [
        quiet,
        grouped,
    ]


def test_filters(store: Store) -> None:
    first = _job(store, ["critical", "high", "medium"], "/a")
    second = _job(store, ["high"], "/b")
    job_b = queue_items(store, QueueFilter(job=store.latest_job().id))  # type: ignore[union-attr]
    assert [i.file_id for i in job_b] == list(second.values())
    assert [i.priority for i in queue_items(store, QueueFilter(priority="high"))] == ["high"] * 2
    assert [i.file_id for i in queue_items(store, QueueFilter(reason="match"))] == [
        first["/a/f0-critical.jpg"]
    ]
    assert [i.file_id for i in queue_items(store, QueueFilter(reason="guard"))] == [
        first["/a/f2-medium.jpg"]
    ]
    target = first["/a/f1-high.jpg"]
    decide(store, target, "escalate", "", "rev")
    assert target in {i.file_id for i in queue_items(store, QueueFilter(decision="open"))}
    assert [i.file_id for i in queue_items(store, QueueFilter(decision="escalate"))] == [target]
    decide(store, target, "not-abuse", "looked again", "rev2")
    assert queue_items(store, QueueFilter(decision="escalate")) == []
    assert target not in {i.file_id for i in queue_items(store, QueueFilter(decision="open"))}
    assert [i.decision for i in queue_items(store, QueueFilter(decision="decided"))] == [
        "not-abuse"
    ]
    assert len(queue_items(store, QueueFilter(decision="undecided"))) == 3
    add_to_case(store, "case one", target, "rev")
    assert [i.file_id for i in queue_items(store, QueueFilter(case="case one"))] == [target]
    for wrong in (
        QueueFilter(priority="urgent"),
        QueueFilter(reason="hunch"),
        QueueFilter(decision="maybe"),
    ):
        with pytest.raises(ReviewError):
            queue_items(store, wrong)


def test_paging_and_neighbours(store: Store) -> None:
    _job(store, ["high"] * 7 + ["critical"])
    everything = [i.file_id for i in queue_items(store)]
    pages = [i.file_id for o in range(0, 8, 3) for i in queue_items(store, None, o, 3)]
    assert pages == everything
    assert adjacent(store, everything[0]) == (None, everything[1])
    assert adjacent(store, everything[3]) == (everything[2], everything[4])
    assert adjacent(store, everything[-1]) == (everything[-2], None)


def test_neighbours_follow_the_time_order_within_a_priority(store: Store) -> None:
    _job(store, ["high"])
    time.sleep(0.01)  # a later batch: stored later (an ordering input, not a timed assertion)
    _job(store, ["high"], "/later")
    first, second = (i.file_id for i in queue_items(store))
    assert adjacent(store, first) == (None, second)


def test_review_item_has_reasons_evidence_and_history(store: Store) -> None:
    record = flagged("/evidence/x.jpg", "critical", with_provenance=True)
    ids = file_ids(store, store_flagged(store, ["/evidence"], [record]))
    file_id = ids["/evidence/x.jpg"]
    decide(store, file_id, "escalate", "  unsure  ", "alice")
    decide(store, file_id, "abuse-real", "", "bob")
    add_to_case(store, "incident 4", file_id, "bob")
    item = review_item(store, file_id)
    assert item.priority == "critical"
    assert item.reasons[0].kind == "match" and item.reasons[0].evidence["bank"] == "test-bank"
    assert item.matches[0].bank == "test-bank"
    scores = {s.name: s for s in item.classifications[0].scores}
    assert scores["explicit"].score == pytest.approx(0.91)
    assert scores["explicit"].threshold == 0.5
    assert ("detection_floor", 0.25) in item.classifications[0].thresholds
    assert item.provenance_evidence[0]["detail"] == "metadata names test-generator"
    assert [d.decision for d in item.history] == ["abuse-real", "escalate"]
    assert item.decision is not None and item.decision.user == "bob"
    assert item.history[1].note == "unsure" and item.history[1].label == "escalate"
    assert item.cases == ("incident 4",)
    data = item.to_dict()
    assert data["decision"]["decision"] == "abuse-real"  # type: ignore[index]
    with pytest.raises(ItemNotFound):
        review_item(store, file_id + 1000)
