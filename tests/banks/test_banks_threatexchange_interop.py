"""Round trips with the real python-threatexchange (a test-only dependency), both ways.

needle -> threatexchange: files needle exports are read by threatexchange's own code, the
``local_file`` collaboration (``LocalFileSignalExchangeAPI``: ``fetch_iter``, then the
validation every fetched signal goes through) and ``CliIndicatorSerialization.load``; every
row must come through with the right signal type and value, none logged as invalid.
threatexchange -> needle: files threatexchange's own code writes (``report_opinion`` appends
to a local file, ``CliIndicatorSerialization``/``HMASerialization.store``) import into the
same hashes. Hashes are random (PDQ) or digests of made-up strings.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, read_bank_file, write_bank_file

file_api = pytest.importorskip("threatexchange.exchanges.impl.file_api")
from threatexchange.cli.dataset.simple_serialization import (  # noqa: E402
    CliIndicatorSerialization,
    HMASerialization,
)
from threatexchange.exchanges.clients.fb_threatexchange.descriptor import (  # noqa: E402
    SimpleDescriptorRollup,
)
from threatexchange.signal_type.md5 import VideoMD5Signal  # noqa: E402
from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402
from threatexchange.signal_type.sha256 import VideoSHA256Signal  # noqa: E402

TE_TYPES = {PdqSignal: "pdq", VideoMD5Signal: "md5", VideoSHA256Signal: "sha256"}


@pytest.fixture(autouse=True)
def _csv_field_limit() -> Any:
    """``CliIndicatorSerialization.load`` sets the csv module's global field size limit to
    the size of the file it reads; put it back so later CSV reads are not cut short."""
    limit = csv.field_size_limit()
    yield
    csv.field_size_limit(limit)


def _entries(hashes: Any) -> list[BankEntry]:
    return [
        *(BankEntry("pdq", hashes.pdq(i), ("case-1",)) for i in range(5)),
        *(BankEntry("md5", hashes.md5(i)) for i in range(3)),
        *(BankEntry("sha256", hashes.sha256(i)) for i in range(2)),
    ]


def _fetch_local_file(path: Path, signal_type: str | None = None) -> dict[str, set[str]]:
    """What threatexchange's local_file collaboration makes of ``path``: values by type."""
    collab = file_api.FileCollaborationConfig(
        name="needle", filename=str(path), signal_type=signal_type
    )
    api = file_api.LocalFileSignalExchangeAPI.for_collab(collab)
    types = list(TE_TYPES)
    fetched: dict[tuple[str, str], Any] = {}
    for delta in api.fetch_iter(types, None):
        fetched.update(delta.updates)
    converted = api.naive_convert_to_signal_type(types, collab, fetched)
    return {TE_TYPES[s_type]: set(signals) for s_type, signals in converted.items()}


def test_threatexchange_local_file_reads_every_row_needle_exports(
    tmp_path: Path, hashes: Any, caplog: pytest.LogCaptureFixture
) -> None:
    entries = [*_entries(hashes), BankEntry("sha1", hashes.sha1(1))]
    path = tmp_path / "needle-bank.txt"

    exported = write_bank_file(entries, path, format="te-local-file")
    with caplog.at_level(logging.WARNING):
        fetched = _fetch_local_file(path)

    assert dict(exported.skipped) == {"sha1": 1}  # threatexchange has no sha1 type
    assert exported.written == len(path.read_text().splitlines()) == 10
    assert not [r for r in caplog.records if "Invalid fingerprint" in r.getMessage()]
    want: dict[str, set[str]] = {}
    for e in entries[:-1]:
        want.setdefault(e.signal_type, set()).add(e.value)
    assert fetched == want


def test_threatexchange_local_file_with_one_type_reads_needle_text_exports(
    tmp_path: Path, hashes: Any
) -> None:
    pdq = [e for e in _entries(hashes) if e.signal_type == "pdq"]
    path = tmp_path / "pdq.txt"
    write_bank_file(pdq, path, format="text")

    # the collaboration names the type: each line is one signal (the comment line is one
    # invalid signal, which threatexchange logs and leaves out)
    assert _fetch_local_file(path, signal_type="pdq") == {"pdq": {e.value for e in pdq}}


def test_the_old_csv_rows_are_what_local_file_rejected(tmp_path: Path, hashes: Any) -> None:
    pdq = [e for e in _entries(hashes) if e.signal_type == "pdq"]
    path = tmp_path / "simple.HASH_PDQ.te"
    write_bank_file(pdq, path, format="te-simple-csv")

    assert _fetch_local_file(path, signal_type="pdq") == {}  # why the format was renamed


