"""The generation ledger: one signed, hash-chained entry per guarded request.

Each entry's ``hash`` is the SHA-256 of its canonical fields, the signing key's id and the
previous entry's hash (``prev_hash``; the first entry's is 64 zeros); its ``signature`` is an
Ed25519 signature of that hash. The chain's order is the order of those links: ``seq`` only
numbers the entries. So :func:`verify_entries`, given the public key alone, names:

- an **edited** entry (its hash no longer covers its fields);
- a **deleted** entry (the next one's ``prev_hash`` points to an entry that is not there);
- an **inserted** entry (the entry after it points past it, to the one before it);
- a **reordered** pair (an entry points to the one that comes after it; or, in the database,
  an entry written after one with a higher ``seq``);
- a **re-signed** entry (its signature does not verify with the ledger's key: written or
  rewritten by someone who does not hold it);
- a **rewritten** or **truncated** ledger, given signed checkpoints: the entry at a
  checkpoint's position must be the one the checkpoint signed, however the rest was re-signed.

Checkpoints (:meth:`Ledger.checkpoint`) sign the entry count and the head hash at a moment;
handed to a third party, they let it prove later, with the public key alone, that the ledger
it is shown still holds that history (:func:`verify_entries` over an export).

The prompt's SHA-256 is always kept; its text only when the caller passes it (the policy's
choice). A digest of a short prompt can be confirmed by someone who guesses the prompt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from needle.errors import LedgerError
from needle.genguard.keys import Signer, Verifier
from needle.jsonvalue import JSONObject
from needle.store.chain import GENESIS, append_at_tail, rows_in_order
from needle.store.schema import LedgerRow

__all__ = [
    "GENESIS",
    "KINDS",
    "AccountActivity",
    "Checkpoint",
    "Ledger",
    "LedgerBreak",
    "LedgerCheck",
    "LedgerEntry",
    "LedgerRecord",
    "entry_hash",
    "read_export",
    "text_digest",
    "verify_entries",
]

#: what an entry records: a prompt checked, an uploaded input image checked, an output checked
#: (and stamped), a training set checked
KINDS = ("prompt", "input", "output", "training-set")
DECISIONS = ("allow", "review", "block")
_ENTRY_DOMAIN = b"needle-ledger-entry\x00"
_CHECKPOINT_DOMAIN = "needle-ledger-checkpoint"


def text_digest(text: str) -> str:
    """SHA-256 of a prompt's UTF-8 text (NFC is the caller's business: the text as sent)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _canonical(body: object) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class LedgerRecord:
    """What a guard step hands the ledger: one request, its decision, what it produced."""

    request_id: str
    account: str
    kind: str
    decision: str
    reasons: tuple[str, ...] = ()
    #: SHA-256 of the prompt (``text_digest``), "" when the step had none
    prompt_sha256: str = ""
    #: the prompt's text, only when the policy keeps prompts
    prompt: str | None = None
    output_sha256: str | None = None
    #: PDQ hashes of the output (whole image first, then its sub-regions), hex
    pdq: tuple[str, ...] = ()
    #: the invisible watermark's payload stamped into the output
    payload: int | None = None
    detail: JSONObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LedgerError(f"unknown ledger entry kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.decision not in DECISIONS:
            raise LedgerError(f"unknown decision {self.decision!r}; one of {', '.join(DECISIONS)}")
        if len(self.request_id) > 100 or len(self.account) > 200:
            raise LedgerError("a request id is at most 100 characters, an account 200")
        if self.payload is not None and not 0 <= self.payload < 2**63:
            raise LedgerError(f"a watermark payload is a number from 0 to 2**63-1: {self.payload}")


@dataclass(frozen=True)
class LedgerEntry:
    """One stored entry: the record, where it sits in the chain, and its signature."""

    seq: int
    at: datetime
    record: LedgerRecord
    key_id: str
    prev_hash: str
    hash: str
    signature: str

    def to_dict(self) -> JSONObject:
        r = self.record
        return {
            "seq": self.seq,
            "at": _utc(self.at).isoformat(timespec="microseconds"),
            "request_id": r.request_id,
            "account": r.account,
            "kind": r.kind,
            "decision": r.decision,
            "reasons": list(r.reasons),
            "prompt_sha256": r.prompt_sha256,
            "prompt": r.prompt,
            "output_sha256": r.output_sha256,
            "pdq": list(r.pdq),
            "payload": r.payload,
            "detail": r.detail,
            "key_id": self.key_id,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "signature": self.signature,
        }


def entry_hash(at: datetime, record: LedgerRecord, key_id: str, prev_hash: str) -> str:
    """The hash an entry's signature covers: its fields, its key and the previous hash."""
    r = record
    body = [
        _utc(at).isoformat(timespec="microseconds"),
        r.request_id,
        r.account,
        r.kind,
        r.decision,
        list(r.reasons),
        r.prompt_sha256,
        r.prompt,
        r.output_sha256,
        list(r.pdq),
        r.payload,
        r.detail,
        key_id,
        prev_hash,
    ]
    return hashlib.sha256(_canonical(body)).hexdigest()


def _signed(hash_hex: str) -> bytes:
    return _ENTRY_DOMAIN + hash_hex.encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the ledger held ``count`` entries ending at ``head`` at ``at``."""

    key_id: str
    count: int
    head: str
    at: datetime
    signature: str

    @staticmethod
    def message(key_id: str, count: int, head: str, at: datetime) -> bytes:
        return _canonical(
            [_CHECKPOINT_DOMAIN, key_id, count, head, _utc(at).isoformat(timespec="microseconds")]
        )

    def verified_by(self, verifier: Verifier) -> bool:
        return self.key_id == verifier.key_id and verifier.verifies(
            self.signature, self.message(self.key_id, self.count, self.head, self.at)
        )

    def to_dict(self) -> JSONObject:
        return {
            "format": _CHECKPOINT_DOMAIN,
            "key_id": self.key_id,
            "count": self.count,
            "head": self.head,
            "at": _utc(self.at).isoformat(timespec="microseconds"),
            "signature": self.signature,
        }

    @classmethod
    def read(cls, path: str | Path) -> Checkpoint:
        """A checkpoint file written by ``needle ledger checkpoint``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != _CHECKPOINT_DOMAIN:
                raise ValueError("not a needle ledger checkpoint")
            return cls(
                str(data["key_id"]),
                int(data["count"]),
                str(data["head"]),
                _utc(datetime.fromisoformat(data["at"])),
                str(data["signature"]),
            )
        except OSError as exc:
            raise LedgerError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LedgerError(f"{path} is not a ledger checkpoint: {exc}") from None


@dataclass(frozen=True)
class LedgerBreak:
    """Where the ledger was tampered with: the entry (``seq``) and how."""

    seq: int
    kind: str  # edited | deleted | inserted | reordered | re-signed | rewritten | truncated
    message: str


@dataclass(frozen=True)
class LedgerCheck:
    """What a verification read and found: ``entries`` read, every ``break`` in order."""

    entries: int
    breaks: tuple[LedgerBreak, ...]

    @property
    def intact(self) -> bool:
        return not self.breaks


#: when one entry shows several symptoms, the one that explains it
_EXPLAINS = {"inserted": {"re-signed", "reordered"}}


def verify_entries(
    entries: Iterable[LedgerEntry],
    verifier: Verifier,
    *,
    checkpoints: Iterable[Checkpoint] = (),
    write_order: Iterable[int] | None = None,
) -> LedgerCheck:
    """Every place the ledger was tampered with, in order (none: intact), and how many
    entries were read.

    ``entries`` in ``seq`` order (read once, a window of three at a time: memory stays flat);
    ``verifier`` is the ledger's public key; ``checkpoints`` must each be signed by it (else
    ``LedgerError``); ``write_order``: the ``seq`` of each entry in the order the database
    wrote them, where it is known.
    """
    marks = _Marks()
    pinned: dict[int, Checkpoint] = {}
    for checkpoint in checkpoints:
        if not checkpoint.verified_by(verifier):
            raise LedgerError(
                f"checkpoint of {checkpoint.count} entries at {checkpoint.at.isoformat()} is not "
                f"signed by key {verifier.key_id} (signed as {checkpoint.key_id})"
            )
        pinned[checkpoint.count] = checkpoint
    before: LedgerEntry | None = None  # the entry two back
    prev: LedgerEntry | None = None
    reordered: set[str] = set()  # hashes of entries already named as out of order
    position = 0
    items = iter(entries)
    current = next(items, None)
    while current is not None:
        following = next(items, None)
        position += 1
        _check_entry(current, verifier, marks)
        _check_link(before, prev, current, following, position, reordered, marks)
        if position in pinned and pinned[position].head != current.hash:
            marks.add(
                current.seq,
                "rewritten",
                f"entry {current.seq} (number {position}) is not the entry the checkpoint of "
                f"{pinned[position].at.isoformat()} signed: the ledger was rewritten up to here",
            )
        before, prev, current = prev, current, following
    for count, checkpoint in sorted(pinned.items()):
        if count > position:
            marks.add(
                prev.seq + 1 if prev else 1,
                "truncated",
                f"the checkpoint of {checkpoint.at.isoformat()} signed {count} entries; "
                f"the ledger holds {position}: entries were removed from its end",
            )
    if write_order is not None:
        highest = 0
        for seq in write_order:
            if seq < highest:
                marks.add(seq, "reordered", f"entry {seq} was written after entry {highest}")
            highest = max(highest, seq)
    return LedgerCheck(position, tuple(marks.result()))


class _Marks:
    def __init__(self) -> None:
        self._found: dict[tuple[int, str], str] = {}

    def add(self, seq: int, kind: str, message: str) -> None:
        self._found.setdefault((seq, kind), message)

    def has(self, seq: int, kind: str) -> bool:
        return (seq, kind) in self._found

    def amend(self, seq: int, kind: str, suffix: str) -> None:
        self._found[(seq, kind)] += suffix

    def result(self) -> list[LedgerBreak]:
        kinds: dict[int, set[str]] = {}
        for seq, kind in self._found:
            kinds.setdefault(seq, set()).add(kind)
        hidden = {
            (seq, weaker)
            for seq, present in kinds.items()
            for kind in present
            for weaker in _EXPLAINS.get(kind, set())
        }
        return [
            LedgerBreak(seq, kind, message)
            for (seq, kind), message in sorted(self._found.items())
            if (seq, kind) not in hidden
        ]


def _check_entry(entry: LedgerEntry, verifier: Verifier, marks: _Marks) -> None:
    if entry_hash(entry.at, entry.record, entry.key_id, entry.prev_hash) != entry.hash:
        marks.add(entry.seq, "edited", f"entry {entry.seq} was changed after it was signed")
    elif not verifier.verifies(entry.signature, _signed(entry.hash)):
        by = (
            f"signed by another key ({entry.key_id})"
            if entry.key_id != verifier.key_id
            else "its signature does not verify"
        )
        marks.add(
            entry.seq,
            "re-signed",
            f"entry {entry.seq} is not signed by the ledger's key {verifier.key_id}: {by}",
        )


def _check_link(
    before: LedgerEntry | None,
    prev: LedgerEntry | None,
    entry: LedgerEntry,
    following: LedgerEntry | None,
    position: int,
    reordered: set[str],
    marks: _Marks,
) -> None:
    if entry.prev_hash == (prev.hash if prev else GENESIS):
        return
    if following is not None and entry.prev_hash == following.hash:
        marks.add(
            entry.seq,
            "reordered",
            f"entry {entry.seq} comes before entry {following.seq}, which it follows",
        )
        reordered.update((entry.hash, following.hash))
    elif entry.prev_hash in reordered or (prev is not None and prev.hash in reordered):
        return  # the other side of a pair already named
    elif prev is not None and before is not None and entry.prev_hash == before.hash:
        marks.add(
            prev.seq,
            "inserted",
            f"entry {prev.seq} was put between entries {before.seq} and {entry.seq}",
        )
    elif prev is not None and marks.has(prev.seq, "re-signed"):
        marks.amend(
            prev.seq, "re-signed", f" (it replaced the entry that entry {entry.seq} follows)"
        )
    elif prev is None:
        marks.add(
            entry.seq,
            "deleted",
            f"entries before entry {entry.seq} were removed (it does not follow the start)",
        )
    else:
        missing = (
            f"entry {prev.seq + 1}"
            if entry.seq == prev.seq + 2
            else f"entries {prev.seq + 1}-{entry.seq - 1}"
            if entry.seq > prev.seq + 2
            else "an entry"
        )
        marks.add(
            entry.seq,
            "deleted",
            f"{missing} removed before entry {entry.seq} (number {position}): it does not "
            f"follow entry {prev.seq}",
        )


def _entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(
        row.seq,
        _utc(row.at),
        LedgerRecord(
            row.request_id,
            row.account,
            row.kind,
            row.decision,
            tuple(row.reasons),
            row.prompt_sha256,
            row.prompt,
            row.output_sha256,
            tuple(row.pdq),
            row.payload,
            dict(row.detail),
        ),
        row.key_id,
        row.prev_hash,
        row.hash,
        row.signature,
    )


def read_export(path: str | Path) -> Iterator[LedgerEntry]:
    """The entries of a ``needle ledger export`` file, one JSON object a line, in order."""
    try:
        with Path(path).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _parse_line(line, f"{path}, line {number}")
    except OSError as exc:
        raise LedgerError(f"cannot read ledger export {path}: {exc.strerror or exc}") from None


def _parse_line(line: bytes, where: str) -> LedgerEntry:
    try:
        data = json.loads(line.decode("utf-8"))
        return LedgerEntry(
            int(data["seq"]),
            _utc(datetime.fromisoformat(data["at"])),
            LedgerRecord(
                str(data["request_id"]),
                str(data["account"]),
                str(data["kind"]),
                str(data["decision"]),
                tuple(str(r) for r in data["reasons"]),
                str(data["prompt_sha256"]),
                None if data["prompt"] is None else str(data["prompt"]),
                None if data["output_sha256"] is None else str(data["output_sha256"]),
                tuple(str(p) for p in data["pdq"]),
                None if data["payload"] is None else int(data["payload"]),
                dict(data["detail"]),
            ),
            str(data["key_id"]),
            str(data["prev_hash"]),
            str(data["hash"]),
            str(data["signature"]),
        )
    except LedgerError as exc:
        raise LedgerError(f"{where}: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LedgerError(f"{where}: not a ledger entry ({exc})") from None


@dataclass(frozen=True)
class AccountActivity:
    """An account's blocked requests in a window: how many, the first and the last."""

    account: str
    blocked: int
    first: datetime
    last: datetime

    def to_dict(self) -> JSONObject:
        return {
            "account": self.account,
            "blocked": self.blocked,
            "first": self.first.isoformat(timespec="seconds"),
            "last": self.last.isoformat(timespec="seconds"),
        }


class Ledger:
    """The ledger in needle's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)

    def append(
        self, record: LedgerRecord, signer: Signer, *, at: datetime | None = None
    ) -> LedgerEntry:
        """Add one signed entry at the chain's end; raises ``LedgerError`` rather than lose it.

        Appends serialise as ``needle.store.chain.append_at_tail`` says: the chain never forks.
        """
        key = signer.key_id
        made: list[LedgerEntry] = []

        def build(seq: int, prev: str) -> LedgerRow:
            moment = _utc(at or datetime.now(UTC))
            digest = entry_hash(moment, record, key, prev)
            made.append(
                LedgerEntry(seq, moment, record, key, prev, digest, signer.sign(_signed(digest)))
            )
            return _row(made[-1])

        try:
            append_at_tail(self._session, LedgerRow, build)
        except sa.exc.IntegrityError as exc:
            raise LedgerError(f"could not append to the ledger: {exc}") from None
        return made[-1]

    def entries(self, *, order: str = "seq") -> Iterator[LedgerEntry]:
        """Every entry by ``seq`` (or by ``id``: the order they were written in), read a chunk
        at a time (``needle.store.chain.rows_in_order``): memory stays flat."""
        column = LedgerRow.seq if order == "seq" else LedgerRow.id
        return (_entry(row) for row in rows_in_order(self._session, LedgerRow, column))

    def _write_order(self, chunk: int = 50_000) -> Iterator[int]:
        last = 0
        while True:
            query = (
                sa.select(LedgerRow.id, LedgerRow.seq)
                .where(LedgerRow.id > last)
                .order_by(LedgerRow.id)
                .limit(chunk)
            )
            with self._session() as session:
                rows = [(row_id, seq) for row_id, seq in session.execute(query)]
            if not rows:
                return
            last = rows[-1][0]
            yield from (seq for _, seq in rows)

    def count(self) -> int:
        with self._session() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(LedgerRow)) or 0)

    def verify(self, verifier: Verifier, *, checkpoints: Iterable[Checkpoint] = ()) -> LedgerCheck:
        """``verify_entries`` over the database, with the order rows were written in."""
        return verify_entries(
            self.entries(), verifier, checkpoints=checkpoints, write_order=self._write_order()
        )

    def checkpoint(self, signer: Signer, *, at: datetime | None = None) -> Checkpoint:
        """A signed statement of the ledger's size and head now (hand it to a third party)."""
        with self._session() as session:
            tail = session.execute(
                sa.select(LedgerRow.seq, LedgerRow.hash).order_by(LedgerRow.seq.desc()).limit(1)
            ).first()
            count = session.scalar(sa.select(sa.func.count()).select_from(LedgerRow)) or 0
        head = tail[1] if tail else GENESIS
        moment = _utc(at or datetime.now(UTC))
        key = signer.key_id
        return Checkpoint(
            key, int(count), head, moment, signer.sign(Checkpoint.message(key, count, head, moment))
        )

    def blocked_count(self, account: str, since: datetime) -> int:
        """Blocked requests by ``account`` recorded at or after ``since``."""
        query = sa.select(sa.func.count(sa.distinct(LedgerRow.request_id))).where(
            LedgerRow.account == account,
            LedgerRow.decision == "block",
            LedgerRow.at >= _utc(since),
        )
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def blocked_accounts(self, since: datetime, at_least: int = 1) -> list[AccountActivity]:
        """Accounts with at least ``at_least`` blocked requests since ``since``, most first."""
        requests = sa.func.count(sa.distinct(LedgerRow.request_id))
        query = (
            sa.select(
                LedgerRow.account, requests, sa.func.min(LedgerRow.at), sa.func.max(LedgerRow.at)
            )
            .where(LedgerRow.decision == "block", LedgerRow.at >= _utc(since))
            .group_by(LedgerRow.account)
            .having(requests >= at_least)
            .order_by(requests.desc(), LedgerRow.account)
        )
        with self._session() as session:
            return [
                AccountActivity(account, int(count), _utc(first), _utc(last))
                for account, count, first, last in session.execute(query)
            ]

    def by_output(
        self, *, sha256: str | None = None, payload: int | None = None
    ) -> list[LedgerEntry]:
        """Entries that recorded an output with this SHA-256 or this watermark payload."""
        if sha256 is None and payload is None:
            return []
        condition = (
            LedgerRow.output_sha256 == sha256
            if sha256 is not None
            else LedgerRow.payload == payload
        )
        with self._session() as session:
            rows = session.scalars(sa.select(LedgerRow).where(condition).order_by(LedgerRow.seq))
            return [_entry(row) for row in rows]

    def by_seq(self, seqs: Iterable[int]) -> list[LedgerEntry]:
        """The entries with these sequence numbers, in ``seq`` order."""
        wanted = sorted(set(seqs))
        found: list[LedgerEntry] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            with self._session() as session:
                rows = session.scalars(sa.select(LedgerRow).where(LedgerRow.seq.in_(chunk)))
                found.extend(_entry(row) for row in rows)
        return sorted(found, key=lambda e: e.seq)

    def output_hashes(
        self, after_seq: int = 0, chunk: int = 50_000
    ) -> Iterator[tuple[int, list[str]]]:
        """``(seq, hashes)`` of every entry with perceptual hashes past ``after_seq``, in order."""
        last = after_seq
        while True:
            query = (
                sa.select(LedgerRow.seq, LedgerRow.pdq)
                .where(LedgerRow.seq > last, LedgerRow.kind == "output")
                .order_by(LedgerRow.seq)
                .limit(chunk)
            )
            with self._session() as session:
                rows = [(int(seq), list(pdq or [])) for seq, pdq in session.execute(query)]
            if not rows:
                return
            last = rows[-1][0]
            yield from rows

    def export_jsonl(self, out: IO[str]) -> str:
        """Write every entry as a JSON line; returns the head hash."""
        head = GENESIS
        for entry in self.entries():
            out.write(json.dumps(entry.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
            head = entry.hash
        return head


def _row(entry: LedgerEntry) -> LedgerRow:
    r = entry.record
    return LedgerRow(
        seq=entry.seq,
        at=entry.at,
        request_id=r.request_id,
        account=r.account,
        kind=r.kind,
        decision=r.decision,
        reasons=list(r.reasons),
        prompt_sha256=r.prompt_sha256,
        prompt=r.prompt,
        output_sha256=r.output_sha256,
        pdq=list(r.pdq),
        payload=r.payload,
        detail=r.detail,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
        key_id=entry.key_id,
        signature=entry.signature,
    )
