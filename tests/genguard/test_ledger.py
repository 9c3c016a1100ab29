"""The generation ledger: signed, hash-chained entries. Untouched it verifies; an edited,
deleted, inserted, reordered or re-signed entry is each found and named; a checkpoint verifies
with the public key alone and catches a ledger rewritten (even with the real key) or cut short.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from conftest import run_cli
from needle.errors import ConfigError, LedgerError
from needle.genguard import (
    GENESIS,
    Checkpoint,
    Ledger,
    LedgerCheck,
    LedgerRecord,
    Signer,
    generate_key,
    load_signer,
    load_verifier,
    read_export,
    text_digest,
    verify_entries,
)
from needle.genguard.ledger import LedgerEntry, entry_hash
from needle.genguard.ledger import _row as ledger_row
from needle.store import Store
from needle.store.schema import LedgerRow

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def record(i: int, *, account: str = "acct-7", decision: str = "allow") -> LedgerRecord:
    prompt = f"a lighthouse at dusk, study {i}"
    return LedgerRecord(
        request_id=f"req-{i}",
        account=account,
        kind="output" if i % 2 else "prompt",
        decision=decision,
        reasons=("text-guard:clean",),
        prompt_sha256=text_digest(prompt),
        prompt=prompt if i % 3 else None,
        output_sha256=f"{i:064x}" if i % 2 else None,
        pdq=(f"{i:064x}", f"{i + 1:064x}") if i % 2 else (),
        payload=1000 + i if i % 2 else None,
        detail={"steps": i, "model": "fake"},
    )


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def ledger(db_url: str, signer: Signer):  # type: ignore[no-untyped-def]
    with Store(db_url) as store:
        book = Ledger(store.engine)
        for i in range(1, 9):
            book.append(record(i), signer, at=T0 + timedelta(seconds=i))
        yield book, store.engine


def found(check: LedgerCheck) -> list[tuple[int, str]]:
    return [(b.seq, b.kind) for b in check.breaks]


def row_values(engine: sa.Engine, seq: int) -> dict[str, object]:
    with engine.connect() as connection:
        row = connection.execute(sa.select(LedgerRow).where(LedgerRow.seq == seq)).mappings().one()
    return {k: v for k, v in row.items() if k != "id"}


def test_an_untouched_ledger_verifies(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, _ = ledger
    entries = list(book.entries())
    assert [e.seq for e in entries] == list(range(1, 9))
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert {e.key_id for e in entries} == {signer.key_id}
    assert entries[2].record.prompt is None and entries[2].record.prompt_sha256
    assert entries[0].record == record(1)
    check = book.verify(signer.verifier)
    assert check.intact and check.entries == 8


def test_an_edited_entry_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    with engine.begin() as connection:
        connection.execute(
            sa.update(LedgerRow).where(LedgerRow.seq == 4).values(account="someone-else")
        )
    assert found(book.verify(signer.verifier)) == [(4, "edited")]


def test_an_edited_hash_list_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    with engine.begin() as connection:
        connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == 5).values(pdq=[]))
    assert found(book.verify(signer.verifier)) == [(5, "edited")]


@pytest.mark.parametrize("renumber", [False, True], ids=["gap", "renumbered"])
def test_a_deleted_entry_is_named(ledger, signer: Signer, renumber: bool) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    with engine.begin() as connection:
        connection.execute(sa.delete(LedgerRow).where(LedgerRow.seq == 3))
        if renumber:  # hide the gap: every later entry moves down one
            for seq in range(4, 9):
                connection.execute(
                    sa.update(LedgerRow).where(LedgerRow.seq == seq).values(seq=seq - 1)
                )
    check = book.verify(signer.verifier)
    assert found(check) == [(3 if renumber else 4, "deleted")]
    assert "removed" in check.breaks[0].message


def test_the_first_entry_deleted_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    with engine.begin() as connection:
        connection.execute(sa.delete(LedgerRow).where(LedgerRow.seq == 1))
    assert found(book.verify(signer.verifier)) == [(2, "deleted")]


def test_an_inserted_entry_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    """Someone without the key makes room after entry 4 and puts an entry there, chained to
    entry 4 and signed with their own key: entry 5 still points to entry 4."""
    book, engine = ledger
    other = Signer.generate()
    four = row_values(engine, 4)
    fake = record(99, account="acct-innocent")
    at = T0 + timedelta(seconds=4.5)
    digest = entry_hash(at, fake, other.key_id, str(four["hash"]))
    with engine.begin() as connection:
        for seq in range(8, 4, -1):
            connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == seq).values(seq=seq + 1))
    entry = LedgerEntry(
        5, at, fake, other.key_id, str(four["hash"]), digest,
        other.sign(b"needle-ledger-entry\x00" + digest.encode()),
    )  # fmt: skip
    with Session(engine) as session, session.begin():
        session.add(ledger_row(entry))
    check = book.verify(signer.verifier)
    assert found(check) == [(5, "inserted")]
    assert "between entries 4 and 6" in check.breaks[0].message


def test_an_entry_appended_without_the_key_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    with Store(str(engine.url.render_as_string(hide_password=False))) as store:
        Ledger(store.engine).append(record(50), Signer.generate())
    check = book.verify(signer.verifier)
    assert found(check) == [(9, "re-signed")]
    assert "another key" in check.breaks[0].message


@pytest.mark.parametrize("how", ["swap-seq", "swap-rows"])
def test_reordered_entries_are_named(ledger, signer: Signer, how: str) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    five, six = row_values(engine, 5), row_values(engine, 6)
    with engine.begin() as connection:
        if how == "swap-seq":  # the rows keep their place in the table; their numbers swap
            connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == 5).values(seq=-5))
            connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == 6).values(seq=5))
            connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == -5).values(seq=6))
        else:  # whole contents swapped, numbers kept: only the chain can tell
            connection.execute(
                sa.update(LedgerRow).where(LedgerRow.seq == 5).values({**six, "seq": -5})
            )
            connection.execute(
                sa.update(LedgerRow).where(LedgerRow.seq == 6).values({**five, "seq": 6})
            )
            connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == -5).values(seq=5))
    check = book.verify(signer.verifier)
    assert found(check) == [(5, "reordered")]


def test_an_entry_edited_and_re_signed_with_another_key_is_named(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    other = Signer.generate()
    six = row_values(engine, 6)
    entry = next(e for e in book.entries() if e.seq == 6)
    changed = LedgerRecord(**{**entry.record.__dict__, "account": "acct-other"})
    digest = entry_hash(entry.at, changed, other.key_id, str(six["prev_hash"]))
    with engine.begin() as connection:
        connection.execute(
            sa.update(LedgerRow)
            .where(LedgerRow.seq == 6)
            .values(
                account="acct-other",
                hash=digest,
                key_id=other.key_id,
                signature=other.sign(b"needle-ledger-entry\x00" + digest.encode()),
            )
        )
    check = book.verify(signer.verifier)
    assert found(check) == [(6, "re-signed")]
    assert other.key_id in check.breaks[0].message and "replaced" in check.breaks[0].message


def test_a_ledger_re_signed_whole_with_another_key_fails_every_entry(
    ledger, signer: Signer
) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    entries = list(book.entries())
    other = Signer.generate()
    with Store(str(engine.url.render_as_string(hide_password=False))) as store:
        with store.engine.begin() as connection:
            connection.execute(sa.delete(LedgerRow))
        copy = Ledger(store.engine)
        for entry in entries:
            copy.append(entry.record, other, at=entry.at)
        assert copy.verify(other.verifier).intact  # consistent in itself ...
    check = book.verify(signer.verifier)  # ... but not signed by the ledger's key
    assert found(check) == [(seq, "re-signed") for seq in range(1, 9)]


def test_a_checkpoint_verifies_with_the_public_key_alone(
    ledger, signer: Signer, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    made = book.checkpoint(signer, at=T0 + timedelta(minutes=5))
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(made.to_dict()))
    held = Checkpoint.read(path)
    public = tmp_path / "ledger.pub"
    public.write_bytes(signer.verifier.pem())
    verifier = load_verifier(public)
    assert held == made and held.count == 8 and held.verified_by(verifier)
    with Store(str(engine.url.render_as_string(hide_password=False))) as store:
        Ledger(store.engine).append(record(9), signer)
    assert book.verify(verifier, checkpoints=[held]).intact  # growing is fine

    forged = Checkpoint(held.key_id, held.count, held.head, held.at, Signer.generate().sign(b"x"))
    with pytest.raises(LedgerError, match="not signed by key"):
        book.verify(verifier, checkpoints=[forged])


def test_a_checkpoint_catches_a_rewrite_made_with_the_real_key(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    """The key holder rewrites history (entry 3's account) and re-signs everything after it:
    the chain is consistent again, but not the one the third party's checkpoint holds."""
    book, engine = ledger
    held = book.checkpoint(signer)
    entries = list(book.entries())
    with Store(str(engine.url.render_as_string(hide_password=False))) as store:
        with store.engine.begin() as connection:
            connection.execute(sa.delete(LedgerRow))
        copy = Ledger(store.engine)
        for entry in entries:
            changed = entry.record
            if entry.seq == 3:
                changed = LedgerRecord(**{**changed.__dict__, "account": "acct-scapegoat"})
            copy.append(changed, signer, at=entry.at)
    assert book.verify(signer.verifier).intact
    check = book.verify(signer.verifier, checkpoints=[held])
    assert found(check) == [(8, "rewritten")]


def test_a_checkpoint_catches_a_truncated_ledger(ledger, signer: Signer) -> None:  # type: ignore[no-untyped-def]
    book, engine = ledger
    held = book.checkpoint(signer)
    with engine.begin() as connection:
        connection.execute(sa.delete(LedgerRow).where(LedgerRow.seq >= 7))
    assert book.verify(signer.verifier).intact  # nothing inside the chain shows it ...
    assert found(book.verify(signer.verifier, checkpoints=[held])) == [(7, "truncated")]


def test_concurrent_appends_keep_one_chain(db_url: str, signer: Signer) -> None:
    with Store(db_url) as store:
        book = Ledger(store.engine)
        errors: list[BaseException] = []

        def work(base: int) -> None:
            try:
                for i in range(10):
                    book.append(record(base + i), signer)
            except BaseException as exc:  # pragma: no cover - the assertion reports it
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert book.count() == 40
        assert book.verify(signer.verifier).intact


def test_records_are_checked() -> None:
    with pytest.raises(LedgerError, match="kind"):
        LedgerRecord("r", "a", "upload", "allow")
    with pytest.raises(LedgerError, match="decision"):
        LedgerRecord("r", "a", "prompt", "maybe")
    with pytest.raises(LedgerError, match="at most"):
        LedgerRecord("r" * 101, "a", "prompt", "allow")
    with pytest.raises(LedgerError, match="payload"):
        LedgerRecord("r", "a", "output", "allow", payload=-1)


def test_keys_are_written_private_and_loaded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ledger.key"
    made = generate_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_signer(path).key_id == made.key_id
    assert load_verifier(tmp_path / "ledger.key.pub").key_id == made.key_id
    assert load_verifier(path).key_id == made.key_id  # the public half of a private key
    with pytest.raises(ConfigError, match="exists already"):
        generate_key(path)
    monkeypatch.setenv("NEEDLE_LEDGER_KEY_FILE", str(path))
    assert load_signer().key_id == made.key_id
    monkeypatch.delenv("NEEDLE_LEDGER_KEY_FILE")
    with pytest.raises(ConfigError, match="keygen"):
        load_signer()
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="not a PEM"):
        load_verifier(tmp_path / "junk.pem")


