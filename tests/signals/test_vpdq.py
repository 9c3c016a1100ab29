"""vPDQ (needle.signals.vpdq) against Meta's reference, its text format, and comparison.

Compatibility is the reference's own criterion for PDQ, per frame: on the sample clips
(../shared/testdata/video, hashed by the reference with every frame: seconds_per_hash 0),
every frame of quality >= 80 within Hamming distance 10, and frame numbers and timestamps
equal. Comparison follows python-threatexchange's brute-force matcher.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("av", reason="vPDQ needs PyAV (pip install 'needle-triage[video]')")

from needle.errors import SignalFormatError
from needle.signals.pdq import PDQ, PDQ_REFERENCE_TOLERANCE
from needle.signals.vpdq import VideoHashes, VpdqFeature, VpdqHash, hash_video
from needle.signals.vpdq_compare import (
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    compare_vpdq,
)
from videos import make_video

CLIPS = [
    "chair-19-sd-bar",
    "chair-22-sd-sepia-bar",
    "chair-orig-22-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-sd-grey-bar",
    "test-padded-dimensions",
]
CHAIRS = [clip for clip in CLIPS if clip.startswith("chair-")]
OTHERS = ["doorknob-hd-no-bar", "pattern-sd-grey-bar"]
#: the reference's tolerance for PDQ (pdq/README), applied to each frame
QUALITY_FOR_TOLERANCE = 80


@pytest.fixture(scope="module")
def clips(testdata: Path) -> Path:
    folder = testdata / "video"
    if not (folder / f"{CLIPS[0]}.mp4").is_file():
        pytest.skip(f"needs the vPDQ sample clips in {folder}")
    return folder


@pytest.fixture(scope="module")
def every_frame(clips: Path) -> dict[str, VideoHashes]:
    """Each sample clip hashed by needle with every frame, as the reference files were."""
    return {clip: hash_video(clips / f"{clip}.mp4", seconds_per_hash=0) for clip in CLIPS}


def _reference(clips: Path, clip: str) -> VpdqHash:
    return VpdqHash.from_text((clips / f"{clip}.vpdq.txt").read_text())


# -- compatibility with the reference ---------------------------------------------------------


@pytest.mark.parametrize("clip", CLIPS)
def test_every_frame_is_within_the_reference_tolerance(
    clip: str, clips: Path, every_frame: dict[str, VideoHashes]
) -> None:
    ours, reference = every_frame[clip].vpdq, _reference(clips, clip)
    assert len(ours) == len(reference)
    assert [f.frame for f in ours] == [f.frame for f in reference]
    assert [f"{f.timestamp:.3f}" for f in ours] == [f"{f.timestamp:.3f}" for f in reference]
    compared = [
        PDQ.distance(a.pdq, b.pdq)
        for a, b in zip(ours, reference, strict=True)
        if b.quality >= QUALITY_FOR_TOLERANCE
    ]
    assert compared, "no frame of quality >= 80 to compare"
    assert max(compared) <= PDQ_REFERENCE_TOLERANCE
    # measured: 6, 4, 6, 4, 6, 2 (docs/video.md); quality within 1 of the reference's
    assert all(abs(a.quality - b.quality) <= 1 for a, b in zip(ours, reference, strict=True))


def test_the_default_hashes_one_frame_a_second(clips: Path) -> None:
    hashes = hash_video(clips / "doorknob-hd-no-bar.mp4")  # 120 frames at 30 fps
    assert [f.frame for f in hashes.vpdq] == [0, 30, 60, 90]
    assert [f.timestamp for f in hashes.vpdq] == [0.0, 1.0, 2.0, 3.0]
    assert hashes.frame_count == 120 and hashes.seconds_per_hash == 1.0
    data = (clips / "doorknob-hd-no-bar.mp4").read_bytes()
    assert hashes.video_md5 == hashlib.md5(data).hexdigest()
    assert hash_video(data).vpdq == hashes.vpdq  # from bytes: the same


@pytest.mark.parametrize(
    "clip", ["chair-19-sd-bar", "doorknob-hd-no-bar", "test-padded-dimensions"]
)
def test_one_a_second_skipping_frames_is_the_reference_at_those_frames(
    clip: str, clips: Path
) -> None:
    """Hashing one frame a second counts the frames it does not decode (non-reference and
    end-of-group pictures, needle.media.video_skip): the same hashes as decoding every one,
    and at the reference's frames, within its tolerance."""
    fast = hash_video(clips / f"{clip}.mp4")
    every = hash_video(clips / f"{clip}.mp4", skip_unused=False)
    assert fast.vpdq == every.vpdq and fast.frame_count == every.frame_count
    reference = {f.frame: f for f in _reference(clips, clip)}
    assert fast.frame_count == len(reference)
    for feature in fast.vpdq:
        theirs = reference[feature.frame]
        assert f"{feature.timestamp:.3f}" == f"{theirs.timestamp:.3f}"
        if theirs.quality >= QUALITY_FOR_TOLERANCE:
            assert PDQ.distance(feature.pdq, theirs.pdq) <= PDQ_REFERENCE_TOLERANCE


