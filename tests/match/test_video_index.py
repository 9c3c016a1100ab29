"""VideoIndex (needle.match.video): many videos' vPDQ in one PDQ index.

Every video here is made with PyAV from ``conftest.synth_image`` pictures (``videos.scene``):
a 60 s "banked" video at 2 frames a second, a new picture every 4 s, and unrelated videos of
other pictures. Copies of the banked video (a cut, a low-bitrate re-encode, half size, a
mirror) are decoded from it, changed and encoded again, then searched among all of them.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("av", reason="vPDQ needs PyAV (pip install 'needle-triage[video]')")

import av

from needle.errors import ConfigError
from needle.match.video import VideoIndex, VideoMatch
from needle.signals.vpdq import VpdqFeature, VpdqHash, hash_video
from needle.signals.vpdq_compare import compare_vpdq
from videos import scene

SIZE = (160, 120)
RATE = 2  # frames a second
SCENE_FRAMES = 8  # a new picture every 4 s
CUT = (50, 70)  # frames of the banked video in the clip: 25.0 s .. 34.5 s


def pictures(first_seed: int, count: int, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """``count`` frames panning across a new synthetic picture every ``SCENE_FRAMES``."""
    return [scene(first_seed + n // SCENE_FRAMES, n, size) for n in range(count)]


def encode(frames: list[np.ndarray], *, bit_rate: int | None = None) -> bytes:
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        for picture in frames:
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def decode(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def features(data: bytes, *, dihedral: bool = False) -> tuple[VpdqFeature, ...]:
    return hash_video(data, seconds_per_hash=0, dihedral=dihedral).vpdq.features


@pytest.fixture(scope="module")
def banked() -> bytes:
    return encode(pictures(1000, 120))


@pytest.fixture(scope="module")
def library(banked: bytes) -> dict[str, tuple[VpdqFeature, ...]]:
    return {
        "banked": features(banked),
        "unrelated-a": features(encode(pictures(2000, 40))),
        "unrelated-b": features(encode(pictures(3000, 40))),
    }


@pytest.fixture(scope="module")
def index(library: dict[str, tuple[VpdqFeature, ...]]) -> VideoIndex:
    return VideoIndex.build(library.items())


@pytest.fixture(scope="module")
def queries(banked: bytes) -> dict[str, tuple[VpdqFeature, ...]]:
    frames = decode(banked)
    half = [
        np.asarray(Image.fromarray(f).resize((80, 60), Image.Resampling.LANCZOS)) for f in frames
    ]
    mirrored = encode([np.ascontiguousarray(f[:, ::-1]) for f in frames])
    # 3 kbit/s, against the banked video's 8 (x264's default quality): 40 % of its size.
    # At 2 kbit/s the hashes drift further (mean distance 28) and 63 % of frames are found.
    low = encode(frames, bit_rate=3_000)
    assert len(low) < len(banked) / 2
    return {
        "cut": features(encode(frames[CUT[0] : CUT[1]])),
        "low-bitrate": features(low),
        "half-size": features(encode(half)),
        "mirrored": features(mirrored, dihedral=True),
        "mirrored-plain": features(mirrored),
        "other": features(encode(pictures(4000, 40))),
    }


def found(index: VideoIndex, query: tuple[VpdqFeature, ...], video_id: str) -> VideoMatch | None:
    return next((m for m in index.search(query) if m.video_id == video_id), None)


def test_index_holds_unique_good_frames(index: VideoIndex, library: dict) -> None:
    assert index.video_ids == ("banked", "unrelated-a", "unrelated-b")
    for video_id, feats in library.items():
        expected = len({f.pdq for f in feats if f.quality >= 50})
        assert index.frames_of(video_id) <= expected  # a low-quality first copy hides one
        assert index.frames_of(video_id) >= 0.9 * len(feats)
    assert len(index) == sum(index.frames_of(v) for v in index.video_ids)


@pytest.mark.parametrize("case", ["cut", "low-bitrate", "half-size"])
def test_copies_are_found(index: VideoIndex, queries: dict, case: str) -> None:
    match = found(index, queries[case], "banked")
    assert match is not None
    assert match.is_match, match
    assert match.query_match_percent >= 80.0
    assert index.search(queries[case])[0].video_id == "banked"
    for other in ("unrelated-a", "unrelated-b"):
        assert found(index, queries[case], other) is None


def test_cut_is_placed_in_the_banked_video(index: VideoIndex, queries: dict) -> None:
    match = found(index, queries["cut"], "banked")
    assert match is not None and match.is_match
    start, end = CUT[0] / RATE, (CUT[1] - 1) / RATE
    assert match.compared_start <= start and match.compared_end >= end
    assert match.compared_start >= start - 4 and match.compared_end <= end + 4  # one scene
    assert match.query_start == 0.0 and match.query_end == pytest.approx(end - start)
    assert match.compared_match_percent < 25.0  # 10 s of 60
    assert match.best_distance <= 10


def test_mirror_is_found_through_dihedral_variants(index: VideoIndex, queries: dict) -> None:
    assert all(len(f.variants) == 8 for f in queries["mirrored"])
    match = found(index, queries["mirrored"], "banked")
    assert match is not None and match.is_match, match
    plain = found(index, queries["mirrored-plain"], "banked")
    assert plain is None or not plain.is_match


@pytest.mark.parametrize("video_id", ["unrelated-a", "unrelated-b"])
def test_unrelated_videos_are_not_the_banked_one(
    index: VideoIndex, library: dict, video_id: str
) -> None:
    results = index.search(library[video_id])
    assert [m.video_id for m in results if m.is_match] == [video_id]
    assert results[0].query_match_percent == 100.0
    assert results[0].compared_match_percent == 100.0
    assert results[0].best_distance == 0


def test_other_pictures_match_nothing(index: VideoIndex, queries: dict) -> None:
    assert not [m for m in index.search(queries["other"]) if m.is_match]


@pytest.mark.parametrize("case", ["cut", "low-bitrate", "half-size", "mirrored-plain", "other"])
def test_same_shares_as_the_pairwise_comparison(
    index: VideoIndex, library: dict, queries: dict, case: str
) -> None:
    results = {m.video_id: m for m in index.search(queries[case])}
    for video_id, feats in library.items():
        pair = compare_vpdq(VpdqHash(queries[case]), VpdqHash(feats))
        match = results.get(video_id)
        if match is None:
            assert pair.query_matched == 0 and pair.compared_matched == 0
            continue
        got = (match.query_matched, match.query_frames, match.compared_matched)
        assert got == (pair.query_matched, pair.query_frames, pair.compared_matched)
        assert match.compared_frames == pair.compared_frames
        assert match.query_match_percent == pair.query_match_percent
        assert match.compared_match_percent == pair.compared_match_percent
        assert match.is_match == pair.is_match


def _random_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _near(value: str, bits: int, rng: random.Random) -> str:
    number = int(value, 16)
    for bit in rng.sample(range(256), bits):
        number ^= 1 << bit
    return f"{number:064x}"


def test_random_hashes_agree_with_the_pairwise_comparison() -> None:
    """Duplicates, low-quality frames, near and far copies: every video's counts equal
    ``compare_vpdq``'s, at several distances and with thresholds that are and are not met."""
    rng = random.Random(7)
    videos: dict[str, list[VpdqFeature]] = {}
    pool = [_random_hex(rng) for _ in range(40)]
    for v in range(6):
        feats = []
        for n in range(30):
            value = rng.choice(pool) if rng.random() < 0.5 else _random_hex(rng)
            value = _near(value, rng.randrange(0, 40), rng)
            feats.append(VpdqFeature(n, rng.choice([20, 60, 100]), value, n / 2))
        feats += feats[:3]  # repeated hashes
        videos[f"v{v}"] = feats
    index = VideoIndex.build(videos.items(), threshold=40)
    query = [
        VpdqFeature(n, rng.choice([40, 90]), _near(rng.choice(pool), rng.randrange(0, 40), rng), n)
        for n in range(25)
    ]
    for distance in (0, 20, 31, 40):
        results = {m.video_id: m for m in index.search(query, distance=distance, query_share=10)}
        for video_id, feats in videos.items():
            pair = compare_vpdq(
                VpdqHash(tuple(query)),
                VpdqHash(tuple(feats)),
                distance_threshold=distance,
                query_match_threshold=10,
            )
            match = results.get(video_id)
            if match is None:
                assert pair.query_matched == 0
                continue
            assert (match.query_matched, match.compared_matched) == (
                pair.query_matched,
                pair.compared_matched,
            )
            assert match.is_match == pair.is_match
            assert match.best_distance <= distance


def test_limits_and_edges() -> None:
    index = VideoIndex.build([("a", [VpdqFeature(0, 100, "f" * 64, 0.0)]), ("empty", [])])
    assert index.frames_of("empty") == 0
    assert index.search([]) == []
    assert index.search([VpdqFeature(0, 10, "f" * 64, 0.0)]) == []  # below the quality floor
    [hit] = index.search([VpdqFeature(0, 100, "f" * 63 + "e", 1.5)])
    assert (hit.video_id, hit.best_distance, hit.is_match) == ("a", 1, True)
    assert hit.to_dict()["query_range"] == [1.5, 1.5]
    with pytest.raises(ConfigError):
        index.search([VpdqFeature(0, 100, "f" * 64, 0.0)], distance=32)
    with pytest.raises(ValueError, match="twice"):
        VideoIndex.build([("a", []), ("a", [])])


def test_dihedral_is_opt_in(banked: bytes) -> None:
    data = encode(decode(banked)[:4])
    plain, turned = features(data), features(data, dihedral=True)
    assert all(f.variants == () for f in plain)
    assert [f.to_text() for f in plain] == [f.to_text() for f in turned]
    assert all(f.variants[0] == ("original", f.pdq) for f in turned)
