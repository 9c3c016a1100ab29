"""``needle bank add NAME VIDEO``: a video gives its md5, sha256 and vPDQ as bank entries.

Videos are synthesised (``tests/videos.py``: pans across gradients and rectangles).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from conftest import photo_like, run_cli
from needle.banks import BankEntry
from needle.signals.vpdq import hash_video
from needle.signals.vpdq_exchange import parse_vpdq_value, vpdq_value
from needle.store import Store

pytest.importorskip("av")
from videos import make_video


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """3 s at 10 frames a second, named as if it were a picture: content decides."""
    path = tmp_path / "clip.jpg"
    make_video(frames=30, rate=10, seed=4, path=path)
    return path


def _add(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, "bank", "add", "known", *args, "--db", db)
    return code, " ".join(out.split()), " ".join(err.split())


def test_a_video_gives_md5_sha256_and_vpdq(
    capsys: pytest.CaptureFixture[str], db_url: str, clip: Path
) -> None:
    code, out, err = _add(capsys, db_url, str(clip), "--label", "series-a")

    assert code == 0, err
    assert f"{clip}: md5, sha256, vpdq (30 frame hashes): 3 added" in out  # every frame
    assert "1 file: 3 hashes added to 'known'" in out
    data = clip.read_bytes()
    expected = vpdq_value(hash_video(clip, seconds_per_hash=0).vpdq.features)
    meta = {"source_file": "clip.jpg", "source_sha256": hashlib.sha256(data).hexdigest()}
    with Store(db_url) as store:
        entries = store.load_bank("known").entries
        column = store.load_bank_columns("known").entries.columns["vpdq"]  # type: ignore[attr-defined]
    assert entries == [
        BankEntry("md5", hashlib.md5(data).hexdigest(), ("series-a",), meta),
        BankEntry("sha256", hashlib.sha256(data).hexdigest(), ("series-a",), meta),
        BankEntry("vpdq", expected, ("series-a",), meta),
    ]
    assert column.strings([0]) == [expected]
    assert [f.frame for f in parse_vpdq_value(expected)] == list(range(30))

    code, out, err = _add(capsys, db_url, str(clip))  # again: nothing new
    assert code == 0, err
    assert "3 added (3 were there already)" not in out and "0 added (3 were there already)" in out


def test_a_banked_video_may_keep_fewer_frames(
    capsys: pytest.CaptureFixture[str], db_url: str, clip: Path
) -> None:
    code, out, err = _add(capsys, db_url, str(clip), "--seconds-per-hash", "1")
    assert code == 0, err
    assert "vpdq (3 frame hashes)" in out
    with Store(db_url) as store:
        (entry,) = [e for e in store.load_bank("known").entries if e.signal_type == "vpdq"]
    assert [f.timestamp for f in parse_vpdq_value(entry.value)] == [0.0, 1.0, 2.0]


def test_a_video_and_an_image_in_one_call(
    capsys: pytest.CaptureFixture[str], db_url: str, clip: Path, tmp_path: Path
) -> None:
    picture = tmp_path / "picture.png"
    photo_like(1).save(picture)

    code, out, err = _add(capsys, db_url, str(clip), str(picture), "--no-regions")

    assert code == 0, err
    assert "vpdq (30 frame hashes)" in out and f"{picture}: md5, sha256, pdq: 3 added" in out
    with Store(db_url) as store:
        counts = store.list_banks()[0].counts
    assert counts == {"md5": 2, "sha256": 2, "pdq": 1, "vpdq": 1}


def test_exported_videos_import_into_another_bank(
    capsys: pytest.CaptureFixture[str], db_url: str, clip: Path, tmp_path: Path
) -> None:
    assert _add(capsys, db_url, str(clip))[0] == 0
    for format in ("csv", "te-local-file"):
        path = tmp_path / f"known.{format}.txt"
        code, out, err = run_cli(
            capsys, "bank", "export", "known", str(path), "--format", format, "--db", db_url
        )
        assert code == 0, err
        code, out, err = run_cli(
            capsys, "bank", "import", f"copy-{format}", str(path), "--format", format,
            "--db", db_url,
        )  # fmt: skip
        assert code == 0, err
        assert "3 read, 3 new" in out
        with Store(db_url) as store:
            original = store.load_bank("known").entries
            copy = store.load_bank(f"copy-{format}").entries
        assert [(e.signal_type, e.value) for e in copy] == [
            (e.signal_type, e.value) for e in original
        ]


def test_without_pyav_a_video_is_a_per_file_error_naming_the_extra(
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picture = tmp_path / "picture.png"
    photo_like(2).save(picture)
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed

    code, out, err = _add(capsys, db_url, str(clip), str(picture), "--no-regions")

    assert code == 1
    assert f"{clip}: a video needs the video extra:" in err
    assert "needle-triage[video]" in err and "not added" in err
    assert "2 files: 3 hashes added to 'known'; 1 could not be read or decoded" in out
    with Store(db_url) as store:
        assert "vpdq" not in store.list_banks()[0].counts


def test_a_damaged_video_is_reported_and_nothing_of_it_added(
    capsys: pytest.CaptureFixture[str], db_url: str, clip: Path
) -> None:
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 3])

    code, _, err = _add(capsys, db_url, str(clip))

    assert code == 1
    assert f"{clip}:" in err and "not added" in err
    assert "nothing added to 'known'" in err