def test_the_reference_files_read_back_to_the_same_text(clips: Path) -> None:
    for clip in CLIPS:
        text = (clips / f"{clip}.vpdq.txt").read_text()
        assert VpdqHash.from_text(text).to_text() == text


# -- comparison -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", CHAIRS)
@pytest.mark.parametrize("compared", CHAIRS)
def test_the_chair_edits_match_each_other(query: str, compared: str, clips: Path) -> None:
    result = compare_vpdq(_reference(clips, query), _reference(clips, compared))
    assert result.is_match, result
    assert result.query_match_percent >= 85  # measured: 85.35 at the least (chair-22 vs 19)


@pytest.mark.parametrize("chair", CHAIRS)
@pytest.mark.parametrize("other", OTHERS)
def test_the_chairs_match_neither_doorknob_nor_pattern(chair: str, other: str, clips: Path) -> None:
    for a, b in ((chair, other), (other, chair)):
        result = compare_vpdq(_reference(clips, a), _reference(clips, b))
        assert not result.is_match
        assert result.query_match_percent == result.compared_match_percent == 0.0


def test_needles_own_hashes_compare_as_the_references(
    clips: Path, every_frame: dict[str, VideoHashes]
) -> None:
    for a in CLIPS:
        for b in CLIPS:
            ours = compare_vpdq(every_frame[a].vpdq, every_frame[b].vpdq)
            theirs = compare_vpdq(_reference(clips, a), _reference(clips, b))
            assert ours.is_match == theirs.is_match, (a, b)
            assert abs(ours.query_match_percent - theirs.query_match_percent) < 1.0, (a, b)


def _feature(frame: int, pdq: str, quality: int = 100) -> VpdqFeature:
    return VpdqFeature(frame, quality, pdq, frame / 30)


def _flip(pdq: str, bits: int) -> str:
    """``pdq`` with its lowest ``bits`` bits inverted: at distance ``bits``."""
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


BASE = "f8f8f0cee0f4a84f06370a22028f67f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_a_frame_at_the_threshold_is_found_one_bit_further_is_not() -> None:
    query = VpdqHash((_feature(0, BASE),))
    at = VpdqHash((_feature(0, _flip(BASE, VPDQ_DISTANCE_THRESHOLD)),))
    past = VpdqHash((_feature(0, _flip(BASE, VPDQ_DISTANCE_THRESHOLD + 1)),))
    assert compare_vpdq(query, at).query_match_percent == 100.0
    assert compare_vpdq(query, past).query_match_percent == 0.0


def test_equal_hashes_count_once_and_low_quality_frames_not_at_all() -> None:
    other = _flip(BASE, 200)
    query = VpdqHash(
        (
            _feature(0, BASE),
            _feature(1, BASE),  # a repeat: counted once
            _feature(2, BASE),
            _feature(3, other),
            _feature(4, _flip(BASE, 120), quality=VPDQ_QUALITY_THRESHOLD - 1),  # left out
        )
    )
    compared = VpdqHash((_feature(0, _flip(BASE, 3)),))
    result = compare_vpdq(query, compared)
    assert (result.query_frames, result.query_matched) == (2, 1)
    assert result.query_match_percent == 50.0 and result.compared_match_percent == 100.0
    assert not result.is_match  # 50 % of the query, under 80
    assert compare_vpdq(compared, query).is_match  # the other way round: 100 % of the query


def test_a_side_with_no_usable_frame_matches_nothing() -> None:
    flat = VpdqHash((_feature(0, BASE, quality=0),))
    result = compare_vpdq(flat, flat, query_match_threshold=0.0)
    assert result.query_frames == 0 and result.query_match_percent == 0.0
    assert not result.is_match
    assert result.to_dict()["match"] is False


