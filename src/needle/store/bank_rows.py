"""Bank entries in bulk: how an import writes them and a scan's load reads them.

In: ``BankEntry`` chunks from a streaming import, or a query over a bank's rows. Out: rows
inserted (new ones counted, ones already in the bank skipped by the unique key), or the rows
in chunks from the driver's own cursor. ``needle.store.store.Store`` uses these for
``bank_import``, ``load_bank_columns`` and the lookups behind them.

Digest-keyed types: a ``vpdq`` value (a whole video's frame hashes, kilobytes) is longer than
the unique key holds, so it is stored with its sha256 in ``value`` and itself in ``payload``
(``_stored``); ``whole_value`` reads it back whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from needle.banks.model import BankEntry
from needle.errors import StoreError
from needle.signals.vpdq_exchange import VPDQ_SIGNAL, vpdq_digest
from needle.store.schema import BankEntryRow, BankRow

__all__ = [
    "DIGEST_KEYED",
    "BankImport",
    "bank_shares",
    "driver_chunks",
    "insert_new_entries",
    "whole_value",
]


#: the columns an import writes, in the order of the SQLite fast path's tuples
_ENTRY_COLUMNS = ("bank_id", "signal_type", "value", "labels", "meta", "payload")

#: signal types whose values are kept whole in ``payload`` and keyed in ``value`` by this
#: digest of them: a vPDQ value runs to kilobytes, more than the unique key holds
DIGEST_KEYED: dict[str, Callable[[str], str]] = {VPDQ_SIGNAL: vpdq_digest}


def _stored(entry: BankEntry) -> tuple[str, str | None]:
    """What ``entry`` is stored as: (``value`` column, ``payload`` column)."""
    digest = DIGEST_KEYED.get(entry.signal_type)
    return (digest(entry.value), entry.value) if digest else (entry.value, None)


def whole_value() -> sa.ColumnElement[str]:
    """A bank entry's value as it was given: the payload of a digest-keyed one."""
    table = BankEntryRow.__table__.c
    return sa.func.coalesce(table.payload, table.value, type_=sa.Text)


class BankImport:
    """One bank's import in progress (``Store.bank_import``): ``add`` inserts a chunk.

    ``added`` counts entries that were new, ``offered`` all given to ``add``; ``created``
    says the bank is new (and, after the block, that it was kept).

    On SQLite a chunk goes to the driver's ``executemany`` as tuples, labels and meta
    already JSON: SQLAlchemy's per-row parameter and JSON processing cost three times the
    insert itself. SQLite sums an executemany's row count, which is then the number of new
    entries; psycopg cannot, so on PostgreSQL the statement returns the ids it inserted.
    """

    def __init__(self, session: Session, insert: sa.Insert, bank_id: int) -> None:
        self._session = session
        self._insert = insert
        self.bank_id = bank_id
        self.created = False
        self.added = 0
        self.offered = 0
        connection = session.connection()
        self._sqlite: str | None = None
        if connection.dialect.name == "sqlite":
            compiled = insert.compile(dialect=connection.dialect, column_keys=list(_ENTRY_COLUMNS))
            assert tuple(compiled.positiontup or ()) == _ENTRY_COLUMNS, compiled.positiontup
            self._sqlite = str(compiled)

    def add(self, entries: Sequence[BankEntry]) -> int:
        """Insert ``entries``, skipping any already in the bank; returns how many were new."""
        if not entries:
            return 0
        connection = self._session.connection()
        if self._sqlite is not None:
            driver = connection.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            try:
                cursor.executemany(self._sqlite, [self._tuple(e) for e in entries])
                new = int(cursor.rowcount)
            finally:
                cursor.close()
        else:
            rows = [
                {
                    "bank_id": self.bank_id,
                    "signal_type": e.signal_type,
                    "value": value,
                    "labels": list(e.labels),
                    "meta": dict(e.meta),
                    "payload": payload,
                }
                for e in entries
                for value, payload in (_stored(e),)
            ]
            new = len(self._session.connection().execute(self._insert, rows).all())
        self.offered += len(entries)
        self.added += new
        return new

    def _tuple(self, entry: BankEntry) -> tuple[object, ...]:
        """One row of the SQLite fast path, in ``_ENTRY_COLUMNS`` order."""
        value, payload = _stored(entry)
        labels = json.dumps(list(entry.labels)) if entry.labels else "[]"
        meta = json.dumps(dict(entry.meta)) if entry.meta else "{}"
        return (self.bank_id, entry.signal_type, value, labels, meta, payload)


def driver_chunks(
    connection: sa.Connection,
    query: sa.Select[tuple[str, str]] | sa.Select[tuple[str]] | sa.Select[tuple[int, str]],
    size: int,
) -> Iterator[list[tuple[str, ...]]]:
    """The rows of ``query``, ``size`` at a time, from the driver's own cursor.

    For the millions of rows of a bank load: SQLAlchemy's row objects cost 2-3x the read
    itself. PostgreSQL gets a server-side (named) cursor, so the rows are not all fetched
    into the client at once; SQLite's cursor steps through them anyway.
    """
    compiled = query.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name="needle_bank_load")
        params: object = compiled.params
    else:
        cursor = driver.cursor()
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def insert_new_entries(dialect: str) -> sa.Insert:
    """INSERT of bank entries that does nothing for one already in the bank (the unique
    (bank, type, value) key): ``ON CONFLICT DO NOTHING``, which SQLite and PostgreSQL share."""
    table = BankEntryRow.__table__
    assert isinstance(table, sa.Table)
    if dialect == "postgresql":
        return (
            postgresql.insert(table)
            .on_conflict_do_nothing(index_elements=["bank_id", "signal_type", "value"])
            .returning(table.c.id)
        )
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=["bank_id", "signal_type", "value"]
        )
    raise StoreError(f"banks need SQLite or PostgreSQL, not {dialect}")


def bank_shares(row: BankRow) -> tuple[float, float]:
    """A bank row's two video shares (``Bank.vpdq_query_percent``, ``vpdq_compared_percent``)."""
    return float(row.vpdq_query_percent), float(row.vpdq_compared_percent)
