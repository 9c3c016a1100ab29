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

__all__ = ["DECISIONS", "MAX_NOTE", "decide"]

#: decision value -> the words the reviewer sees, in the order of the keyboard shortcuts 1-5
DECISIONS: dict[str, str] = {
    "abuse-real": "abuse – real",
    "abuse-ai": "abuse – AI-generated",
    "not-abuse": "not abuse",
    "escalate": "escalate",
    "second-review": "needs second review",
}

MAX_NOTE = 4000


def decide(store: Store, file_id: int, decision: str, note: str, user: str) -> DecisionEntry:
    """Record ``user``'s ``decision`` on the record ``file_id``; it becomes the current one."""
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}")
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
                file_id=file_id, decision=decision, note=note, user=user[:100], created_at=now
            )
        )
    return DecisionEntry(decision, DECISIONS[decision], note, user[:100], now)
