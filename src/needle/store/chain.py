"""Tables whose rows form a hash chain (the audit log, the generation ledger): appending at
the tail without forking the chain, and reading every row in order with flat memory.

A chained table has ``id`` (the order rows were written in), ``seq`` (unique, 1, 2, ...) and
``hash`` columns. Writers serialise on ``seq``'s unique key: of two appends racing for the
same place one commits and the other is built again on the new tail. On PostgreSQL they also
queue on a transaction-level advisory lock per table first, so that many writers at once (a
service's workers) never lose a race often enough to run out of retries; SQLite serialises
writers itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from needle.store.schema import AuditRow, LedgerRow

__all__ = ["GENESIS", "append_at_tail", "rows_in_order"]

#: the ``prev_hash`` of a chain's first row
GENESIS = "0" * 64
_RETRIES = 20

#: the chained tables
Chained = TypeVar("Chained", AuditRow, LedgerRow)
#: released when the appending transaction ends, commit or rollback
_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")


def _lock_key(table: type[Chained]) -> int:
    """A stable signed 64-bit advisory-lock key for one chained table."""
    digest = hashlib.sha256(f"needle chain {table.__tablename__}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def append_at_tail(
    sessions: sessionmaker[Session],
    table: type[Chained],
    build: Callable[[int, str], Chained],
) -> Chained:
    """Add ``build(seq, prev_hash)`` after the chain's last row and return it.

    ``build`` is called again for each retry (its row must cover the new tail). Raises the
    last ``IntegrityError`` when every retry lost its race.
    """
    last_error: sa.exc.IntegrityError | None = None
    for _ in range(_RETRIES):
        try:
            with sessions.begin() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(_ADVISORY_LOCK, {"key": _lock_key(table)})
                tail = session.execute(
                    sa.select(table.seq, table.hash).order_by(table.seq.desc()).limit(1)
                ).first()
                seq, prev = (tail[0] + 1, tail[1]) if tail else (1, GENESIS)
                row = build(seq, prev)
                session.add(row)
            return row
        except sa.exc.IntegrityError as exc:  # another writer took this seq: go again
            last_error = exc
    assert last_error is not None
    raise last_error


def rows_in_order(
    sessions: sessionmaker[Session],
    table: type[Chained],
    column: InstrumentedAttribute[int],
    chunk: int = 5000,
) -> Iterator[Chained]:
    """Every row of ``table`` ordered by ``column`` (unique), ``chunk`` rows at a time, each
    chunk read in its own short session: memory stays flat however long the table, and an
    iteration left unfinished holds no connection. Rows come detached, attributes loaded."""
    last: int | None = None
    while True:
        query = sa.select(table, column).order_by(column).limit(chunk)
        if last is not None:
            query = query.where(column > last)
        with sessions() as session:
            rows = list(session.execute(query))
        if not rows:
            return
        last = rows[-1][1]
        yield from (row[0] for row in rows)
