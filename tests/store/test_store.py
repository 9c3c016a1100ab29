"""One storage suite, run against SQLite and (when NEEDLE_TEST_PG is set) PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import scan_record
from needle.banks.model import BankEntry
from needle.errors import BankError
from needle.match.model import Match
from needle.store import Store
from needle.store.schema import Base

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_migrations_match_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        store.close()


def test_banks_round_trip_and_skip_duplicates(db_url: str) -> None:
    with Store(db_url) as store:
        store.create_bank("known", pdq_threshold=20, description="demo")
        entries = [
            BankEntry("md5", MD5, ("cat-a",), {"MediaID": "7"}),
            BankEntry("pdq", PDQ),
            BankEntry("md5", MD5),  # duplicate
        ]
        assert store.add_entries("known", entries) == 2
        assert store.add_entries("known", entries) == 0
        bank = store.load_bank("known")
        assert bank.pdq_threshold == 20
        assert bank.entries[0] == BankEntry("md5", MD5, ("cat-a",), {"MediaID": "7"})
        (summary,) = store.list_banks()
        assert summary.counts == {"md5": 1, "pdq": 1}
        with pytest.raises(BankError, match="exists already"):
            store.create_bank("known")
        with pytest.raises(BankError, match="no bank named 'other'"):
            store.load_bank("other")
        store.delete_bank("known")
        assert store.bank_names() == []


def test_a_bank_import_creates_the_bank_only_with_an_entry(db_url: str) -> None:
    with Store(db_url) as store:
        with store.bank_import("new", pdq_threshold=12) as batch:
            assert batch.add([]) == 0
        assert not batch.created and not store.has_bank("new")  # nothing added: not kept

        with pytest.raises(RuntimeError), store.bank_import("new") as batch:
            batch.add([BankEntry("md5", MD5)])
            raise RuntimeError("the file turned out unreadable")
        assert not store.has_bank("new")  # an error keeps nothing, the bank included

        with store.bank_import("new", pdq_threshold=12) as batch:
            assert batch.add([BankEntry("md5", MD5), BankEntry("pdq", PDQ)]) == 2
            assert batch.add([BankEntry("md5", MD5, ("again",))]) == 0
        assert batch.created and (batch.added, batch.offered) == (2, 3)
        assert store.load_bank("new").pdq_threshold == 12

        with store.bank_import("new", pdq_threshold=40) as batch:  # all there already
            assert batch.add([BankEntry("pdq", PDQ)]) == 0
        assert not batch.created and store.load_bank("new").pdq_threshold == 40
        assert store.load_bank("new").entries[0].labels == ()  # the first one is kept

        with (
            pytest.raises(BankError, match="no bank named 'other'"),
            store.bank_import("other", create=False),
        ):
            pass
        with (
            pytest.raises(BankError, match="between 0 and 256"),
            store.bank_import("new", pdq_threshold=300),
        ):
            pass


def test_add_entries_streams_chunks_and_counts_across_them(db_url: str) -> None:
    values = [f"{i:032x}" for i in range(25_000)]
    with Store(db_url) as store:
        store.create_bank("big")
        assert store.add_entries("big", (BankEntry("md5", v) for v in values)) == 25_000
        again = (BankEntry("md5", v) for v in [*values[-10:], "f" * 32, "f" * 32])
        assert store.add_entries("big", again) == 1
        assert store.list_banks()[0].counts == {"md5": 25_001}


def test_jobs_resume_and_records_are_unique(db_url: str) -> None:
    with Store(db_url) as store:
        job, resumed = store.open_job(["/evidence"], {"banks": []})
        assert not resumed
        match = Match("known", "pdq", PDQ, 4, 31, "rotate90", ("x",))
        store.add_records(
            job.id,
            [
                scan_record("/evidence/a.jpg", 10, md5=MD5, matches=(match,)),
                scan_record("/evidence/b.jpg", 0, error="empty", error_reason="corrupt"),
            ],
        )
        again, resumed = store.open_job(["/evidence"], {"banks": []})
        assert resumed and again.id == job.id
        assert len(store.done_keys(job.id)) == 2
        # a path the job holds already is left as stored; the rest of the batch is written
        again_a = scan_record("/evidence/a.jpg", 99, matches=(match,))
        assert store.add_records(job.id, [again_a, scan_record("/evidence/c.jpg", 3)]) == 1
        assert len(store.done_keys(job.id)) == 3
        assert [r.size for r in store.iter_records(job.id) if r.path.endswith("a.jpg")] == [10]

        records = list(store.iter_records(job.id, batch=1))
        assert [r.path for r in records] == [
            "/evidence/a.jpg",
            "/evidence/b.jpg",
            "/evidence/c.jpg",
        ]
        assert records[0].matches == (match,)
        assert records[1].to_dict()["error"] == "empty"

        summary = store.summary(job.id)
        assert (summary.files, summary.errors, summary.matched_files) == (3, 1, 1)
        assert summary.matches_by_bank == {"known": 1}
        assert summary.errors_by_reason == {"corrupt": 1}

        store.finish_job(job.id)
        fresh, resumed = store.open_job(["/evidence"], {"banks": []})
        assert not resumed and fresh.id != job.id
        other, resumed = store.open_job(["/evidence"], {"banks": ["known"]})
        assert not resumed and other.id != fresh.id


def test_unicode_and_long_paths(db_url: str) -> None:
    with Store(db_url) as store:
        job, _ = store.open_job(["/e"], {})
        long_path = "/e/" + "d/" * 2000 + "ü.jpg"
        store.add_records(job.id, [scan_record(long_path, 1), scan_record("/e/日本.jpg", 2)])
        assert {r.path for r in store.iter_records(job.id)} == {long_path, "/e/日本.jpg"}


def test_names_that_are_not_utf8_are_stored_escaped_and_kept_apart(db_url: str) -> None:
    raw = "/e/b\udcff.jpg"  # a file name byte 0xff, as os.listdir decodes it
    lookalike = "/e/b\\xff.jpg"  # a name that really is written with a backslash
    with Store(db_url) as store:
        job, _ = store.open_job(["/e"], {})
        assert store.add_records(job.id, [scan_record(raw, 1), scan_record(lookalike, 2)]) == 2
        stored = sorted((r.path, r.size) for r in store.iter_records(job.id))
        assert stored == [("/e/b\\xff.jpg", 1), ("/e/b\\xff.jpg", 2)]
        assert len(store.done_keys(job.id)) == 2
