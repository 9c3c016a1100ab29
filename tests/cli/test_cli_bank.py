"""``needle bank import``: no silent failures, no empty banks, duplicates are fine."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import run_cli
from needle.store import Store


def md5(i: int) -> str:
    return hashlib.md5(f"benign-{i}".encode()).hexdigest()


def test_a_file_with_no_valid_entry_fails_and_creates_no_bank(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "n.db")
    bad = tmp_path / "bad.txt"
    bad.write_text("# signal_type: md5\n" + "".join(f"{md5(i)[:-1]}\n" for i in range(8)))

    code, _, err = run_cli(capsys, "bank", "import", "known", str(bad), "--db", db)

    assert code == 1
    flat = " ".join(err.split())
    assert "nothing imported: no valid entry in 9 lines" in flat
    assert "8 rejected, the first at lines 2, 3, 4, 5, 6" in flat
    assert "md5 must be 32 hex digits, got 31" in flat
    assert "bank 'known' was not created" in flat
    with Store(db) as store:
        assert store.bank_names() == []


def test_an_empty_or_unreadable_file_creates_no_bank(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "n.db")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"value": [')

    code, _, err = run_cli(capsys, "bank", "import", "known", str(empty), "--db", db)
    assert code == 1 and "the file holds no hashes" in " ".join(err.split())
    code, _, err = run_cli(capsys, "bank", "import", "known", str(broken), "-f", "vics", "--db", db)
    assert code == 1 and "invalid JSON at line 1" in " ".join(err.split())
    with Store(db) as store:
        assert store.bank_names() == []


def test_only_duplicates_is_fine_and_said(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "n.db")
    good = tmp_path / "good.txt"
    good.write_text("".join(f"{md5(i)}\n" for i in range(5)))
    bad = tmp_path / "bad.txt"
    bad.write_text("[/zz]\n")  # rich markup in a value is printed, not interpreted

    code, out, err = run_cli(capsys, "bank", "import", "known", str(good), "--db", db)
    assert code == 0 and "5 new" in out and "created bank 'known'" in err
    code, out, err = run_cli(capsys, "bank", "import", "known", str(good), "--db", db)
    assert code == 0 and "0 new, 5 already in the bank" in out
    assert "created" not in err

    # one good file and one bad: the good one is imported, the exit status says one failed
    code, out, err = run_cli(
        capsys, "bank", "import", "known", str(bad), str(good), "--threshold", "20", "--db", db
    )
    assert code == 1 and "bad.txt: nothing imported" in err and "'[/zz]'" in err
    assert "0 new, 5 already in the bank" in out
    with Store(db) as store:
        assert store.load_bank("known").pdq_threshold == 20
        assert store.list_banks()[0].counts == {"md5": 5}
