"""vPDQ entries in the store, on SQLite and (with NEEDLE_TEST_PG) PostgreSQL: keyed by the
digest of their canonical value, given back whole by every read, and a bank holding them
still loads and matches for everything else.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from needle.banks import BankEntry, read_bank_file, write_bank_file
from needle.match import Matcher
from needle.signals.base import Signal
from needle.signals.vpdq import VpdqFeature
from needle.signals.vpdq_exchange import vpdq_digest, vpdq_value
from needle.store import Store
from needle.store.engine import alembic_config, create_engine


def pdq(i: int) -> str:
    return f"{random.Random(i).getrandbits(256):064x}"


def md5(i: int) -> str:
    return hashlib.md5(f"needle-test-{i}".encode()).hexdigest()


def video(seed: int, frames: int) -> str:
    """The canonical value of a made-up video: ``frames`` random frame hashes, 1 s apart."""
    return vpdq_value(VpdqFeature(i, 90, pdq(seed * 100_000 + i), float(i)) for i in range(frames))


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("signal_type,signal,label\n" + "\n".join(rows) + "\n")
    return path


def _cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_import_store_and_load_give_the_canonical_values(db_url: str, tmp_path: Path) -> None:
    long, short = video(1, 1200), video(2, 3)  # about 100 KB, and 250 characters
    lines = "\n".join(f"{i},90,{pdq(200_000 + i)},{i}.000" for i in range(3))  # = short
    path = _csv(
        tmp_path / "videos.csv",
        [
            f"md5,{md5(1)},case-1",
            f"vpdq,{_cell(long)},case-1",
            f"vpdq,{_cell(lines)},case-2",
            f"pdq,{pdq(7)}",
        ],
    )

    with Store(db_url) as store:
        with store.bank_import("known") as batch:
            read = read_bank_file(path, sink=batch.add)
        assert (read.count, batch.added, read.problems) == (4, 4, [])

        entries = store.load_bank("known").entries
        assert [(e.signal_type, e.value, e.labels) for e in entries] == [
            ("md5", md5(1), ("case-1",)),
            ("vpdq", long, ("case-1",)),
            ("vpdq", short, ("case-2",)),
            ("pdq", pdq(7), ()),
        ]

        bank = store.load_bank_columns("known")
        column = bank.entries.columns["vpdq"]  # type: ignore[attr-defined]
        assert not column.is_hex
        assert column.strings(range(len(column))) == [long, short]
        assert list(column.positions) == [1, 2]
        assert bank.entries.columns["md5"].is_hex  # type: ignore[attr-defined]
        assert bank.entries[1] == BankEntry("vpdq", long, ("case-1",))  # labels by lookup
        assert list(bank.entries) == list(entries)

        with store.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT value, payload FROM bank_entry WHERE signal_type = 'vpdq'")
            ).all()
        assert sorted(rows) == sorted([(vpdq_digest(long), long), (vpdq_digest(short), short)])

        with store.bank_import("known") as again:  # the same videos again: nothing new
            read_bank_file(path, sink=again.add)
        assert again.added == 0
        assert store.list_banks()[0].counts == {"md5": 1, "vpdq": 2, "pdq": 1}


def test_a_bank_of_vpdq_only_loads_as_columns(db_url: str) -> None:
    values = [video(i, 2 + i) for i in range(5)]
    with Store(db_url) as store:
        store.create_bank("videos")
        assert store.add_entries("videos", [BankEntry("vpdq", v) for v in values]) == 5
        bank = store.load_bank_columns("videos", chunk=2)
        column = bank.entries.columns["vpdq"]  # type: ignore[attr-defined]
        assert column.strings(range(5)) == values
        assert [e.value for e in bank.entries] == values


def test_export_then_import_round_trips_through_the_store(db_url: str, tmp_path: Path) -> None:
    entries = [
        BankEntry("vpdq", video(1, 40), ("case-1",)),
        BankEntry("sha256", hashlib.sha256(b"needle-test").hexdigest(), ("case-1",)),
        BankEntry("vpdq", video(2, 2)),
    ]
    with Store(db_url) as store:
        store.create_bank("known")
        store.add_entries("known", entries)
        for format, name in (("csv", "out.csv"), ("te-local-file", "out.txt")):
            path = tmp_path / name
            write_bank_file(store.load_bank("known").entries, path, format=format)
            with store.bank_import(f"copy-{format}") as batch:
                read_bank_file(path, format=format, sink=batch.add)
            copy = store.load_bank(f"copy-{format}").entries
            kept = (
                entries if format == "csv" else [BankEntry(e.signal_type, e.value) for e in entries]
            )
            assert list(copy) == kept, format


def test_a_bank_with_vpdq_entries_still_matches_other_signals(db_url: str) -> None:
    with Store(db_url) as store:
        store.create_bank("known")
        store.add_entries(
            "known",
            [BankEntry("vpdq", video(1, 3)), BankEntry("md5", md5(1), ("case-1",))],
        )
        matcher = Matcher([store.load_bank_columns("known")])
        (found,) = matcher.match([Signal("md5", md5(1))])
    assert (found.signal_type, found.value, found.labels) == ("md5", md5(1), ("case-1",))


def test_a_bank_written_before_the_payload_column_upgrades(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0006")
        connection.execute(
            sa.text(
                "INSERT INTO bank (id, name, pdq_threshold, description, created_at) "
                "VALUES (1, 'old', 31, '', '2026-12-01 12:00:00+00:00')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO bank_entry (bank_id, signal_type, value, labels, meta) "
                "VALUES (1, 'md5', :md5, '[\"case-1\"]', '{}')"
            ),
            {"md5": md5(1)},
        )
    engine.dispose()
    with Store(db_url) as store:
        assert store.load_bank("old").entries == [BankEntry("md5", md5(1), ("case-1",))]
        store.add_entries("old", [BankEntry("vpdq", video(1, 2))])
        assert [e.signal_type for e in store.load_bank_columns("old").entries] == ["md5", "vpdq"]
