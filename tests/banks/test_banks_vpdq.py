"""vPDQ entries in bank files: every accepted form reads to one canonical value, malformed
ones are problems on their lines, hostile sizes are refused unread, and export -> import
round-trips in every format that holds them.

Frame hashes are random PDQ bits (``Hashes.pdq``); no video is involved here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import random
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needle.banks import BankEntry, read_bank_file, write_bank_file
from needle.banks._common import CSV_FIELD_LIMIT, Collector, make_entry
from needle.banks.csvfile import CsvFormat
from needle.banks.te_local_file import LocalFileFormat
from needle.errors import SignalFormatError
from needle.signals.vpdq import VpdqFeature
from needle.signals.vpdq_exchange import (
    VPDQ_MAX_CHARS,
    VPDQ_SIGNAL,
    parse_vpdq_value,
    vpdq_digest,
    vpdq_value,
)


def pdq(i: int) -> str:
    return f"{random.Random(i).getrandbits(256):064x}"


def md5(i: int) -> str:
    return hashlib.md5(f"needle-test-{i}".encode()).hexdigest()


def features(count: int, seed: int = 0) -> list[VpdqFeature]:
    """``count`` frames one second apart, the way ``hash_video`` gives them at 1 s."""
    return [
        VpdqFeature(i * 30, 100 - i % 50, pdq(seed * 100_000 + i), float(i)) for i in range(count)
    ]


def compact(items: list[VpdqFeature]) -> str:
    """What HMA's ``vpdq_to_json`` writes (``json.dumps`` of compact strings)."""
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in items])


def old_object(items: list[VpdqFeature]) -> str:
    """The older threatexchange JSON object: frame number -> quality, hex hash, timestamp."""
    return json.dumps(
        {
            str(f.frame): {"quality": f.quality, "hash": f.pdq.upper(), "timestamp": f.timestamp}
            for f in items
        }
    )


def text_lines(items: list[VpdqFeature], separator: str = "\n") -> str:
    return separator.join(f.to_text() for f in items)


# -- the value ---------------------------------------------------------------------------


def test_the_canonical_value_is_hmas_compact_list() -> None:
    items = features(2)
    value = vpdq_value(items)

    assert value == compact(items)
    assert value.startswith('["') and '", "' in value  # json.dumps' default separators
    assert vpdq_digest(value) == hashlib.sha256(value.encode()).hexdigest()
    assert len(vpdq_digest(value)) == 64


@pytest.mark.parametrize(
    "form",
    [
        compact,
        old_object,
        text_lines,
        lambda items: text_lines(items, ";"),
        lambda items: text_lines(items, " ; ") + "\n",
        lambda items: compact(items).upper().replace("[", "[ ").replace("]", " ]"),
    ],
    ids=["compact", "old-object", "lines", "semicolons", "spaced", "upper-case"],
)
def test_every_form_reads_to_the_same_canonical_value(form: Any) -> None:
    items = features(5)
    parsed = parse_vpdq_value(form(items))

    assert vpdq_value(parsed) == compact(items)
    assert [(f.quality, f.pdq, f.timestamp) for f in parsed] == [
        (f.quality, f.pdq, f.timestamp) for f in items
    ]


def test_frame_numbers_are_kept_where_given_and_counted_where_not() -> None:
    items = features(3)
    assert [f.frame for f in parse_vpdq_value(text_lines(items))] == [0, 30, 60]
    assert [f.frame for f in parse_vpdq_value(old_object(items))] == [0, 30, 60]
    assert [f.frame for f in parse_vpdq_value(compact(items))] == [0, 1, 2]


