"""Reading a bank file into a sink: the same entries, a chunk at a time, problems counted."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest

from needle.banks import BankEntry, ImportResult, read_bank_file
from needle.banks._common import Collector
from needle.banks.formats import _read_into
from needle.banks.model import MAX_KEPT_PROBLEMS


class _Chunks:
    def __init__(self) -> None:
        self.chunks: list[list[BankEntry]] = []

    def __call__(self, entries: Sequence[BankEntry]) -> None:
        self.chunks.append(list(entries))

    @property
    def entries(self) -> list[BankEntry]:
        return [e for chunk in self.chunks for e in chunk]


@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_a_sink_gets_the_entries_a_plain_read_returns(
    tmp_path: Path, hashes: Any, suffix: str
) -> None:
    rows = [hashes.md5(i) for i in range(45_000)]
    path = tmp_path / f"bank{suffix}"
    if suffix == ".csv":
        path.write_text("signal_type,signal\n" + "".join(f"md5,{v}\n" for v in rows))
    else:
        path.write_text("".join(f"{v}\n" for v in rows) + "nothex\n")

    whole = read_bank_file(path)
    sink = _Chunks()
    streamed = read_bank_file(path, sink=sink)

    assert sink.entries == whole.entries and len(whole.entries) == 45_000
    assert [len(c) for c in sink.chunks] == [20_000, 20_000, 5_000]
    assert streamed.entries == [] and streamed.streamed == streamed.count == 45_000
    assert streamed.problems == whole.problems


def test_repeats_are_merged_within_a_chunk() -> None:
    sink = _Chunks()
    collector = Collector("test", sink=sink, chunk=2)
    for labels in (("a",), ("b",)):
        collector.add(BankEntry("md5", "0" * 32, labels))
    collector.add(BankEntry("md5", "1" * 32))  # the chunk is full: handed over
    collector.add(BankEntry("md5", "0" * 32, ("c",)))  # a new chunk: the store keeps the first

    assert sink.entries == [BankEntry("md5", "0" * 32, ("a", "b")), BankEntry("md5", "1" * 32)]
    assert collector.result.entries == [BankEntry("md5", "0" * 32, ("c",))]
    assert collector.result.count == 3


def test_problems_past_the_limit_are_only_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("# signal_type: md5\n" + "abc\n" * (MAX_KEPT_PROBLEMS + 500))

    result = read_bank_file(path, sink=_Chunks())

    assert len(result.problems) == MAX_KEPT_PROBLEMS
    assert result.problem_count == MAX_KEPT_PROBLEMS + 500
    assert result.problems[0].line == 2 and result.count == 0


class _OldPlugin:
    """A format plugin written before streaming: no ``sink`` parameter."""

    name: ClassVar[str] = "old-plugin"
    suffixes: ClassVar[tuple[str, ...]] = (".old",)

    def sniff(self, head: bytes, filename: str) -> bool:
        return False

    def read(
        self, stream: IO[bytes], *, signal_type: str | None = None, filename: str = ""
    ) -> ImportResult:
        values = stream.read().decode().split()
        return ImportResult(self.name, [BankEntry("md5", v) for v in values])

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        stream.write(b"")


def test_a_format_without_a_sink_parameter_is_read_whole_then_handed_over(hashes: Any) -> None:
    data = io.BytesIO(" ".join(hashes.md5(i) for i in range(3)).encode())
    sink = _Chunks()

    result = _read_into(_OldPlugin(), data, None, "bank.old", sink)

    assert [e.value for e in sink.entries] == [hashes.md5(i) for i in range(3)]
    assert result.streamed == 3 and result.entries == []


def test_collector_without_a_sink_keeps_everything() -> None:
    collector = Collector("test", chunk=1)
    for i in range(3):
        collector.add(BankEntry("md5", f"{i:032x}"))
    assert len(collector.result.entries) == 3 and collector.result.streamed == 0
