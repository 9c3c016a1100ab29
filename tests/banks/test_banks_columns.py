"""BankColumns: a bank's values as arrays per signal type, whole entries on request."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from needle.banks.columns import BankColumns, ColumnsBuilder, hex_bytes
from needle.banks.model import BankEntry


def test_hex_bytes_only_for_lower_case_hex_of_one_length() -> None:
    assert hex_bytes(["00ff", "a0b1"]).tolist() == [[0, 255], [160, 177]]  # type: ignore[union-attr]
    assert hex_bytes([]) is None
    assert hex_bytes(["00FF"]) is None  # bytes.hex() would not give it back
    assert hex_bytes(["00ff", "00"]) is None
    assert hex_bytes(["0 ff"]) is None and hex_bytes(["abc"]) is None and hex_bytes(["zz"]) is None


def test_interleaved_types_keep_their_positions(hashes: Any) -> None:
    entries = [
        BankEntry("md5", hashes.md5(1), ("a",)),
        BankEntry("pdq", hashes.pdq(1)),
        BankEntry("md5", hashes.md5(2), (), {"k": "v"}),
        BankEntry("sha1", hashes.sha1(1)),
        BankEntry("pdq", hashes.pdq(2), ("b", "c")),
    ]
    columns = BankColumns.from_entries(entries)

    assert len(columns) == 5
    assert columns.columns["md5"].positions.tolist() == [0, 2]
    assert columns.columns["pdq"].positions.tolist() == [1, 4]
    assert columns.columns["pdq"].values.shape == (2, 32)
    assert columns.locate(3) == ("sha1", 0)
    assert list(columns) == entries
    assert columns[-1] == entries[-1] and columns[1:3] == entries[1:3]
    assert columns.entries_at([4, 0]) == {4: entries[4], 0: entries[0]}
    with pytest.raises(IndexError):
        columns[5]


def test_values_that_are_not_hex_of_one_length_are_kept_as_text(hashes: Any) -> None:
    builder = ColumnsBuilder({"md5": 2})
    builder.add(["md5", "md5"], [hashes.md5(1), hashes.md5(2)])
    builder.add(["md5"], ["NOT-HEX"])  # a later chunk turns the column to text
    builder.add(["odd"], ["x"])
    builder.add(["odd", "md5"], ["abcd", hashes.md5(3)])
    columns = builder.build()

    md5 = columns.columns["md5"]
    assert not md5.is_hex
    assert md5.strings(range(4)) == [hashes.md5(1), hashes.md5(2), "NOT-HEX", hashes.md5(3)]
    assert md5.positions.tolist() == [0, 1, 2, 5]
    assert columns.columns["odd"].strings(range(2)) == ["x", "abcd"]
    # without a lookup, entries come back with their type and value only
    assert columns[2] == BankEntry("md5", "NOT-HEX")


def test_a_width_change_turns_the_column_to_text() -> None:
    builder = ColumnsBuilder()
    builder.add(["x"], ["aa"])
    builder.add(["x"], ["aabb"])
    column = builder.build().columns["x"]
    assert column.strings(range(2)) == ["aa", "aabb"]


def test_columns_grow_past_the_counts_given_and_are_read_only(hashes: Any) -> None:
    builder = ColumnsBuilder({"md5": 1})
    for i in range(10):
        builder.add(["md5"] * 3, [hashes.md5(3 * i + k) for k in range(3)])
    column = builder.build().columns["md5"]
    assert len(column) == 30 and column.values.shape == (30, 16)
    assert column.value(29) == hashes.md5(29)
    assert np.array_equal(column.positions, np.arange(30))
    with pytest.raises(ValueError):
        column.values[0, 0] = 1
