"""HMA's vocabulary (its signal and content types, bank names, the shapes of its answers) and
what the HMA-compatible API keeps beyond needle's banks: content ids, bank ratios, renames.

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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

# pydantic (FastAPI's answers) reads a TypedDict from typing_extensions alone before Python 3.12
from typing_extensions import TypedDict

from needle.banks.columns import BankColumns
from needle.errors import BankError, SignalFormatError
from needle.jsonvalue import JSONObject
from needle.match import Matcher
from needle.signals import registry
from needle.store.schema import BankEntryRow, BankRow, SettingRow
from needle.store.store import mark_banks_changed

__all__ = [
    "BANK_NAME",
    "BANK_NAME_MESSAGE",
    "CONTENT_KEY",
    "CONTENT_TYPES",
    "JSON_BODY",
    "METADATA_KEYS",
    "MULTIPART_BODY",
    "SIGNAL_TYPES",
    "AddedContent",
    "BankConfig",
    "BankContent",
    "ByBank",
    "Content",
    "HMAStore",
    "HMAType",
    "Hit",
    "IndexStatus",
    "MatchWithDistance",
    "Message",
    "StoredSignal",
    "index_sizes",
    "looks_like_video",
    "parse_metadata",
    "signal_types_for",
]

# -- HMA's vocabulary: content and signal types, bank names, the JSON shapes of its answers ----


class Message(TypedDict):
    """Every error, as HMA answers them."""

    message: str


#: HMA's content types: the multipart field names and ``content_type=`` values it accepts
CONTENT_TYPES = ("photo", "video")

#: HMA's rule for bank names (its storage refuses others)
BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
BANK_NAME_MESSAGE = "Bank names must be UPPER_WITH_UNDERSCORE"
METADATA_KEYS = frozenset({"content_id", "content_uri", "json"})


@dataclass(frozen=True)
class HMAType:
    """A signal type as HMA names it, the needle type it is, and the content it applies to."""

    name: str
    needle: str
    content: frozenset[str]

    def validate(self, value: object) -> str:
        """``value`` normalised, or ``SignalFormatError`` saying what is wrong with it."""
        if not isinstance(value, str):
            raise SignalFormatError(f"expected a string, not {type(value).__name__}")
        return registry.get(self.needle).validate(value)


SIGNAL_TYPES: dict[str, HMAType] = {
    t.name: t
    for t in (
        HMAType("pdq", "pdq", frozenset({"photo"})),
        HMAType("video_md5", "md5", frozenset({"video"})),
        HMAType("md5", "md5", frozenset({"photo"})),
        HMAType("sha1", "sha1", frozenset(CONTENT_TYPES)),
        HMAType("sha256", "sha256", frozenset(CONTENT_TYPES)),
    )
}


class BankConfig(TypedDict):
    name: str
    matching_enabled_ratio: float


class MatchWithDistance(TypedDict):
    bank_content_id: int
    distance: str


class AddedContent(TypedDict):
    id: int
    signals: dict[str, str]


class BankContent(TypedDict):
    id: int
    disable_until_ts: int
    collab_metadata: dict[str, list[str]]
    original_media_uri: str | None
    bank: BankConfig
    signals: NotRequired[dict[str, str]]


class IndexStatus(TypedDict):
    present: bool
    built_to: int
    size: int


#: one signal type's matches, by bank
ByBank = dict[str, list[MatchWithDistance]]


_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def looks_like_video(data: bytes) -> bool:
    """Container signatures of common video formats (what HMA learns from Content-Type)."""
    head = data[:16]
    if head[4:8] == b"ftyp":  # MP4, MOV, 3GP, but HEIF/AVIF images share the box
        return head[8:12] not in _IMAGE_BRANDS
    return (
        head.startswith((b"\x1a\x45\xdf\xa3", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75"))
        or (head[:4] == b"RIFF" and head[8:11] == b"AVI")
        or (len(data) > 188 and data[0] == 0x47 and data[188] == 0x47)
    )


def index_sizes(matcher: Matcher) -> dict[str, int]:
    """Entries in the index by needle signal type."""
    sizes: dict[str, int] = {}
    for bank in matcher.banks:
        if isinstance(bank.entries, BankColumns):
            for kind, column in bank.entries.columns.items():
                sizes[kind] = sizes.get(kind, 0) + len(column)
        else:
            for entry in bank.entries:
                sizes[entry.signal_type] = sizes.get(entry.signal_type, 0) + 1
    return sizes


def signal_types_for(content_type: str, types: str | None) -> list[HMAType]:
    """The signal types to compute for ``content_type``, narrowed by ``types=`` as HMA does;
    ``ValueError`` with HMA's message for an unknown content type or signal type."""
    if content_type not in CONTENT_TYPES:
        raise ValueError(f"no such content_type: '{content_type}'")
    enabled = {n: t for n, t in SIGNAL_TYPES.items() if content_type in t.content}
    if types is None:
        return list(enabled.values())
    chosen: dict[str, HMAType] = {}
    for name in (part.strip() for part in types.split(",")):
        if not name:
            continue
        if name not in enabled:
            raise ValueError(f"signal type '{name}' doesn't exist or is disabled")
        chosen[name] = enabled[name]
    if not chosen:
        raise ValueError("empty signal type selection")
    return list(chosen.values())


#: OpenAPI request bodies of the routes that read their body themselves (HMA's shapes)
MULTIPART_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "photo": {"type": "string", "format": "binary"},
                        "video": {"type": "string", "format": "binary"},
                    },
                }
            }
        }
    }
}
JSON_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}


def parse_metadata(value: object) -> JSONObject | None:
    """HMA's optional content metadata: an object of content_id, content_uri, json (or its
    JSON text). ``ValueError`` with HMA's message when it is not."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("metadata should be a json object") from None
    if not isinstance(value, dict):
        raise ValueError("metadata should be a json object")
    unexpected = sorted(set(value) - METADATA_KEYS)
    if unexpected:
        raise ValueError(f"Invalid metadata: unexpected keys {', '.join(unexpected)}")
    for key in ("content_id", "content_uri"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise ValueError(f"Invalid metadata: {key} should be a string")
    if value.get("json") is not None and not isinstance(value["json"], dict):
        raise ValueError("Invalid metadata: json should be an object")
    return {str(k): v for k, v in value.items()}


# -- the store -----------------------------------------------------------------------------------


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


class HMAStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
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
            mark_banks_changed(session)

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
                mark_banks_changed(session)
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
                mark_banks_changed(session)
            return len(rows)

    def content_ids(self, hits: Iterable[Hit]) -> dict[Hit, int]:
        """The content id of each matched entry, by (bank, needle type, value); an entry
        deleted since the index was built is left out."""
        wanted = list(dict.fromkeys(hits))
        out: dict[Hit, int] = {}
        if not wanted:
            return out
        with self._engine.connect() as connection:  # Core: no ORM session per lookup
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows = connection.execute(
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