hex_hash = st.binary(min_size=32, max_size=32).map(bytes.hex)
features = st.builds(
    VpdqFeature,
    frame=st.integers(0, 10**7),
    quality=st.integers(0, 100),
    pdq=hex_hash,
    timestamp=st.integers(0, 10**9).map(lambda ms: ms / 1000),
)


@given(st.lists(features, min_size=1, max_size=20))
def test_text_round_trips(items: list[VpdqFeature]) -> None:
    value = VpdqHash(tuple(items))
    again = VpdqHash.from_text(value.to_text())
    assert again.to_text() == value.to_text()
    assert [(f.frame, f.quality, f.pdq) for f in again] == [
        (f.frame, f.quality, f.pdq) for f in value
    ]
    assert all(abs(a.timestamp - b.timestamp) < 5e-4 for a, b in zip(again, value, strict=True))


@given(st.lists(features, min_size=1, max_size=12), st.lists(features, min_size=1, max_size=12))
def test_comparison_is_symmetric_and_bounded(a: list[VpdqFeature], b: list[VpdqFeature]) -> None:
    ab = compare_vpdq(VpdqHash(tuple(a)), VpdqHash(tuple(b)))
    ba = compare_vpdq(VpdqHash(tuple(b)), VpdqHash(tuple(a)))
    assert ab.query_match_percent == ba.compared_match_percent
    assert ab.compared_match_percent == ba.query_match_percent
    assert 0.0 <= ab.query_match_percent <= 100.0 and 0.0 <= ab.compared_match_percent <= 100.0


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("0,100,abc", "4 fields"),
        ("0,100," + BASE + ",0.000,extra", "4 fields"),
        ("x,100," + BASE + ",0.000", "whole numbers"),
        ("0,101," + BASE + ",0.000", "0-100"),
        ("-1,100," + BASE + ",0.000", "frame number"),
        ("0,100," + BASE[:-1] + "g,0.000", "64 hex digits"),
        ("0,100," + BASE + ",-1.0", "timestamp"),
        ("0,100," + BASE + ",nan", "timestamp"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: str, words: str) -> None:
    with pytest.raises(SignalFormatError, match=words):
        VpdqHash.from_text(f"0,100,{BASE},0.000\n{line}\n")
    with pytest.raises(SignalFormatError, match="line 2"):
        VpdqHash.from_text(f"0,100,{BASE},0.000\n{line}\n")


def test_an_empty_text_is_no_vpdq() -> None:
    with pytest.raises(SignalFormatError, match="no vPDQ lines"):
        VpdqHash.from_text("\n\n")


# -- synthesised videos (no shared data needed) ------------------------------------------------


def test_a_synthesised_video_hashes_and_matches_its_reencoding() -> None:
    x264 = make_video(frames=40, rate=10, codec="libx264", seed=5)
    mpeg4 = make_video(frames=40, rate=10, codec="mpeg4", fmt="avi", seed=5, bit_rate=2_000_000)
    other = make_video(frames=40, rate=10, seed=6)
    a, b, c = (hash_video(data, seconds_per_hash=0.5) for data in (x264, mpeg4, other))
    assert [f.frame for f in a.vpdq] == [0, 5, 10, 15, 20, 25, 30, 35]
    assert [f.timestamp for f in a.vpdq] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert a.info.container == "mp4" and b.info.container == "avi"
    assert a.video_md5 == hashlib.md5(x264).hexdigest()
    assert compare_vpdq(a.vpdq, b.vpdq).is_match
    assert not compare_vpdq(a.vpdq, c.vpdq).is_match
    data = a.to_dict()
    assert data["frame_count"] == 40 and data["width"] == 160 and data["codec"] == "h264"
    assert data["vpdq"][1] == {"frame": 5, "quality": a.vpdq.features[1].quality,
                               "pdq": a.vpdq.features[1].pdq, "timestamp": 0.5}  # fmt: skip


def test_vpdq_hashes_frames_as_stored_not_turned() -> None:
    """The reference never reads the display matrix: a rotated video hashes as stored, and
    the rotation is reported beside the hash."""
    plain = hash_video(make_video(frames=10, seed=7), seconds_per_hash=0)
    turned = hash_video(make_video(frames=10, seed=7, rotate=90), seconds_per_hash=0)
    assert turned.rotation == 90 and plain.rotation == 0
    assert [f.pdq for f in turned.vpdq] == [f.pdq for f in plain.vpdq]


def test_negative_seconds_per_hash_is_refused() -> None:
    with pytest.raises(ValueError):
        hash_video(make_video(frames=2), seconds_per_hash=-1)
