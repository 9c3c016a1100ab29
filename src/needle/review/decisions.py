"""Reviewers' decisions on file records: five words, a note, who and when.

A decision is appended, never edited: the newest one of a record is its current decision and
the older ones stay as its history (``review_item(...).history``). Who may decide is the web
layer's business (the ``review`` permission); every decision made there is also audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from needle.review.model import DecisionEntry, ItemNotFound, ReviewError
from needle.review.queue import sessions
from needle.store import Store
from needle.store.schema import DecisionRow, FileRow

__all__ = ["CLASSIFICATIONS", "DECISIONS", "MAX_NOTE", "decide"]

#: decision value -> the words the reviewer sees, in the order of the keyboard shortcuts 1-5
DECISIONS: dict[str, str] = {
    "abuse-real": "abuse – real",
    "abuse-ai": "abuse – AI-generated",
    "not-abuse": "not abuse",
    "escalate": "escalate",
    "second-review": "needs second review",
}

#: the industry classification scheme NCMEC's CyberTipline uses (``industryClassification``):
#: A = prepubescent minor, B = pubescent minor; 1 = sex act, 2 = lascivious exhibition
CLASSIFICATIONS: dict[str, str] = {
    "A1": "A1 – prepubescent, sex act",
    "A2": "A2 – prepubescent, lascivious exhibition",
    "B1": "B1 – pubescent, sex act",
    "B2": "B2 – pubescent, lascivious exhibition",
}

MAX_NOTE = 4000


def decide(
    store: Store,
    file_id: int,
    decision: str,
    note: str,
    user: str,
    classification: str | None = None,
) -> DecisionEntry:
    """Record ``user``'s ``decision`` on the record ``file_id``; it becomes the current one.
    ``classification`` (A1/A2/B1/B2) only goes with an abuse decision."""
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}")
    classification = (classification or "").strip().upper() or None
    if classification is not None:
        if classification not in CLASSIFICATIONS:
            raise ReviewError(
                f"unknown classification {classification!r}: use one of {', '.join(CLASSIFICATIONS)}"
            )
        if not decision.startswith("abuse-"):
            raise ReviewError("a classification goes with an abuse decision only")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ReviewError(f"the note is {len(note):,} characters, over the limit of {MAX_NOTE:,}")
    if not user:
        raise ReviewError("a decision needs the name of who made it")
    now = datetime.now(UTC)
    with sessions(store).begin() as session:
        if session.scalar(sa.select(FileRow.id).where(FileRow.id == file_id)) is None:
            raise ItemNotFound(f"no item {file_id}")
        session.add(
            DecisionRow(
                file_id=file_id,
                decision=decision,
                classification=classification,
                note=note,
                user=user[:100],
                created_at=now,
            )
        )
    return DecisionEntry(decision, DECISIONS[decision], note, user[:100], now, classification)
