"""The CLI run in-process against a temporary database: hash, bank, scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import image_bytes, run_cli, synth_image


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "collection"
    root.mkdir()
    original = synth_image(1, (300, 200))
    (root / "a.png").write_bytes(image_bytes(original, "PNG"))
    (root / "a-flipped.jpg").write_bytes(
        image_bytes(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    (root / "other.jpg").write_bytes(image_bytes(synth_image(2, (300, 200))))
    (root / "empty.jpg").write_bytes(b"")
    return root


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scan", "--help")
    assert code == 0
    assert "continues where it stopped" in " ".join(out.split())
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "scan" in out and "bank" in out


def test_hash_json(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "hash", "--json", str(folder / "a.png"), str(folder / "empty.jpg"))
    assert code == 1  # one file could not be decoded
    a, empty = (json.loads(line) for line in out.splitlines())
    assert len(a["pdq"]) == 64 and a["pdq_quality"] >= 50 and len(a["sha256"]) == 64
    assert empty["error_reason"] == "corrupt" and empty["pdq"] is None


def test_bank_import_scan_jsonl_and_export(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    _, out, _ = run(capsys, "hash", "--json", str(folder / "a.png"))
    pdq = json.loads(out)["pdq"]
    bank_file = tmp_path / "bank.csv"
    bank_file.write_text(f"signal_type,signal,label\npdq,{pdq},case-1\nmd5,nothex,bad\n")

    code, out, err = run(capsys, "bank", "import", "known", str(bank_file), "--db", db)
    assert code == 0, err
    assert "1 new" in out and "1 skipped" in out
    assert "line 3" in err  # the bad line is reported with its number

    code, out, _ = run(capsys, "bank", "list", "--db", db)
    assert "known" in out and "pdq 1" in out

    jsonl = tmp_path / "out.jsonl"
    code, out, err = run(capsys, "scan", str(folder), "--db", db, "--jsonl", str(jsonl), "-w", "0")
    assert code == 0, err
    assert "4 files" in out
    records = {Path(r["path"]).name: r for r in map(json.loads, jsonl.read_text().splitlines())}
    assert set(records) == {"a.png", "a-flipped.jpg", "other.jpg", "empty.jpg"}
    for record in records.values():
        for key in (
            "path",
            "size",
            "md5",
            "sha1",
            "sha256",
            "pdq",
            "pdq_quality",
            "matches",
            "error",
        ):
            assert key in record
    assert records["a.png"]["matches"][0]["transform"] == "original"
    flipped = records["a-flipped.jpg"]["matches"]
    assert flipped and flipped[0]["bank"] == "known" and flipped[0]["signal_type"] == "pdq"
    assert flipped[0]["transform"] != "original"
    assert records["other.jpg"]["matches"] == []
    assert records["empty.jpg"]["error"]

    exported = tmp_path / "export.txt"
    code, out, _ = run(
        capsys, "bank", "export", "known", str(exported), "--format", "text", "--db", db
    )
    assert code == 0
    assert pdq in exported.read_text()


def test_scan_errors_are_clear(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "scan", str(tmp_path / "missing"), "--db", str(tmp_path / "n.db"))
    assert code == 3 and "no such file or folder" in err
    code, _, err = run(
        capsys, "scan", str(tmp_path), "--bank", "nope", "--db", str(tmp_path / "n.db")
    )
    assert code == 3 and "no bank named 'nope'" in err
