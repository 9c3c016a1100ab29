"""The review queue and one item of it, read from the store.

**What is in the queue**: file records worth a person's time: those with a priority other than
``none`` (a bank match, a classifier, a score rule or the text guard raised it), and any record
that has a decision or is grouped into a case, whatever its priority (someone looked at it
already; taking it out of sight would hide their work). Records without a priority (files
that could not be read, stores written before the assessment existed) are only in it when
decided or in a case.

**Order**: priority (critical, high, medium, low, none), then the time the record was stored,
oldest first (what has waited longest goes first), then its id.

**Current decision**: the newest decision of a record (highest id); older ones are its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload, sessionmaker

from needle.jsonvalue import JSONObject, JSONValue
from needle.review.model import (
    PRIORITY_ORDER,
    REASON_KINDS,
    ClassificationView,
    DecisionEntry,
    ItemNotFound,
    QueueFilter,
    QueueItem,
    ReasonView,
    ReviewError,
    ReviewItem,
    ScoreView,
)
from needle.store import Store
from needle.store.record import stored_record
from needle.store.schema import CaseItemRow, DecisionRow, FileRow

__all__ = [
    "OPEN_DECISIONS",
    "adjacent",
    "aware",
    "current_decision",
    "queue_count",
    "queue_items",
    "review_item",
    "sessions",
]

#: decisions that leave an item open: someone else still has to look
OPEN_DECISIONS = ("escalate", "second-review")
_FLAGGED = PRIORITY_ORDER[:-1]


def _rank(table: type[FileRow]) -> sa.Case[int]:
    """0 for critical ... 4 for none (or no priority): the queue's first sort key."""
    return sa.case(
        {p: i for i, p in enumerate(_FLAGGED)}, value=table.priority, else_=len(_FLAGGED)
    )


def sessions(store: Store) -> sessionmaker[Session]:
    return sessionmaker(store.engine, expire_on_commit=False)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def current_decision() -> sa.ScalarSelect[str]:
    """The newest decision of the outer query's file record (a correlated subquery)."""
    return (
        sa.select(DecisionRow.decision)
        .where(DecisionRow.file_id == FileRow.id)
        .order_by(DecisionRow.id.desc())
        .limit(1)
        .correlate(FileRow)
        .scalar_subquery()
    )


def _conditions(wanted: QueueFilter) -> list[sa.ColumnElement[bool]]:
    from needle.review.decisions import DECISIONS

    decided = sa.exists().where(DecisionRow.file_id == FileRow.id)
    grouped = sa.exists().where(CaseItemRow.file_id == FileRow.id)
    where: list[sa.ColumnElement[bool]] = [sa.or_(FileRow.priority.in_(_FLAGGED), decided, grouped)]
    if wanted.job is not None:
        where.append(FileRow.job_id == wanted.job)
    if wanted.priority:
        if wanted.priority not in PRIORITY_ORDER:
            raise ReviewError(f"unknown priority {wanted.priority!r}: {', '.join(PRIORITY_ORDER)}")
        if wanted.priority == "none":
            where.append(sa.or_(FileRow.priority.is_(None), FileRow.priority == "none"))
        else:
            where.append(FileRow.priority == wanted.priority)
    if wanted.reason:
        if wanted.reason not in REASON_KINDS:
            raise ReviewError(f"unknown reason kind {wanted.reason!r}: {', '.join(REASON_KINDS)}")
        if wanted.reason == "match":
            where.append(FileRow.matches.any())
        else:  # the reasons are JSON in `details`, written by json.dumps on both backends
            text = sa.cast(FileRow.details, sa.Text)
            where.append(text.like(f'%"kind": "{wanted.reason}"%'))
    if wanted.decision:
        current = current_decision()
        if wanted.decision == "undecided":
            where.append(~decided)
        elif wanted.decision == "decided":
            where.append(decided)
        elif wanted.decision == "open":
            where.append(sa.or_(~decided, current.in_(OPEN_DECISIONS)))
        elif wanted.decision in DECISIONS:
            where.append(current == wanted.decision)
        else:
            raise ReviewError(
                f"unknown decision filter {wanted.decision!r}: undecided, decided, open, "
                + ", ".join(DECISIONS)
            )
    if wanted.case:
        where.append(
            FileRow.id.in_(
                sa.select(CaseItemRow.file_id).where(CaseItemRow.case_name == wanted.case)
            )
        )
    return where


def _reasons(details: JSONObject) -> list[JSONObject]:
    value = details.get("reasons")
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _queue_item(row: FileRow, decision: str | None) -> QueueItem:
    reasons = _reasons(dict(row.details))
    return QueueItem(
        file_id=row.id,
        job_id=row.job_id,
        path=row.path,
        priority=row.priority or "none",
        reasons=tuple(str(r.get("text", "")) for r in reasons),
        reason_kinds=tuple(sorted({str(r.get("kind", "")) for r in reasons})),
        banks=tuple(sorted({m.bank for m in row.matches})),
        decision=decision,
        created_at=aware(row.created_at),
        format=row.format,
        width=row.width,
        height=row.height,
    )


def queue_items(
    store: Store, wanted: QueueFilter | None = None, offset: int = 0, limit: int = 50
) -> list[QueueItem]:
    """A page of the queue: ``limit`` items from ``offset``, in the queue's order."""
    query = (
        sa.select(FileRow, current_decision())
        .where(*_conditions(wanted or QueueFilter()))
        .order_by(_rank(FileRow), FileRow.created_at, FileRow.id)
        .offset(max(0, offset))
        .limit(max(0, min(limit, 500)))
        .options(selectinload(FileRow.matches))
    )
    with sessions(store)() as session:
        return [_queue_item(row, decision) for row, decision in session.execute(query)]