def test_an_export_verifies_alone_and_shows_an_edit(ledger, signer: Signer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book, _ = ledger
    path = tmp_path / "ledger.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        head = book.export_jsonl(handle)
    entries = list(read_export(path))
    assert entries == list(book.entries()) and entries[-1].hash == head
    assert verify_entries(read_export(path), signer.verifier).intact
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["decision"] = "block"
    lines[1] = json.dumps(edited)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert found(verify_entries(read_export(path), signer.verifier)) == [(2, "edited")]
    path.write_text(lines[0] + "\n{not json\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="line 2"):
        list(read_export(path))


def test_cli_keygen_checkpoint_export_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    key = tmp_path / "ledger.key"
    code, out, _ = run_cli(capsys, "ledger", "keygen", str(key))
    assert code == 0 and key.exists() and "key " in out
    signer = load_signer(key)
    with Store(db) as store:
        book = Ledger(store.engine)
        for i in range(1, 6):
            book.append(record(i), signer)
    checkpoint = tmp_path / "cp.json"
    code, _, err = run_cli(
        capsys, "ledger", "checkpoint", "--key", str(key), "--out", str(checkpoint), "--db", db
    )
    assert code == 0 and "5 entries" in err
    export = tmp_path / "ledger.jsonl"
    assert run_cli(capsys, "ledger", "export", "--out", str(export), "--db", db)[0] == 0
    public = f"{key}.pub"
    code, out, _ = run_cli(
        capsys, "ledger", "verify", "--public-key", public, "--checkpoint", str(checkpoint),
        "--db", db,
    )  # fmt: skip
    assert code == 0 and "intact: 5 entries" in out
    code, out, _ = run_cli(
        capsys, "ledger", "verify", "--public-key", public, "--export", str(export),
        "--checkpoint", str(checkpoint),
    )  # fmt: skip
    assert code == 0 and "intact: 5 entries" in out
    with Store(db) as store, store.engine.begin() as connection:
        connection.execute(sa.update(LedgerRow).where(LedgerRow.seq == 2).values(decision="block"))
    code, _, err = run_cli(capsys, "ledger", "verify", "--public-key", public, "--db", db)
    assert code == 1 and "entry 2: edited" in err
