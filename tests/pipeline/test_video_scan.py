"""Videos in scans: found by content, hashed (md5 = HMA's video_md5, vPDQ), matched against
banked videos through the index (a clip cut from a banked video, re-encoded, half size,
mirrored), classified on sampled frames with the frame's time in the reason, stored and
exported with what the container declares, and a hostile video costing only its record."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from conftest import image_bytes, synth_image
from needle.banks.model import Bank, BankEntry
from needle.classify import Classification, Sample
from needle.classify.frames import SCENE_CHANGE_BITS, FramePicker
from needle.media import Item
from needle.pipeline import worker
from needle.pipeline.scan import assess_record, run_scan
from needle.pipeline.worker import ScanOptions, compute_file
from needle.signals.vpdq import hash_video
from needle.signals.vpdq_exchange import vpdq_digest, vpdq_value
from needle.signals.vpdq_signal import VpdqSignal
from needle.store import Store
from videos import make_video, scene


def _video(path: Path, **kwargs: object) -> Path:
    make_video(path=path, **kwargs)  # type: ignore[arg-type]
    return path


def _cut(
    frames: np.ndarray | list[np.ndarray],
    path: Path,
    *,
    size: tuple[int, int],
    rate: int = 10,
    bit_rate: int | None = None,
) -> Path:
    """Encode given RGB frames as an H.264 MP4."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        for rgb in frames:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _scenes(seconds: int, rate: int, size: tuple[int, int], first_seed: int) -> list[np.ndarray]:
    """A video of one-second shots, each of its own synthetic picture, panning."""
    return [scene(first_seed + n // rate, n % rate, size) for n in range(seconds * rate)]


def _bank(*videos: Path, name: str = "videos") -> Bank:
    """A bank of videos as ``needle bank add`` makes it: every frame hashed."""
    from needle.banks.from_media import entries_from_file

    entries = [e for v in videos for e in entries_from_file(v, labels=("known",)).entries]
    return Bank(name, entries)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    folder = tmp_path_factory.mktemp("bank")
    frames = _scenes(60, 5, (320, 240), first_seed=100)
    return _cut(frames, folder / "long.mp4", size=(320, 240), rate=5), frames


def test_a_clip_cut_from_a_banked_video_and_its_edits_are_found(
    long_video: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    banked, frames = long_video
    bank = _bank(banked)
    case = tmp_path / "case"
    case.mkdir()
    clip = frames[20 * 5 + 2 : 30 * 5 + 2]  # 00:00:20.4 - 00:00:30.4: between sampled frames
    half = [f[::2, ::2] for f in clip]
    cases = {
        "clip.mp4": _cut(clip, case / "clip.mp4", size=(320, 240), rate=5),
        "lowrate.mp4": _cut(clip, case / "lowrate.mp4", size=(320, 240), rate=5, bit_rate=60_000),
        "half.mp4": _cut(half, case / "half.mp4", size=(160, 120), rate=5),
        "mirrored.mp4": _cut(
            [f[:, ::-1] for f in clip], case / "mirrored.mp4", size=(320, 240), rate=5
        ),
        "unrelated.mp4": _cut(
            _scenes(10, 5, (320, 240), first_seed=500),
            case / "unrelated.mp4",
            size=(320, 240),
            rate=5,
        ),
    }
    (case / "photo.jpg").write_bytes(image_bytes(synth_image(3)))
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        run_scan([str(case)], store=store, banks=[bank], workers=0)
        job = store.latest_job()
        assert job is not None
        records = {Path(r.path).name: r for r in store.iter_records(job.id)}
    assert set(records) == {*cases, "photo.jpg"}
    for name in ("clip.mp4", "lowrate.mp4", "half.mp4", "mirrored.mp4"):
        record = records[name]
        assert record.priority == "critical", name
        (match,) = record.matches
        assert match.signal_type == "vpdq" and match.bank == "videos"
        (banked_vpdq,) = [e for e in bank.entries if e.signal_type == "vpdq"]
        assert match.value == vpdq_digest(banked_vpdq.value)
        text = record.reasons[0]["text"]
        assert "video matches bank 'videos'" in text, text
        found = record.video["matches"][0]["video"]  # type: ignore[index]
        assert found["query_match_percent"] >= 80
        low, high = found["compared_range"]
        assert 19 <= low <= 21 and 28 <= high <= 30, (name, found)
    mirrored = records["mirrored.mp4"].video["matches"][0]  # type: ignore[index]
    assert mirrored["video"]["query_match_percent"] >= 80
    assert records["unrelated.mp4"].matches == () and records["unrelated.mp4"].priority == "none"
    assert records["photo.jpg"].format == "JPEG"


def test_a_video_record_says_what_the_container_declares(tmp_path: Path) -> None:
    video = _video(tmp_path / "v.bin", frames=40, rate=10, size=(96, 64))  # name says nothing
    record = compute_file(Item(str(video), video.stat().st_size, fs_path=str(video)), ScanOptions())
    assert record.error is None and record.format == "mp4"
    assert (record.width, record.height, record.frames) == (96, 64, 40)
    signal = record.signals["vpdq"]
    assert isinstance(signal, VpdqSignal) and len(signal.features) == 4  # one a second
    assert all(len(f.variants) == 8 for f in signal.features)  # dihedral, for matching only
    assert record.value("md5") == hash_video(str(video)).video_md5
    row = assess_record(record, [])
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        job, _ = store.open_job([str(tmp_path)], {})
        store.add_records(job.id, [row])
        (stored,) = store.iter_records(job.id)
    exported = stored.to_dict()
    video_info = exported["video"]
    assert video_info["codec"] == "h264" and video_info["frame_count"] == 40
    assert video_info["duration"] == pytest.approx(4.0, abs=0.2)
    assert [f["frame"] for f in video_info["vpdq"]] == [0, 10, 20, 30]


class _Fake:
    """A classifier whose explicit score is the frame's mean red level, for injection."""

    name, model, version, stage = "fake", "fake-red", "1", 10

    def __init__(self) -> None:
        self.seen = 0

    def classify(self, batch: Sequence[Sample], prior: object = None) -> list[Classification]:
        self.seen += len(batch)
        out = []
        for sample in batch:
            red = float(np.asarray(sample.image.image)[..., 0].mean()) / 255
            out.append(Classification(self.name, self.model, self.version, {"explicit": red}))
        return out


def test_sampled_frames_are_classified_and_the_reason_cites_the_frame_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate, size = 5, (64, 48)
    frames = [scene(1, n, size) // 4 for n in range(20 * rate)]  # dim: low red
    for n in range(12 * rate, 13 * rate):  # one red shot of another picture at 00:00:12
        frames[n] = scene(2, n, size)
        frames[n][..., 0] = 250
    video = _cut(frames, tmp_path / "v.mp4", size=size, rate=rate)
    fake = _Fake()
    monkeypatch.setattr(worker, "loaded_classifiers", lambda options, load=False: [fake])
    options = ScanOptions(classify=True, video_frames=4)
    record = compute_file(Item(str(video), video.stat().st_size, fs_path=str(video)), options)
    times = sorted({c.frame_time for c in record.classifications})
    assert 2 <= fake.seen <= 8 and len(times) == fake.seen  # bounded by the budget
    assert 12.0 in times  # the scene change was kept
    assessed = assess_record(record, [])
    text = " ".join(r.text for r in assessed.assessment.reasons)
    assert "explicit 0.9" in text and "at 00:00:12" in text, text


def test_the_frame_picker_keeps_a_bounded_even_spread_and_scene_changes() -> None:
    from needle.media.video import DecodedFrame
    from needle.signals.vpdq import VpdqFeature

    picker = FramePicker(4)
    pixels = np.zeros((8, 8, 3), np.uint8)
    for n in range(1000):
        value = "f" * 64 if n in (300, 301) else "0" * 64
        picker.offer(DecodedFrame(n, float(n), pixels), VpdqFeature(n, 100, value, float(n)))
    assert len(picker.spread) <= 4 and picker.kept <= 8
    assert 300 in picker.scenes and 302 in picker.scenes  # changes in, and back out
    assert SCENE_CHANGE_BITS <= 256
    spread = sorted(picker.spread)
    assert spread[0] == 0 and spread[-1] >= 500  # spread over the whole video


def test_hostile_videos_cost_only_their_record(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    good = _video(case / "good.mp4", frames=20)
    (case / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    (case / "text.mp4").write_bytes(b"this is not a video at all\n" * 10)
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        result = run_scan([str(case)], store=store, workers=1)
        records = {Path(r.path).name: r for r in store.iter_records(result.job.id)}
    assert records["good.mp4"].error is None
    assert records["truncated.mp4"].error is not None
    assert records["truncated.mp4"].error_reason == "corrupt"
    assert records["truncated.mp4"].md5 is not None  # the digests survive
    assert records["text.mp4"].error_reason == "unsupported"


def test_the_reviewer_sees_a_video_as_its_first_frame_blurred(tmp_path: Path) -> None:
    from PIL import Image

    from needle.review.media import revealed_image, thumbnail
    from needle.review.model import BlurSettings

    data = make_video(frames=12, size=(160, 120))
    small = Image.open(io.BytesIO(thumbnail(data, BlurSettings())))
    assert small.format == "JPEG" and max(small.size) <= 256
    shown = Image.open(io.BytesIO(revealed_image(data)))
    assert shown.size == (160, 120)


def test_an_animated_gif_is_hashed_and_matched_as_a_video(tmp_path: Path) -> None:
    from PIL import Image

    from needle.signals.animation import animation_features

    pictures = [Image.fromarray(scene(40 + n // 10, n % 10, (96, 72))) for n in range(30)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=100, loop=0)
    data = out.getvalue()
    features = animation_features(data)
    assert [f.frame for f in features] == [0, 10, 20]  # 0.1 s a frame: one a second
    assert [f.timestamp for f in features] == pytest.approx([0.0, 1.0, 2.0])
    (tmp_path / "a.gif").write_bytes(data)
    record = compute_file(Item(str(tmp_path / "a.gif"), len(data), fs_path=str(tmp_path / "a.gif")))
    assert record.format == "GIF" and record.frames == 30 and "pdq" in record.signals
    bank = Bank("videos", [BankEntry("vpdq", vpdq_value(features))])
    from needle.match import Matcher

    (match,) = Matcher([bank]).match(record.signals)
    assert match.signal_type == "vpdq" and match.video is not None
    assert match.video.query_match_percent == 100.0


def test_bank_add_a_video_then_scan_finds_its_clip_end_to_end(
    long_video: tuple[Path, list[np.ndarray]],
    tmp_path: Path,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from conftest import run_cli

    banked, frames = long_video
    case = tmp_path / "case"
    case.mkdir()
    _cut(frames[203:253], case / "clip.mp4", size=(320, 240), rate=5)  # 00:00:40.6, 10 s
    code, out, err = run_cli(capsys, "bank", "add", "hotline", str(banked), "--db", db_url)
    assert code == 0, err
    assert "vpdq (300 frame hashes)" in out  # every frame of the banked copy
    code, out, err = run_cli(
        capsys, "bank", "set", "hotline", "--vpdq-query-percent", "60", "--db", db_url
    )
    assert code == 0 and "60 % of its frames" in out, err
    jsonl = tmp_path / "out.jsonl"
    args = ["scan", str(case), "--db", db_url, "--jsonl", str(jsonl), "--workers", "0"]
    code, out, err = run_cli(capsys, *args, "--no-classify", "-q")
    assert code == 0, err
    (record,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert record["priority"] == "critical" and record["format"] == "mp4"
    (match,) = record["matches"]
    assert match["signal_type"] == "vpdq" and match["bank"] == "hotline"
    found = record["video"]["matches"][0]["video"]
    assert found["query_match_threshold"] == 60.0
    assert 40 <= found["compared_range"][0] <= 41.5
    assert record["video"]["codec"] == "h264" and len(record["video"]["vpdq"]) == 10


def test_a_generator_named_in_the_container_tags_is_provenance(tmp_path: Path) -> None:
    import av

    from needle.provenance.video import tag_findings

    path = tmp_path / "made.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        container.metadata["comment"] = "made with Stable Diffusion"
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p"
        for n in range(10):
            picture = av.VideoFrame.from_ndarray(scene(7, n, (64, 48)), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    options = ScanOptions(provenance=True)
    record = compute_file(Item(str(path), path.stat().st_size, fs_path=str(path)), options)
    assert record.provenance is not None
    (finding,) = [g for g in record.provenance.to_dict()["evidence"] if "Stable" in str(g)]
    assert "container tag 'comment'" in str(finding)
    assert tag_findings({"stream:handler_name": "VideoHandler", "title": "holiday"}) == []
