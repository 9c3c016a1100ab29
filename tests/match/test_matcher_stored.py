"""A bank loaded for a scan (``Store.load_bank_columns``) matches exactly as one loaded whole.

The same store, the same queries: the old path (``load_bank``, a ``BankEntry`` per row) and
the streaming one (arrays, labels looked up after a match) give identical matches, labels
included, and both agree with a brute-force search. Runs on SQLite, and PostgreSQL when set.
"""

from __future__ import annotations

import hashlib

import numpy as np

from match.match_helpers import near, random_hashes
from needle.banks.columns import BankColumns
from needle.banks.model import BankEntry
from needle.match import Matcher
from needle.signals.base import Signal
from needle.signals.pdq import PDQ
from needle.store import Store


def _bank_entries(rng: np.random.Generator) -> list[BankEntry]:
    """2,000 random PDQ hashes, 1,000 in clusters of 10 within 0-20 bits of a centre, and
    1,500 md5/sha1/sha256 digests, interleaved; every third one labelled."""
    pdq = random_hashes(rng, 2000)
    for centre in random_hashes(rng, 100):
        pdq += [near(rng, centre, int(rng.integers(0, 21))) for _ in range(10)]
    exact: list[tuple[str, str]] = []
    for i in range(500):
        data = f"benign-{i}".encode()
        exact += [
            ("md5", hashlib.md5(data).hexdigest()),
            ("sha1", hashlib.sha1(data).hexdigest()),
            ("sha256", hashlib.sha256(data).hexdigest()),
        ]
    pairs = [("pdq", h) for h in dict.fromkeys(pdq)] + exact
    order = rng.permutation(len(pairs))
    return [
        BankEntry(
            pairs[k][0],
            pairs[k][1],
            (f"label-{k}", "shared") if k % 3 == 0 else (),
            {"source": str(k)} if k % 5 == 0 else {},
        )
        for k in order.tolist()
    ]


def _queries(rng: np.random.Generator, entries: list[BankEntry]) -> list[list[Signal]]:
    pdq = [e.value for e in entries if e.signal_type == "pdq"]
    exact = [e for e in entries if e.signal_type != "pdq"]
    batch: list[list[Signal]] = []
    for i in range(300):
        source = pdq[int(rng.integers(0, len(pdq)))]
        signals = [Signal("pdq", near(rng, source, int(rng.integers(0, 40))), 90)]
        if i % 2 == 0:
            e = exact[int(rng.integers(0, len(exact)))]
            signals.append(Signal(e.signal_type, e.value.upper() if i % 4 == 0 else e.value))
        if i % 7 == 0:
            signals.append(Signal("md5", "0" * 32))  # in no bank
        batch.append(signals)
    batch += [[Signal("pdq", h, 90)] for h in random_hashes(rng, 20)]
    return batch


def test_streaming_load_matches_exactly_like_the_old_one(db_url: str) -> None:
    rng = np.random.default_rng(2024)
    entries = _bank_entries(rng)
    pdq = [e for e in entries if e.signal_type == "pdq"]
    second = [BankEntry("pdq", e.value, ("other-bank",)) for e in pdq[:400]]
    with Store(db_url) as store:
        store.create_bank("known", pdq_threshold=31)
        store.create_bank("second", pdq_threshold=20)
        assert store.add_entries("known", entries) == len(entries)
        assert store.add_entries("second", second) == len(second)

        old = [store.load_bank("known"), store.load_bank("second")]
        new = [
            store.load_bank_columns("known", chunk=997),  # chunks that split the types
            store.load_bank_columns("second"),
        ]
        assert isinstance(new[0].entries, BankColumns)
        assert [len(b.entries) for b in new] == [len(entries), len(second)]
        assert (new[1].pdq_threshold, new[1].name) == (20, "second")

        batch = _queries(rng, entries)
        expected = Matcher(old).match_many(batch)
        found = Matcher(new).match_many(batch)

    assert found == expected
    assert sum(map(len, found)) > 300
    by_position = {("known", i): e for i, e in enumerate(entries)} | {
        ("second", i): e for i, e in enumerate(second)
    }
    for signals, matches in zip(batch, found, strict=True):
        for m in matches:
            entry = by_position[m.bank, m.entry_id]  # entry_id: the position in the bank
            assert (m.signal_type, m.value, m.labels) == (
                entry.signal_type,
                entry.value,
                entry.labels,
            )
            query = next(s.value for s in signals if s.type == m.signal_type)
            if m.signal_type == "pdq":
                assert m.distance == PDQ.distance(query, m.value) <= m.threshold
            else:
                assert m.distance == 0 and query.lower() == m.value
    # recall: every bank entry within the threshold of a query is reported (brute force)
    for signals, matches in zip(batch, found, strict=True):
        query = signals[0].value
        reported = {(m.bank, m.entry_id) for m in matches if m.signal_type == "pdq"}
        for (bank, i), e in by_position.items():
            limit = 31 if bank == "known" else 20
            if e.signal_type == "pdq" and PDQ.distance(query, e.value) <= limit:
                assert (bank, i) in reported


def test_stored_columns_give_whole_entries_back(db_url: str) -> None:
    rng = np.random.default_rng(7)
    entries = _bank_entries(rng)[:600]
    with Store(db_url) as store:
        store.create_bank("b")
        store.add_entries("b", entries)
        columns = store.load_bank_columns("b", chunk=64).entries
        assert len(columns) == len(entries)
        assert columns[5] == entries[5] and columns[-1] == entries[-1]
        assert columns[10:13] == entries[10:13]
        assert list(columns) == entries  # labels and meta looked up, a chunk at a time
        assert columns.nbytes < 600 * 64
        store.delete_bank("b")
        # deleted since it was loaded: the values are still there, the labels are gone
        assert columns[0] == BankEntry(entries[0].signal_type, entries[0].value)


def test_an_empty_bank_loads_and_matches_nothing(db_url: str) -> None:
    with Store(db_url) as store:
        store.create_bank("empty")
        bank = store.load_bank_columns("empty")
    assert len(bank.entries) == 0
    assert Matcher([bank]).match([Signal("md5", "0" * 32), Signal("pdq", "0" * 64, 90)]) == []
