"""``needle bank add NAME FILE``: a bank built from images also finds crops of them.

The images are synthesised (``conftest.photo_like``: PDQ sees them as photos); crops are
saved as JPEG and matched as a scan matches them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import photo_like, run_cli
from needle.banks import BankEntry
from needle.match import Matcher
from needle.media import Item
from needle.pipeline.worker import compute_file
from needle.store import Store

PDQ_HEX = "d8f8f0cce0f4e84d0e370a22038f67f0b36e2ed596621e1d33e6b39c4e9c9b22"


def cut(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """``image`` with these fractions of its width and height cut off each side."""
    w, h = image.size
    box = (round(left * w), round(top * h), w - round(right * w), h - round(bottom * h))
    return image.crop(box)


def save_jpeg(image: Image.Image, path: Path, quality: int = 85) -> Path:
    image.save(path, "JPEG", quality=quality)
    return path


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    """Two pictures to list (JPEG and PNG), crops of the first, and an unrelated picture."""
    listed = tmp_path / "listed"
    listed.mkdir()
    found = tmp_path / "found"
    found.mkdir()
    first, second = photo_like(1), photo_like(2)
    out = {
        "first": save_jpeg(first, listed / "first.jpg", quality=92),
        "second": listed / "second.png",
        "centre-10": save_jpeg(cut(first, 0.10, 0.10, 0.10, 0.10), found / "centre-10.jpg"),
        "centre-5": save_jpeg(cut(first, 0.05, 0.05, 0.05, 0.05), found / "centre-5.jpg"),
        "top-10": save_jpeg(cut(first, 0.0, 0.10, 0.0, 0.0), found / "top-10.jpg"),
        "unrelated": save_jpeg(photo_like(3), found / "unrelated.jpg"),
    }
    second.save(out["second"])
    return out


def _add(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, "bank", "add", "known", *args, "--db", db)
    return code, " ".join(out.split()), " ".join(err.split())


def test_files_give_digests_pdq_and_regions_and_crops_match(
    capsys: pytest.CaptureFixture[str], db_url: str, pictures: dict[str, Path]
) -> None:
    code, out, err = _add(capsys, db_url, str(pictures["first"]), str(pictures["second"]))

    assert code == 0, err
    assert f"{pictures['first']}: md5, sha256, pdq + 4 regions: 7 added" in out
    assert "2 files: 14 hashes added to 'known'" in out
    with Store(db_url) as store:
        bank = store.load_bank_columns("known")
        entries = store.load_bank("known").entries
        first = [e for e in entries if e.meta.get("source_file") == "first.jpg"]
        assert [e.signal_type for e in first] == [
            "md5",
            "sha256",
            "pdq",
            "pdq",
            "pdq",
            "pdq",
            "pdq",
        ]
        assert {e.region for e in first} == {
            None,
            "centre 90%",
            "centre 80%",
            "top 90%",
            "bottom 90%",
        }
        sha256 = next(e.value for e in first if e.signal_type == "sha256")
        assert {e.source for e in first} == {sha256}

        matcher = Matcher([bank])  # as a scan loads and matches it (labels come from the store)
        expected = {"centre-10": "centre 80%", "centre-5": "centre 90%", "top-10": "bottom 90%"}
        for name, region in expected.items():
            record = compute_file(Item(str(pictures[name]), 0, fs_path=str(pictures[name])))
            (match,) = matcher.match(record.signals)
            assert (match.transform, match.region, match.signal_type) == ("crop", region, "pdq")
            assert match.distance <= match.threshold
            assert match.to_dict()["region"] == region
        record = compute_file(
            Item(str(pictures["unrelated"]), 0, fs_path=str(pictures["unrelated"]))
        )
        assert matcher.match(record.signals) == []
        # the listed file itself matches its whole-picture entries, not its parts
        record = compute_file(Item(str(pictures["first"]), 0, fs_path=str(pictures["first"])))
        found = matcher.match(record.signals)
        assert {m.signal_type for m in found} == {"md5", "sha256", "pdq"}
        assert all(m.region is None and m.transform in (None, "original") for m in found)


def test_scan_reports_a_crop(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: dict[str, Path]
) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = _add(capsys, db, str(pictures["first"]), "--label", "series-a")
    assert code == 0, err
    jsonl = tmp_path / "out.jsonl"

    code, out, err = run_cli(
        capsys, "scan", str(pictures["centre-10"].parent), "--db", db, "--jsonl", str(jsonl),
        "-w", "0", "--no-classify", "--no-provenance",
    )  # fmt: skip

    assert code == 0, err
    records = {Path(r["path"]).name: r for r in map(json.loads, jsonl.read_text().splitlines())}
    for name in ("centre-10.jpg", "centre-5.jpg", "top-10.jpg"):
        (match,) = records[name]["matches"]
        assert match["transform"] == "crop" and match["labels"] == ["series-a"]
    assert records["unrelated.jpg"]["matches"] == []
    assert "crop" in out


def test_hash_values_still_work_next_to_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: dict[str, Path]
) -> None:
    db = str(tmp_path / "n.db")
    code, out, err = _add(capsys, db, PDQ_HEX, "-t", "pdq", "-l", "series-a")
    assert code == 0, err
    assert "1 added to 'known' (0 were there already)" in out
    assert "created bank 'known'" in err

    code, out, err = _add(capsys, db, PDQ_HEX, str(pictures["second"]), "-t", "pdq")
    assert code == 0, err
    assert "0 added to 'known' (1 were there already)" in out
    assert "1 file: 7 hashes added to 'known'" in out
    with Store(db) as store:
        entries = store.load_bank("known").entries
    assert entries[0] == BankEntry("pdq", PDQ_HEX, ("series-a",), {})

    code, _, err = _add(capsys, db, "not-a-hash-nor-a-file")
    assert code == 3  # a needle error: nothing was added
    assert "'not-a-hash-nor-a-file' is neither a file nor a hash" in err


def test_a_file_that_cannot_be_decoded_fails_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: dict[str, Path]
) -> None:
    db = str(tmp_path / "n.db")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a picture")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")

    code, out, err = _add(capsys, db, str(broken), str(pictures["first"]), str(empty))

    assert code == 1
    assert f"{broken}: " in err and "not added" in err
    assert f"{empty}: the file is empty (0 bytes)" in err
    assert "3 files: 7 hashes added to 'known'; 2 could not be read or decoded" in out
    with Store(db) as store:
        names = {e.meta["source_file"] for e in store.load_bank("known").entries}
    assert names == {"first.jpg"}

    code, out, err = run_cli(capsys, "bank", "add", "other", str(broken), "--db", db)
    assert code == 1 and "nothing added to 'other'" in " ".join(err.split())
    with Store(db) as store:
        assert store.bank_names() == ["known"]  # no empty bank left behind


def test_folder_argument_is_refused_clearly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _add(capsys, str(tmp_path / "n.db"), str(tmp_path))
    assert code == 1 and "a folder, not a regular file" in err


def test_no_regions_and_low_quality(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: dict[str, Path]
) -> None:
    db = str(tmp_path / "n.db")
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 150), (90, 90, 90)).save(flat)

    code, out, err = _add(capsys, db, "--no-regions", str(pictures["first"]), str(flat))

    assert code == 0, err
    assert f"{pictures['first']}: md5, sha256, pdq: 3 added" in out
    assert f"{flat}: md5, sha256: 2 added" in out
    assert f"{flat}: PDQ quality under 50, not added for: whole picture (0)" in err

    code, out, err = _add(capsys, db, str(flat))
    assert "whole picture (0), centre 90% (0), centre 80% (0), top 90% (0)" in err


def test_export_formats_take_the_new_meta(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: dict[str, Path]
) -> None:
    db = str(tmp_path / "n.db")
    _add(capsys, db, str(pictures["first"]))
    formats = ["csv", "text", "te-local-file", "vics", "stopncii", "ncmec"]
    for fmt in formats:
        code, out, err = run_cli(
            capsys, "bank", "export", "known", str(tmp_path / f"out.{fmt}"), "-f", fmt, "--db", db
        )
        assert code == 0, (fmt, err)
    code, out, _ = run_cli(
        capsys, "bank", "export", "known", str(tmp_path / "simple.pdq.te"),
        "-f", "te-simple-csv", "--no-regions", "--db", db,
    )  # fmt: skip
    assert code == 0
    assert "left out 4 PDQ hashes of parts of pictures" in " ".join(out.split())
    assert len((tmp_path / "simple.pdq.te").read_text().strip().splitlines()) == 1
    assert len((tmp_path / "out.text").read_text().split("pdq")) >= 2


def test_real_photo_crops_from_shared_testdata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, testdata: Path
) -> None:
    source = testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"
    db = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = _add(capsys, db, str(source))
    assert code == 0, err
    with Image.open(source) as opened:
        image = opened.convert("RGB")
    with Store(db) as store:  # labels are read from the open store
        matcher = Matcher([store.load_bank_columns("known")])
        for sides, region in (((0.05,) * 4, "centre 90%"), ((0.0, 0.0, 0.0, 0.10), "top 90%")):
            data = io.BytesIO()
            cut(image, *sides).save(data, "JPEG", quality=85)
            record = compute_file(Item("crop.jpg", 0, data=data.getvalue()))
            (match,) = matcher.match(record.signals)
            assert (match.transform, match.region) == ("crop", region)
