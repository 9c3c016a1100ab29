"""An append-only audit log whose rows form a hash chain.

Each row's ``hash`` is the sha256 of its own fields and of the previous row's hash (the first
row's ``prev_hash`` is 64 zeros). ``seq`` counts rows from 1 with no gaps. So ``verify`` names:
an **edited** row (its hash no longer covers its fields), a **deleted** row (a gap in ``seq``,
or a ``prev_hash`` that is not its predecessor's hash), a **reordered** pair (``seq`` out of
step with the chain), and a **truncated** tail when the caller knows the last hash (an export's
``head``). Writers serialise on ``seq``'s unique key: two appends racing for the same ``seq``
cannot both commit, and the loser retries on the new tail.

What the chain does not stop: someone who can write the database and recompute every hash
after the row they edit. Export the log (``needle audit export``) somewhere else regularly;
``verify --head HASH`` then proves the database still holds that export's history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from needle.errors import AuditError
from needle.jsonvalue import JSONObject
from needle.store.chain import GENESIS, append_at_tail, rows_in_order
from needle.store.schema import AuditRow

__all__ = ["GENESIS", "AuditBreak", "AuditEntry", "AuditLog", "entry_hash"]


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    ip: str
    detail: JSONObject
    prev_hash: str
    hash: str

    def to_dict(self) -> JSONObject:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditBreak:
    """Where the chain is broken: ``seq`` of the first row that does not fit, and how."""

    seq: int
    kind: str  # edited | deleted | reordered | truncated
    message: str


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    target: str,
    ip: str,
    detail: JSONObject,
    prev_hash: str,
) -> str:
    """The hash of one row: canonical JSON of its fields and the previous row's hash."""
    body = json.dumps(
        [
            seq,
            _utc(at).isoformat(timespec="microseconds"),
            actor,
            role,
            action,
            target,
            ip,
            detail,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        row.seq,
        _utc(row.at),
        row.actor,
        row.role,
        row.action,
        row.target,
        row.ip,
        dict(row.detail),
        row.prev_hash,
        row.hash,
    )


class AuditLog:
    def __init__(self, engine: sa.Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)

    def append(
        self,
        actor: str,
        role: str,
        action: str,
        target: str = "",
        ip: str = "",
        detail: JSONObject | None = None,
    ) -> AuditEntry:
        """Add one row at the chain's end; raises ``AuditError`` rather than losing it."""
        detail = detail or {}
        actor, role, action, target, ip = actor[:100], role[:20], action[:60], target[:300], ip[:64]

        def build(seq: int, prev: str) -> AuditRow:
            at = datetime.now(UTC)
            return AuditRow(
                seq=seq,
                at=at,
                actor=actor,
                role=role,
                action=action,
                target=target,
                ip=ip,
                detail=detail,
                prev_hash=prev,
                hash=entry_hash(seq, at, actor, role, action, target, ip, detail, prev),
            )

        try:
            return _entry(append_at_tail(self._session, AuditRow, build))
        except sa.exc.IntegrityError as exc:
            raise AuditError(f"could not append to the audit log: {exc}") from None

    def entries(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        action: str | None = None,
        actor: str | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        query = sa.select(AuditRow).where(AuditRow.seq > after)
        if action:
            query = query.where(AuditRow.action == action)
        if actor:
            query = query.where(AuditRow.actor == actor)
        query = query.order_by(AuditRow.seq.desc() if newest_first else AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._session() as session:
            return [_entry(row) for row in session.scalars(query)]

    def _all(self, order: str = "seq") -> Iterator[AuditEntry]:
        """Every row by ``seq`` or by ``id`` (the order rows were written in), a chunk at a
        time: memory stays flat however long the log."""
        column = AuditRow.seq if order == "seq" else AuditRow.id
        return (_entry(row) for row in rows_in_order(self._session, AuditRow, column))

    def verify(self, *, head: str | None = None) -> list[AuditBreak]:
        """Every break in the chain, first first; an empty list means the log is intact.

        Walks the rows by ``seq``: a row whose hash does not cover its fields was **edited**;
        a gap in ``seq``, or a ``prev_hash`` that is not the row before's hash, means rows were
        **deleted** (or replaced). Then by the order they were written in: a row written after
        a row with a higher ``seq`` was **reordered**. ``head``: the last hash of an earlier
        export; the chain must still hold it, else its tail was **truncated**.
        """
        breaks: list[AuditBreak] = []
        expect_seq, prev = 1, GENESIS
        seen_head = head is None
        for entry in self._all("seq"):
            if entry.seq != expect_seq:
                missing = (
                    f"{expect_seq}"
                    if entry.seq == expect_seq + 1
                    else f"{expect_seq}-{entry.seq - 1}"
                )
                breaks.append(
                    AuditBreak(
                        entry.seq, "deleted", f"row(s) {missing} missing before row {entry.seq}"
                    )
                )
            elif entry.prev_hash != prev:
                breaks.append(
                    AuditBreak(
                        entry.seq,
                        "deleted",
                        f"row {entry.seq} does not follow the row before it (a row was removed or replaced)",
                    )
                )
            recomputed = entry_hash(
                entry.seq,
                entry.at,
                entry.actor,
                entry.role,
                entry.action,
                entry.target,
                entry.ip,
                entry.detail,
                entry.prev_hash,
            )
            if recomputed != entry.hash:
                breaks.append(
                    AuditBreak(
                        entry.seq, "edited", f"row {entry.seq} was changed after it was written"
                    )
                )
            if entry.hash == head:
                seen_head = True
            expect_seq, prev = entry.seq + 1, entry.hash
        highest = 0
        for entry in self._all("id"):
            if entry.seq < highest:
                breaks.append(
                    AuditBreak(
                        entry.seq, "reordered", f"row {entry.seq} was written after row {highest}"
                    )
                )
            highest = max(highest, entry.seq)
        if not seen_head:
            breaks.append(
                AuditBreak(
                    expect_seq,
                    "truncated",
                    f"the chain no longer holds {head}: rows after an earlier export were removed",
                )
            )
        return breaks

    def export_jsonl(self, out: IO[str]) -> str:
        """Write every row as JSON lines; returns the last hash (the export's ``head``)."""
        head = GENESIS
        for entry in self._all("seq"):
            out.write(json.dumps(entry.to_dict(), sort_keys=True) + "\n")
            head = entry.hash
        return head