@given(
    st.lists(
        st.tuples(
            st.integers(0, 100),
            st.integers(0, 2**256 - 1),
            st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_value_parse_value_is_the_same_value(frames: list[tuple[int, int, float]]) -> None:
    items = [VpdqFeature(i, q, f"{h:064x}", t) for i, (q, h, t) in enumerate(frames)]
    value = vpdq_value(items)
    parsed = parse_vpdq_value(value)

    assert vpdq_value(parsed) == value
    assert [(f.frame, f.quality, f.pdq) for f in parsed] == [
        (f.frame, f.quality, f.pdq) for f in items
    ]
    assert [f.timestamp for f in parsed] == [float(f"{t:.3f}") for _, _, t in frames]


def test_no_features_is_no_value() -> None:
    with pytest.raises(SignalFormatError, match="at least one frame"):
        vpdq_value([])


PDQ = pdq(1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("[]", "no frame hash"),
        ("{}", "no frame hash"),
        ('["abc,100,0.000"]', "64 hex digits"),
        (f'["{PDQ[:-1]}g,100,0.000"]', "64 hex digits"),
        (f'["{PDQ},101,0.000"]', "quality is 0-100"),
        (f'["{PDQ},-1,0.000"]', "quality is 0-100"),
        (f'["{PDQ},high,0.000"]', "quality is a whole number"),
        (f'["{PDQ},100,-1.000"]', "timestamp is 0 or more"),
        (f'["{PDQ},100,nan"]', "finite"),
        (f'["{PDQ},100,inf"]', "finite"),
        (f'["{PDQ},100"]', "3 fields"),
        (f'["{PDQ},100,0.000", 7]', "frame hash 2: expected a 'pdq_hex,quality,timestamp'"),
        (f'["{PDQ},100,0.000"', "not valid JSON"),
        ('"just a string"', "4 fields"),
        ("42", "4 fields"),
        ('{"x": {}}', "frame number is a whole number"),
        ('{"0": []}', "expected an object"),
        ('{"0": {"quality": 1, "timestamp": 0}}', "missing hash"),
        (f'{{"0": {{"quality": true, "hash": "{PDQ}", "timestamp": 0}}}}', "quality is a whole"),
        ('{"0": {"quality": 1, "hash": 5, "timestamp": 0}}', "hash is a hex string"),
        (f'{{"0": {{"quality": 1, "hash": "{PDQ}", "timestamp": "0"}}}}', "timestamp is a number"),
        (f'{{"-1": {{"quality": 1, "hash": "{PDQ}", "timestamp": 0}}}}', "frame number is 0"),
        (f'{{"0": {{"quality": 1, "hash": "{PDQ}", "timestamp": 1e999}}}}', "timestamp is 0 or"),
        (f"0,100,{PDQ},0.000;1,100,{PDQ}", "frame hash 2: a vPDQ line has 4 fields"),
        (f"0,100,{PDQ},-5", "timestamp is 0 or more"),
        ("[" + "1" * 5000 + "]", "not valid JSON"),
    ],
)
def test_malformed_values_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SignalFormatError, match=message):
        parse_vpdq_value(text)


def test_hostile_sizes_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    too_long = "[" + " " * VPDQ_MAX_CHARS + "]"

    def parsed(*args: object, **kwargs: object) -> None:
        raise AssertionError("a value over the limit was parsed")

    with monkeypatch.context() as patched:
        patched.setattr(json, "loads", parsed)  # refused by its length, never parsed
        with pytest.raises(SignalFormatError, match=f"at most {VPDQ_MAX_CHARS:,} characters"):
            parse_vpdq_value(too_long)

    with pytest.raises(SignalFormatError, match="nested too deeply"):
        parse_vpdq_value("[" * 200_000 + "]" * 200_000)

    many = features(11)
    for form in (compact, old_object, text_lines):
        with pytest.raises(SignalFormatError, match="at most 10 frame hashes, not 11"):
            parse_vpdq_value(form(many), max_frames=10)
        assert len(parse_vpdq_value(form(many[:10]), max_frames=10)) == 10


# -- bank formats -----------------------------------------------------------------------


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def test_csv_reads_every_form_and_reports_bad_ones_on_their_lines() -> None:
    a, b, c = features(3, seed=1), features(4, seed=2), features(2, seed=3)
    rows = [
        "signal_type,signal,label",  # 1
        f"vpdq,{_csv_cell(compact(a))},case-1",  # 2
        f"VPDQ,{_csv_cell(old_object(b))}",  # 3
        f"video_vpdq,{_csv_cell(text_lines(c))},case-2",  # 4 (spans lines 4-5)
        f"vpdq,{_csv_cell(compact(a)[:-3])}",  # 6: cut short
        f"vpdq,{_csv_cell(text_lines(c, ';'))},case-3",  # 7: the same video as row 4
        f"vpdq,{_csv_cell(compact(a).replace(',100,', ',200,'))}",  # 8
        f"md5,{md5(1)}",  # 9
    ]
    data = "\r\n".join(rows).encode()

    result = CsvFormat().read(io.BytesIO(data))

    assert [(e.signal_type, e.value, e.labels) for e in result.entries] == [
        ("vpdq", compact(a), ("case-1",)),
        ("vpdq", compact(b), ()),
        ("vpdq", compact(c), ("case-2", "case-3")),
        ("md5", md5(1), ()),
    ]
    assert [p.line for p in result.problems] == [6, 8]
    assert "not valid JSON" in result.problems[0].message
    assert "quality is 0-100" in result.problems[1].message


def test_csv_holds_a_value_longer_than_the_csv_modules_default_limit(tmp_path: Path) -> None:
    long = features(3000)  # about 246,000 characters: past the csv module's 131,072
    entries = [BankEntry(VPDQ_SIGNAL, vpdq_value(long), ("long",))]
    assert len(entries[0].value) > 131_072 and CSV_FIELD_LIMIT > VPDQ_MAX_CHARS

    write_bank_file(entries, tmp_path / "long.csv", format="csv")
    result = read_bank_file(tmp_path / "long.csv")

    assert result.entries == entries and not result.problems


def test_te_local_file_reads_vpdq_lines_and_reports_bad_ones() -> None:
    a, b = features(3, seed=1), features(2, seed=2)
    data = "\n".join(
        [
            f"vpdq {compact(a)}",  # 1: HMA's list, spaces and all
            f"video_md5 {md5(1)}",  # 2
            f"vpdq {text_lines(b, ';')}",  # 3
            f"vpdq {compact(a)[:-2]}",  # 4
            "vpdq []",  # 5
        ]
    ).encode()

    result = LocalFileFormat().read(io.BytesIO(data))

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("vpdq", compact(a)),
        ("md5", md5(1)),
        ("vpdq", compact(b)),
    ]
    assert [p.line for p in result.problems] == [4, 5]


