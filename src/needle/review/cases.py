"""Cases: named groups of file records (one account, one incident, one device).

An item may be in several cases; adding it twice to one case changes nothing. A case exists
while it holds an item: removing the last one removes the case.
"""

from __future__ import annotations

import sqlalchemy as sa

from needle.jsonvalue import JSONObject
from needle.review.model import CaseSummary, ItemNotFound, QueueFilter, QueueItem, ReviewError
from needle.review.queue import aware, queue_items, sessions
from needle.store import Store
from needle.store.schema import CaseDetailRow, CaseItemRow, FileRow

__all__ = [
    "MAX_CASE_NAME",
    "add_to_case",
    "case_details",
    "case_items",
    "case_name",
    "cases",
    "remove_from_case",
    "set_case_details",
]

MAX_CASE_NAME = 200


def case_name(name: str) -> str:
    """``name`` trimmed, or a ``ReviewError`` saying why it cannot name a case."""
    name = " ".join(name.split())
    if not name:
        raise ReviewError("a case needs a name")
    if len(name) > MAX_CASE_NAME:
        raise ReviewError(f"a case name is at most {MAX_CASE_NAME} characters")
    return name


def add_to_case(store: Store, name: str, file_id: int, user: str) -> bool:
    """Put the record in the case ``name`` (made when new); False when it was there already."""
    name = case_name(name)
    with sessions(store).begin() as session:
        if session.scalar(sa.select(FileRow.id).where(FileRow.id == file_id)) is None:
            raise ItemNotFound(f"no item {file_id}")
        present = session.scalar(
            sa.select(CaseItemRow.id).where(
                CaseItemRow.case_name == name, CaseItemRow.file_id == file_id
            )
        )
        if present is not None:
            return False
        session.add(CaseItemRow(case_name=name, file_id=file_id, added_by=user[:100]))
    return True


def remove_from_case(store: Store, name: str, file_id: int) -> bool:
    """Take the record out of the case; False when it was not in it."""
    with sessions(store).begin() as session:
        gone = session.execute(
            sa.delete(CaseItemRow).where(
                CaseItemRow.case_name == name.strip(), CaseItemRow.file_id == file_id
            )
        )
        return bool(gone.rowcount)  # type: ignore[attr-defined]


def case_details(store: Store, name: str) -> JSONObject:
    """What is known of the case as a reported account (``{}`` when nothing was given)."""
    with sessions(store)() as session:
        row = session.get(CaseDetailRow, case_name(name))
        return dict(row.details) if row is not None else {}


def set_case_details(store: Store, name: str, details: JSONObject, user: str) -> None:
    """Replace what is known of the case as a reported account (reports read it)."""
    name = case_name(name)
    with sessions(store).begin() as session:
        row = session.get(CaseDetailRow, name)
        if row is None:
            session.add(CaseDetailRow(case_name=name, details=details, updated_by=user[:100]))
        else:
            row.details = details
            row.updated_by = user[:100]


def cases(store: Store) -> list[CaseSummary]:
    """Every case, most recently changed first."""
    query = (
        sa.select(
            CaseItemRow.case_name,
            sa.func.count(),
            sa.func.min(CaseItemRow.created_at),
            sa.func.max(CaseItemRow.created_at),
        )
        .group_by(CaseItemRow.case_name)
        .order_by(sa.func.max(CaseItemRow.created_at).desc(), CaseItemRow.case_name)
    )
    with sessions(store)() as session:
        return [
            CaseSummary(name, int(n), aware(first), aware(last))
            for name, n, first, last in session.execute(query)
        ]


def case_items(store: Store, name: str, offset: int = 0, limit: int = 200) -> list[QueueItem]:
    """The items of a case, in the queue's order."""
    return queue_items(store, QueueFilter(case=name.strip()), offset, limit)