def test_needle_imports_the_lines_threatexchange_writes_to_a_local_file(
    tmp_path: Path, hashes: Any
) -> None:
    # LocalFileSignalExchangeAPI.report_opinion appends f"{s_type.get_name()} {signal}\n",
    # but opens the file with mode "wta", which Python refuses (threatexchange 1.2.17); so
    # the lines are written here as it would, with its signal types' own names and values
    entries = _entries(hashes)
    te_type = {name: s_type for s_type, name in TE_TYPES.items()}
    lines = [
        f"{te_type[e.signal_type].get_name()} {te_type[e.signal_type].validate_signal_str(e.value)}"
        for e in entries
    ]
    typed = tmp_path / "reported.txt"
    typed.write_text("\n".join(lines) + "\n")
    bare = tmp_path / "pdq-only.txt"  # for a collaboration configured with signal_type pdq
    bare.write_text("".join(f"{e.value}\n" for e in entries if e.signal_type == "pdq"))
    by_type: dict[str, set[str]] = {}
    for e in entries:
        by_type.setdefault(e.signal_type, set()).add(e.value)
    assert _fetch_local_file(typed) == by_type  # what threatexchange itself reads
    assert _fetch_local_file(bare, signal_type="pdq") == {"pdq": by_type["pdq"]}

    result = read_bank_file(typed)
    bare_result = read_bank_file(bare, format="te-local-file", signal_type="pdq")

    assert result.format == "te-local-file" and result.problems == []
    assert [(e.signal_type, e.value) for e in result.entries] == [
        (e.signal_type, e.value) for e in entries
    ]
    assert [e.value for e in bare_result.entries] == [
        e.value for e in entries if e.signal_type == "pdq"
    ]


def test_threatexchange_loads_the_simple_te_files_needle_exports(
    tmp_path: Path, hashes: Any
) -> None:
    entries = [
        BankEntry("pdq", hashes.pdq(1), ("media_type_photo",), {"first_descriptor_id": "42"}),
        BankEntry("pdq", hashes.pdq(2), (), {"added_on": "2021-01-01T00:00:00+0000"}),
        BankEntry("md5", hashes.md5(1), ("a", "b")),
    ]
    write_bank_file(entries, tmp_path / "simple.HASH_PDQ.te", format="te-simple-csv")
    write_bank_file(entries, tmp_path / "simple.HASH_MD5.te", format="te-simple-csv")

    loaded = {
        (item.indicator_type, item.indicator): (
            item.rollup.first_descriptor_id,
            item.rollup.added_on,
            item.rollup.labels,
        )
        for item in CliIndicatorSerialization.load(tmp_path)
    }

    assert loaded == {
        ("HASH_PDQ", hashes.pdq(1)): (42, "", {"media_type_photo"}),
        ("HASH_PDQ", hashes.pdq(2)): (0, "2021-01-01T00:00:00+0000", set()),
        ("HASH_MD5", hashes.md5(1)): (0, "", {"a", "b"}),
    }


def test_needle_imports_the_simple_te_files_threatexchange_stores(
    tmp_path: Path, hashes: Any
) -> None:
    cli = tmp_path / "cli"
    hma = tmp_path / "hma"
    cli.mkdir()
    hma.mkdir()
    CliIndicatorSerialization.store(
        cli,
        [
            CliIndicatorSerialization(
                "HASH_PDQ", hashes.pdq(i), SimpleDescriptorRollup(100 + i, "2021", {"x"})
            )
            for i in range(3)
        ]
        + [
            CliIndicatorSerialization(
                "HASH_MD5", hashes.md5(1), SimpleDescriptorRollup(7, "", set())
            )
        ],
    )
    HMASerialization.store(
        hma,
        [HMASerialization(hashes.pdq(9), "HASH_PDQ", "555", SimpleDescriptorRollup(9, "d", {"y"}))],
    )

    pdq = read_bank_file(cli / "simple.HASH_PDQ.te")
    md5 = read_bank_file(cli / "simple.HASH_MD5.te")
    from_hma = read_bank_file(hma / "simple.HASH_PDQ.te")

    assert pdq.format == "te-simple-csv" and pdq.problems == []
    assert pdq.entries == [
        BankEntry(
            "pdq", hashes.pdq(i), ("x",), {"first_descriptor_id": str(100 + i), "added_on": "2021"}
        )
        for i in range(3)
    ]
    assert md5.entries == [BankEntry("md5", hashes.md5(1), (), {"first_descriptor_id": "7"})]
    assert from_hma.entries == [
        BankEntry(
            "pdq",
            hashes.pdq(9),
            ("y",),
            {"indicator_id": "555", "first_descriptor_id": "9", "added_on": "d"},
        )
    ]