def test_te_local_file_takes_a_bare_vpdq_list_as_one_signal() -> None:
    a = features(2)
    result = LocalFileFormat().read(io.BytesIO(compact(a).encode()), signal_type="vpdq")
    assert result.entries == [BankEntry("vpdq", compact(a))]


def test_a_file_starting_with_a_long_vpdq_line_is_told_te_local_file(tmp_path: Path) -> None:
    path = tmp_path / "videos.txt"
    path.write_text(f"vpdq {compact(features(200))}\nvideo_md5 {md5(1)}\n")
    assert read_bank_file(path).format == "te-local-file"


def _entries() -> list[BankEntry]:
    return [
        BankEntry("vpdq", vpdq_value(features(3, seed=1)), ("case-1",)),
        BankEntry("md5", md5(1), ("case-1",)),
        BankEntry("vpdq", vpdq_value(features(60, seed=2)), ("case-2",)),
        BankEntry("pdq", pdq(5), ("case-2",)),
    ]


@pytest.mark.parametrize(
    ("format", "filename"),
    [
        ("csv", "bank.csv"),
        ("te-local-file", "bank.txt"),
        ("text", "bank.text"),
        ("te-simple-csv", "simple.vpdq.te"),
    ],
)
def test_export_then_import_gives_the_same_vpdq_entries(
    tmp_path: Path, format: str, filename: str
) -> None:
    entries = _entries()
    path = tmp_path / filename

    exported = write_bank_file(entries, path, format=format)
    result = read_bank_file(path, format=format)

    written = [e for e in entries if exported.skipped.get(e.signal_type) is None]
    assert exported.written == len(written) and result.count == len(written)
    assert not result.problems
    got = {(e.signal_type, e.value) for e in result.entries}
    assert got == {(e.signal_type, e.value) for e in written}
    assert {e.value for e in result.entries if e.signal_type == "vpdq"} == {
        e.value for e in entries if e.signal_type == "vpdq"
    }


def test_formats_that_cannot_hold_vpdq_skip_and_count_it(tmp_path: Path) -> None:
    for format, name in (("vics", "bank.json"), ("stopncii", "s.json"), ("ncmec", "n.xml")):
        exported = write_bank_file(_entries(), tmp_path / name, format=format)
        assert exported.skipped.get("vpdq") == 2, format


def test_a_streaming_read_hands_over_long_values_in_smaller_chunks() -> None:
    """A chunk is 20,000 entries, or fewer when their values reach a size: 20,000 videos'
    values would be gigabytes."""
    chunks: list[int] = []
    collector = Collector("csv", sink=lambda part: chunks.append(len(part)), chunk_chars=2000)
    for seed in range(10):
        collector.add(BankEntry("vpdq", vpdq_value(features(10, seed))))  # 820 characters
    for i in range(5):
        collector.add(BankEntry("md5", md5(i)))
    assert chunks == [3, 3, 3]
    assert collector.result.streamed == 9 and len(collector.result.entries) == 6


def test_make_entry_normalises_and_types_are_case_insensitive() -> None:
    items = features(2)
    for kind in ("vpdq", "VPDQ", " Video_VPDQ "):
        entry = make_entry(kind, text_lines(items, ";"))
        assert (entry.signal_type, entry.value) == ("vpdq", compact(items))


# -- python-threatexchange reads what needle writes, and needle what it writes ----------------


@pytest.fixture
def vpdq_util(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """python-threatexchange's ``vpdq_util``, loaded from its file on its own: it imports the
    ``vpdq`` C++ bindings, which are not installed, for hashing only; a stand-in serves."""
    pytest.importorskip("threatexchange")
    spec = importlib.util.find_spec("threatexchange.extensions.vpdq")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "vpdq_util.py"
    stand_in = types.ModuleType("vpdq")
    stand_in.VpdqFeature = type("VpdqFeature", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vpdq", stand_in)
    loaded = importlib.util.spec_from_file_location("_needle_test_vpdq_util", path)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def test_threatexchange_reads_needles_value_and_needle_reads_its(vpdq_util: Any) -> None:
    items = features(5)
    value = vpdq_value(items)

    theirs = vpdq_util.json_to_vpdq(value)
    assert [(f.pdq_hex, f.quality, f.timestamp) for f in theirs] == [
        (f.pdq, f.quality, f.timestamp) for f in items
    ]
    written = vpdq_util.vpdq_to_json(theirs)
    assert vpdq_value(parse_vpdq_value(written)) == value
