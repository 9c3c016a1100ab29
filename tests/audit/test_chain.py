"""The audit log's hash chain: intact when untouched; an edited, deleted or reordered row, or
a truncated tail, is found and named."""

from __future__ import annotations

import io
import itertools
import json
import threading

import pytest
import sqlalchemy as sa

from conftest import run_cli
from needle.audit import GENESIS, AuditLog
from needle.store import Store
from needle.store.schema import AuditRow


@pytest.fixture
def log(db_url: str):  # type: ignore[no-untyped-def]
    with Store(db_url) as store:
        audit = AuditLog(store.engine)
        for i in range(6):
            audit.append(f"user{i % 2}", "reviewer", "view", f"file:{i}", "10.0.0.1", {"n": i})
        yield audit, store.engine


def test_an_untouched_log_verifies(log) -> None:  # type: ignore[no-untyped-def]
    audit, _ = log
    assert audit.verify() == []
    entries = audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_an_edited_row_is_named(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    with engine.begin() as connection:
        connection.execute(
            sa.update(AuditRow).where(AuditRow.seq == 3).values(actor="someone-else")
        )
    breaks = audit.verify()
    assert [(b.seq, b.kind) for b in breaks] == [(3, "edited")]


def test_an_edited_detail_is_named(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    with engine.begin() as connection:
        connection.execute(sa.update(AuditRow).where(AuditRow.seq == 5).values(detail={"n": 99}))
    assert [(b.seq, b.kind) for b in audit.verify()] == [(5, "edited")]


def test_a_deleted_row_is_named(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    with engine.begin() as connection:
        connection.execute(sa.delete(AuditRow).where(AuditRow.seq == 4))
    breaks = audit.verify()
    assert [(b.seq, b.kind) for b in breaks] == [(5, "deleted")]
    assert "4" in breaks[0].message


def test_a_deleted_and_renumbered_row_is_still_found(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    with engine.begin() as connection:  # delete row 2 and close the gap in seq
        connection.execute(sa.delete(AuditRow).where(AuditRow.seq == 2))
        for seq in range(3, 7):
            connection.execute(sa.update(AuditRow).where(AuditRow.seq == seq).values(seq=seq - 1))
    kinds = {b.kind for b in audit.verify()}
    assert "deleted" in kinds and "edited" in kinds


def test_reordered_rows_are_named(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    with engine.begin() as connection:  # swap the stored contents of rows 2 and 3
        rows = {
            r.seq: r
            for r in connection.execute(sa.select(AuditRow).where(AuditRow.seq.in_([2, 3])))
        }
        for seq in (2, 3):  # out of the way of the unique key first
            connection.execute(
                sa.update(AuditRow).where(AuditRow.id == rows[seq].id).values(seq=-seq)
            )
        for seq, other in ((2, 3), (3, 2)):
            source = rows[other]
            connection.execute(
                sa.update(AuditRow)
                .where(AuditRow.id == rows[seq].id)
                .values(
                    seq=source.seq,
                    at=source.at,
                    actor=source.actor,
                    action=source.action,
                    target=source.target,
                    detail=source.detail,
                    prev_hash=source.prev_hash,
                    hash=source.hash,
                )
            )
    breaks = audit.verify()
    assert [(b.seq, b.kind) for b in breaks] == [(2, "reordered")]
    assert "written after row 3" in breaks[0].message


def test_a_truncated_tail_is_found_with_the_exported_head(log) -> None:  # type: ignore[no-untyped-def]
    audit, engine = log
    out = io.StringIO()
    head = audit.export_jsonl(out)
    assert [json.loads(line)["seq"] for line in out.getvalue().splitlines()] == [1, 2, 3, 4, 5, 6]
    assert audit.verify(head=head) == []
    with engine.begin() as connection:
        connection.execute(sa.delete(AuditRow).where(AuditRow.seq == 6))
    assert audit.verify() == []  # without the head, a shorter chain is a valid chain
    assert [b.kind for b in audit.verify(head=head)] == ["truncated"]


def test_concurrent_appends_keep_one_chain(db_url: str) -> None:
    with Store(db_url) as store:
        audit = AuditLog(store.engine)
        threads = [
            threading.Thread(
                target=lambda i=i: [audit.append(f"t{i}", "api", "lookup") for _ in range(10)]
            )
            for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(audit.entries()) == 40
        assert audit.verify() == []


def test_cli_verify_names_the_row(
    log, db_url: str, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _, engine = log
    code, out, _ = run_cli(capsys, "audit", "verify", "--db", db_url)
    assert code == 0 and "intact (6 rows)" in out
    code, _, err = run_cli(
        capsys, "audit", "export", "--db", db_url, "--out", str(tmp_path / "a.jsonl")
    )
    assert code == 0 and err.startswith("head ")
    with engine.begin() as connection:
        connection.execute(sa.update(AuditRow).where(AuditRow.seq == 2).values(target="file:999"))
    code, _, err = run_cli(capsys, "audit", "verify", "--db", db_url)
    assert code == 1 and "row 2: edited" in err