def queue_count(store: Store, wanted: QueueFilter | None = None) -> int:
    query = (
        sa.select(sa.func.count()).select_from(FileRow).where(*_conditions(wanted or QueueFilter()))
    )
    with sessions(store)() as session:
        return int(session.scalar(query) or 0)


def adjacent(
    store: Store, file_id: int, wanted: QueueFilter | None = None
) -> tuple[int | None, int | None]:
    """The ids before and after ``file_id`` in the queue's order (under ``wanted``); None at
    an end. The item itself need not match the filter (it may just have been decided)."""
    me = sa.orm.aliased(FileRow)
    rank = _rank(FileRow)
    mine = sa.select(_rank(me), me.created_at, me.id).where(me.id == file_id).subquery()
    my_rank, my_time, my_id = mine.c[0], mine.c[1], mine.c[2]
    after = sa.or_(
        rank > my_rank,
        sa.and_(rank == my_rank, FileRow.created_at > my_time),
        sa.and_(rank == my_rank, FileRow.created_at == my_time, FileRow.id > my_id),
    )
    before = sa.or_(
        rank < my_rank,
        sa.and_(rank == my_rank, FileRow.created_at < my_time),
        sa.and_(rank == my_rank, FileRow.created_at == my_time, FileRow.id < my_id),
    )
    where = _conditions(wanted or QueueFilter())
    base = sa.select(FileRow.id).select_from(FileRow).join(mine, sa.true()).where(*where)
    with sessions(store)() as session:
        following = session.scalar(
            base.where(after).order_by(rank, FileRow.created_at, FileRow.id).limit(1)
        )
        preceding = session.scalar(
            base.where(before)
            .order_by(rank.desc(), FileRow.created_at.desc(), FileRow.id.desc())
            .limit(1)
        )
    return preceding, following


def _float(value: JSONValue) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _classification(data: JSONObject) -> ClassificationView:
    scores = data.get("scores")
    thresholds = data.get("thresholds")
    limits: dict[str, float] = {}
    for name, raw in thresholds.items() if isinstance(thresholds, dict) else ():
        if (limit := _float(raw)) is not None:
            limits[str(name)] = limit
    views: list[ScoreView] = []
    for name, raw in scores.items() if isinstance(scores, dict) else ():
        if (value := _float(raw)) is not None:
            views.append(ScoreView(str(name), value, limits.get(str(name))))
    shown = {view.name for view in views}
    faces = data.get("faces")
    unavailable, skipped = data.get("unavailable"), data.get("skipped")
    return ClassificationView(
        classifier=str(data.get("classifier", "")),
        model=str(data.get("model", "")),
        version=str(data.get("version", "")),
        scores=tuple(views),
        thresholds=tuple((name, v) for name, v in limits.items() if name not in shown),
        faces=tuple(f for f in faces if isinstance(f, dict)) if isinstance(faces, list) else (),
        unavailable=str(unavailable) if unavailable else None,
        skipped=str(skipped) if skipped else None,
    )


def _evidence(provenance: JSONObject | None) -> tuple[JSONObject, ...]:
    if provenance is None:
        return ()
    evidence = provenance.get("evidence")
    return tuple(e for e in evidence if isinstance(e, dict)) if isinstance(evidence, list) else ()


def history(session: Session, file_id: int) -> tuple[DecisionEntry, ...]:
    from needle.review.decisions import DECISIONS

    rows = session.scalars(
        sa.select(DecisionRow).where(DecisionRow.file_id == file_id).order_by(DecisionRow.id.desc())
    )
    return tuple(
        DecisionEntry(
            row.decision,
            DECISIONS.get(row.decision, row.decision),
            row.note,
            row.user,
            aware(row.created_at),
            row.classification,
        )
        for row in rows
    )


def review_item(store: Store, file_id: int) -> ReviewItem:
    """One record with everything a reviewer weighs: reasons first, then their evidence."""
    with sessions(store)() as session:
        row = session.scalar(
            sa.select(FileRow).where(FileRow.id == file_id).options(selectinload(FileRow.matches))
        )
        if row is None:
            raise ItemNotFound(f"no item {file_id}")
        record = stored_record(row)
        decisions = history(session, file_id)
        cases = tuple(
            session.scalars(
                sa.select(CaseItemRow.case_name)
                .where(CaseItemRow.file_id == file_id)
                .order_by(CaseItemRow.case_name)
            )
        )
        job_id, created = row.job_id, aware(row.created_at)
    reasons = tuple(
        ReasonView(
            str(r.get("text", "")),
            str(r.get("kind", "")),
            str(r.get("priority", "none")),
            evidence if isinstance(evidence := r.get("evidence"), dict) else {},
        )
        for r in record.reasons
    )
    return ReviewItem(
        file_id=file_id,
        job_id=job_id,
        created_at=created,
        record=record,
        reasons=_by_priority(reasons),
        matches=record.matches,
        classifications=tuple(_classification(c) for c in record.classifications),
        provenance=record.provenance,
        provenance_evidence=_evidence(record.provenance),
        textguard=record.textguard,
        history=decisions,
        cases=cases,
        stage_errors=dict(record.stage_errors),
    )


def _by_priority(reasons: Sequence[ReasonView]) -> tuple[ReasonView, ...]:
    """Strongest reasons first, keeping the assessment's order among equals."""
    rank = {p: i for i, p in enumerate(PRIORITY_ORDER)}
    return tuple(sorted(reasons, key=lambda r: rank.get(r.priority, len(rank))))
