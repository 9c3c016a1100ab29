"""ExactIndex: value -> rows for md5, sha1, sha256."""

from __future__ import annotations

import hashlib

from needle.match.exact import ExactIndex


def test_rows_of_equal_values_in_row_order() -> None:
    values = [hashlib.md5(bytes([i % 5])).hexdigest() for i in range(12)]
    index = ExactIndex(values)
    assert len(index) == 12
    assert index.query(values[0]) == (0, 5, 10)
    assert index.query(values[4]) == (4, 9)
    assert index.query_many([values[1], "0" * 32]) == [(1, 6, 11), ()]


def test_case_and_surrounding_space_do_not_matter() -> None:
    digest = hashlib.sha256(b"benign").hexdigest()
    index = ExactIndex([f"  {digest.upper()}\n"])
    assert index.query(digest) == (0,)
    assert index.query(digest.upper()) == (0,)
    assert digest in index and "x" not in index and 3 not in index


def test_empty_index() -> None:
    index = ExactIndex([])
    assert len(index) == 0
    assert index.query("00") == ()
    assert index.query_many([]) == []
