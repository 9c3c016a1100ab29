"""What the HMA-compatible API keeps beyond needle's banks: content ids, bank ratios, renames.

HMA banks *content* (one photo or video) that holds several signals and has one id; needle
banks *entries*, one (signal type, value) each, unique in their bank. A content is stored here
as the entries of its signals: its id is the row id of its first entry (the *head*), and each
other entry carries the head's id in its meta (``hma_content``). An entry without that key, such
as one from ``needle bank import``, is a content of its own, under its own row id. A signal
already in the bank is not stored twice (the bank's unique key): adding it again joins the
content that holds it, and that content's id is the answer.

An entry added as HMA's ``video_md5`` is stored as needle's ``md5`` (the same digest of the
file's bytes) and remembers the name it was given (``hma_signal_type``). A bank's
``matching_enabled_ratio`` (HMA's per-bank switch; 1.0 unless set) lives in the settings table.
Every write marks the banks changed, so every process serving them rebuilds its index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from needle.errors import BankError
from needle.jsonvalue import JSONObject
from needle.store.schema import BankEntryRow, BankRow, SettingRow
from needle.store.store import BANK_GENERATION

__all__ = ["CONTENT_KEY", "Content", "HMAStore", "Hit", "StoredSignal"]

#: entry meta: the id of the HMA content the entry belongs to (absent on the content's head)
CONTENT_KEY = "hma_content"
#: entry meta: the HMA signal type name the entry was added as, when not needle's own
TYPE_KEY = "hma_signal_type"
#: entry meta (on the head): HMA's ``metadata`` object given when the content was added
METADATA_KEY = "hma_metadata"
#: settings key: {bank name: matching_enabled_ratio} for the banks whose ratio is not 1.0
RATIOS_KEY = "hma_bank_ratios"

_CHUNK = 200


@dataclass(frozen=True)
class StoredSignal:
    """One signal of a content: needle's type, the HMA name it was given, its value."""

    needle_type: str
    name: str
    value: str


#: (bank name, needle signal type, value): a match to find the content of
Hit = tuple[str, str, str]


@dataclass(frozen=True)
class Content:
    id: int
    bank: str
    #: HMA signal type name -> value
    signals: dict[str, str]
    metadata: JSONObject


def _content_of(row_id: int, meta: Mapping[str, object] | None) -> int:
    value = (meta or {}).get(CONTENT_KEY)
    try:
        return int(str(value)) if value is not None else row_id
    except ValueError:
        return row_id


def _mark_changed(session: Session) -> None:
    """What ``Store`` does on its own writes: a new bank generation, noticed by every server."""
    import uuid

    row = session.get(SettingRow, BANK_GENERATION)
    value = {"id": uuid.uuid4().hex}
    if row is None:
        session.add(SettingRow(key=BANK_GENERATION, value=value))
    else:
        row.value = value


class HMAStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)

    # -- bank ratios and renames -----------------------------------------------------------

    def ratios(self) -> dict[str, float]:
        """matching_enabled_ratio by bank name, for the banks not at 1.0."""
        with self._session() as session:
            return self._ratios_in(session)

    @staticmethod
    def _write_ratios(session: Session, ratios: dict[str, float]) -> None:
        row = session.get(SettingRow, RATIOS_KEY)
        value = {k: v for k, v in sorted(ratios.items()) if v != 1.0}
        if row is None:
            session.add(SettingRow(key=RATIOS_KEY, value=value))
        else:
            row.value = value

    @staticmethod
    def _ratios_in(session: Session) -> dict[str, float]:
        row = session.get(SettingRow, RATIOS_KEY)
        if row is None:
            return {}
        return {
            str(k): float(v)
            for k, v in dict(row.value).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }

    def set_ratio(self, bank: str, ratio: float) -> None:
        with self._session.begin() as session:
            ratios = self._ratios_in(session)
            ratios[bank] = ratio
            self._write_ratios(session, ratios)

    def forget_bank(self, bank: str) -> None:
        """Drop a deleted bank's ratio (a new bank of the same name starts at 1.0)."""
        with self._session.begin() as session:
            ratios = self._ratios_in(session)
            if ratios.pop(bank, None) is not None:
                self._write_ratios(session, ratios)

    def rename_bank(self, old: str, new: str) -> None:
        """Rename a bank (its entries stay). ``BankError`` if ``new`` is taken or ``old`` gone.

        Records of past scans keep the name they matched under."""
        with self._session.begin() as session:
            if session.scalar(sa.select(BankRow.id).where(BankRow.name == new)) is not None:
                raise BankError(f"bank {new!r} exists already")
            row = session.scalar(sa.select(BankRow).where(BankRow.name == old))
            if row is None:
                raise BankError(f"no bank named {old!r}")
            row.name = new
            ratios = self._ratios_in(session)
            if old in ratios:
                ratios[new] = ratios.pop(old)
                self._write_ratios(session, ratios)
            _mark_changed(session)

    # -- content -----------------------------------------------------------------------------

    def add_content(
        self, bank: str, signals: Sequence[StoredSignal], metadata: JSONObject | None = None
    ) -> int:
        """Store one content's signals in ``bank``; returns the content's id.

        Signals already in the bank are not stored again: the content is the one holding the
        first of them. Two writers adding the same signal at once: the loser tries again and
        finds the winner's entry."""
        for attempt in range(3):
            try:
                return self._add_content(bank, signals, metadata)
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _add_content(
        self, bank: str, signals: Sequence[StoredSignal], metadata: JSONObject | None
    ) -> int:
        with self._session.begin() as session:
            bank_id = session.scalar(sa.select(BankRow.id).where(BankRow.name == bank))
            if bank_id is None:
                raise BankError(f"no bank named {bank!r}")
            content: int | None = None
            new: list[StoredSignal] = []
            for signal in signals:
                found = session.execute(
                    sa.select(BankEntryRow.id, BankEntryRow.meta).where(
                        BankEntryRow.bank_id == bank_id,
                        BankEntryRow.signal_type == signal.needle_type,
                        BankEntryRow.value == signal.value,
                    )
                ).first()
                if found is None:
                    new.append(signal)
                elif content is None:
                    content = _content_of(found[0], found[1])
            for signal in new:
                meta: dict[str, str] = {}
                if signal.name != signal.needle_type:
                    meta[TYPE_KEY] = signal.name
                if content is not None:
                    meta[CONTENT_KEY] = str(content)
                row = BankEntryRow(
                    bank_id=bank_id,
                    signal_type=signal.needle_type,
                    value=signal.value,
                    labels=[],
                    meta=meta,
                )
                session.add(row)
                session.flush()
                if content is None:
                    content = row.id
            if content is None:
                raise BankError("no signals given")
            if metadata:
                head = session.get(BankEntryRow, content)
                if head is not None and head.bank_id == bank_id:
                    head.meta = {**dict(head.meta), METADATA_KEY: json.dumps(metadata)}
            if new or metadata:
                _mark_changed(session)
            return content

    def _members(self, session: Session, bank_id: int, content_id: int) -> list[BankEntryRow]:
        """The entries of content ``content_id`` in the bank: its head first, or none."""
        head = session.get(BankEntryRow, content_id)
        if head is None or head.bank_id != bank_id or _content_of(head.id, head.meta) != content_id:
            return []
        others = session.scalars(
            sa.select(BankEntryRow)
            .where(
                BankEntryRow.bank_id == bank_id,
                BankEntryRow.id > content_id,
                BankEntryRow.meta[CONTENT_KEY].as_string() == str(content_id),
            )
            .order_by(BankEntryRow.id)
        )
        return [head, *others]

    def content(self, bank: str, content_id: int) -> Content | None:
        with self._session() as session:
            bank_id = session.scalar(sa.select(BankRow.id).where(BankRow.name == bank))
            if bank_id is None:
                return None
            rows = self._members(session, bank_id, content_id)
            if not rows:
                return None
            signals: dict[str, str] = {}
            for row in rows:
                meta = dict(row.meta or {})
                signals.setdefault(str(meta.get(TYPE_KEY, row.signal_type)), row.value)
            metadata: JSONObject = {}
            raw = dict(rows[0].meta or {}).get(METADATA_KEY)
            if isinstance(raw, str):
                try:
                    loaded = json.loads(raw)
                except ValueError:
                    loaded = None
                if isinstance(loaded, dict):
                    metadata = loaded
            return Content(content_id, bank, signals, metadata)

    def remove_content(self, bank: str, content_id: int) -> int:
        """Delete a content's entries; returns how many there were (0: no such content)."""
        with self._session.begin() as session:
            bank_id = session.scalar(sa.select(BankRow.id).where(BankRow.name == bank))
            if bank_id is None:
                raise BankError(f"no bank named {bank!r}")
            rows = self._members(session, bank_id, content_id)
            for row in rows:
                session.delete(row)
            if rows:
                _mark_changed(session)
            return len(rows)

    def content_ids(self, hits: Iterable[Hit]) -> dict[Hit, int]:
        """The content id of each matched entry, by (bank, needle type, value); an entry
        deleted since the index was built is left out."""
        wanted = list(dict.fromkeys(hits))
        out: dict[Hit, int] = {}
        if not wanted:
            return out
        with self._session() as session:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows = session.execute(
                    sa.select(
                        BankRow.name,
                        BankEntryRow.signal_type,
                        BankEntryRow.value,
                        BankEntryRow.id,
                        BankEntryRow.meta,
                    )
                    .join(BankRow, BankRow.id == BankEntryRow.bank_id)
                    .where(
                        sa.or_(
                            *(
                                sa.and_(
                                    BankRow.name == bank,
                                    BankEntryRow.signal_type == kind,
                                    BankEntryRow.value == value,
                                )
                                for bank, kind, value in chunk
                            )
                        )
                    )
                )
                for bank, kind, value, row_id, meta in rows:
                    out[(bank, kind, value)] = _content_of(row_id, meta)
        return out
