"""``needle hash`` on videos and ``needle compare``, run in-process on videos made here."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("av", reason="video hashing needs PyAV (pip install 'needle-triage[video]')")

from conftest import image_bytes, photo_like, run_cli, synth_image
from needle.signals.vpdq import VpdqHash
from videos import make_video


@pytest.fixture
def clips(tmp_path: Path) -> dict[str, Path]:
    """Two encodings of one synthetic pan, another pan, and a photo, under neutral names."""
    files = {
        "a": make_video(frames=30, rate=10, seed=11),
        "a-again": make_video(
            frames=30, rate=10, seed=11, codec="mpeg4", fmt="matroska", bit_rate=2_000_000
        ),
        "b": make_video(frames=30, rate=10, seed=12),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.bin"  # no video extension: told by content
        paths[name].write_bytes(data)
    return paths


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_hash_prints_video_md5_and_vpdq_as_json(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path]
) -> None:
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]), "--json")
    assert code == 0
    [record] = _lines(out)
    assert record["kind"] == "video" and record["error"] is None
    assert record["video_md5"] == hashlib.md5(clips["a"].read_bytes()).hexdigest()
    assert (record["codec"], record["width"], record["height"]) == ("h264", 160, 120)
    assert record["frame_count"] == 30 and record["duration"] == pytest.approx(3.0, abs=0.2)
    vpdq = record["vpdq"]
    assert isinstance(vpdq, list)
    assert [f["frame"] for f in vpdq] == [0, 10, 20]
    assert [f["timestamp"] for f in vpdq] == [0.0, 1.0, 2.0]
    assert set(vpdq[0]) == {"frame", "quality", "pdq", "timestamp"}
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]), "--json", "--seconds-per-hash", "0")
    assert len(_lines(out)[0]["vpdq"]) == 30  # type: ignore[arg-type]


def test_hash_summary_and_reference_text(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]))
    assert code == 0
    assert "video_md5" in out and "3 frame hashes (every 1 s)" in out and "h264 160x120" in out
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]), "--vpdq", "--seconds-per-hash", "0")
    assert code == 0
    parsed = VpdqHash.from_text(out)
    assert [f.frame for f in parsed] == list(range(30))
    assert out.splitlines()[1].endswith(",0.100")  # frame 1 of 10 a second, 3 decimals


def test_images_are_hashed_as_before_next_to_videos(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image_bytes(synth_image(4)))
    code, out, _ = run_cli(capsys, "hash", str(photo), str(clips["b"]), "--json")
    assert code == 0
    image, video = _lines(out)
    assert "kind" not in image and image["pdq"] and image["md5"]
    assert video["kind"] == "video" and video["vpdq"]


def test_a_video_inside_an_archive_is_hashed(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    with zipfile.ZipFile(tmp_path / "case.zip", "w") as archive:
        archive.writestr("holiday/clip.mov", clips["a"].read_bytes())
    code, out, _ = run_cli(capsys, "hash", str(tmp_path / "case.zip"), "--json")
    assert code == 0
    [record] = _lines(out)
    assert str(record["path"]).endswith("case.zip!holiday/clip.mov")
    assert record["kind"] == "video" and len(record["vpdq"]) == 3  # type: ignore[arg-type]


def test_broken_videos_are_per_file_errors(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    data = clips["a"].read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.mp4").write_bytes(b"not a video at all\n" * 10)
    code, out, _ = run_cli(
        capsys, "hash", str(tmp_path / "cut.mp4"), str(tmp_path / "notes.mp4"), str(clips["b"])
    )
    assert code == 1
    assert "error:" in out and "vpdq" in out  # the good video after the bad ones is hashed
    code, out, _ = run_cli(
        capsys, "hash", str(tmp_path / "cut.mp4"), str(tmp_path / "notes.mp4"), "--json"
    )
    cut, notes = _lines(out)
    assert cut["kind"] == "video" and cut["error_reason"] == "corrupt"
    assert cut["video_md5"] == hashlib.md5(data[: len(data) // 2]).hexdigest()
    assert "kind" not in notes and notes["error_reason"] == "unsupported"  # not a video


def test_without_pyav_a_video_is_an_error_naming_the_extra(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]), "--json")
    assert code == 1
    [record] = _lines(out)
    assert record["error_reason"] == "missing-extra"
    assert "needle-triage[video]" in str(record["error"]) and record["video_md5"]


def test_compare_two_videos(capsys: pytest.CaptureFixture[str], clips: dict[str, Path]) -> None:
    code, out, _ = run_cli(capsys, "compare", str(clips["a"]), str(clips["a-again"]), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["match"] is True and result["query_match_percent"] >= 80
    code, out, _ = run_cli(capsys, "compare", str(clips["a"]), str(clips["b"]))
    assert code == 1
    assert "no match" in out and "0.00 %" in out


def test_compare_the_shared_chair_clips_at_the_defaults(
    capsys: pytest.CaptureFixture[str], testdata: Path
) -> None:
    """The query is hashed a frame a second, the compared video every frame: chair-19, a cut
    of the chair-22 timeline starting between sampled frames, is still found."""
    clips = testdata / "video"
    chair19, sepia = clips / "chair-19-sd-bar.mp4", clips / "chair-22-sd-sepia-bar.mp4"
    for a, b in ((chair19, sepia), (sepia, chair19)):
        code, out, _ = run_cli(capsys, "compare", str(a), str(b), "--json")
        assert code == 0 and json.loads(out)["match"] is True, out
    code, out, _ = run_cli(
        capsys, "compare", str(sepia), str(clips / "doorknob-hd-no-bar.mp4"), "--json"
    )
    assert code == 1 and json.loads(out)["query_match_percent"] == 0.0


def test_compare_vpdq_text_files_and_an_image_against_a_video(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = run_cli(capsys, "hash", str(clips["a"]), "--vpdq", "--seconds-per-hash", "0")
    (tmp_path / "a.txt").write_text(out)
    # the query hashed a frame a second, the other side every frame (as a bank would keep it)
    code, out, _ = run_cli(capsys, "compare", str(clips["a"]), str(tmp_path / "a.txt"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["query_kind"] == "video" and result["compared_kind"] == "vpdq-text"
    assert result["query_match_percent"] == 100.0
    import av

    with av.open(str(clips["a"])) as container:  # one frame of the video, as a still
        first = next(container.decode(video=0)).to_image()
    still = tmp_path / "still.png"
    first.save(still)
    code, out, _ = run_cli(capsys, "compare", str(still), str(clips["a"]), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["query_kind"] == "image" and result["query_match_percent"] == 100.0


def test_compare_two_images_gives_their_pdq_distance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    picture = photo_like(3)
    (tmp_path / "a.jpg").write_bytes(image_bytes(picture))
    (tmp_path / "turned.jpg").write_bytes(image_bytes(picture.rotate(90, expand=True)))
    (tmp_path / "other.jpg").write_bytes(image_bytes(photo_like(4)))
    code, out, _ = run_cli(capsys, "compare", str(tmp_path / "a.jpg"), str(tmp_path / "turned.jpg"))
    assert code == 0
    assert "pdq distance" in out and "closest:" in out and "counter-clockwise" in out
    code, out, _ = run_cli(
        capsys, "compare", str(tmp_path / "a.jpg"), str(tmp_path / "other.jpg"), "--json"
    )
    assert code == 1
    result = json.loads(out)
    assert result["match"] is False and result["pdq_distance"] > 31


def test_compare_refuses_what_it_cannot_read(
    capsys: pytest.CaptureFixture[str], clips: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    code, _, err = run_cli(capsys, "compare", str(tmp_path / "notes.txt"), str(clips["a"]))
    assert code == 3 and "not a video, a vPDQ text file or an image" in err
    code, _, err = run_cli(capsys, "compare", str(tmp_path / "missing.mp4"), str(clips["a"]))
    assert code == 3 and "no such file" in err
