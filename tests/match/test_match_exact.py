"""ExactIndex: value -> rows for md5, sha1, sha256."""

from __future__ import annotations

import hashlib

import numpy as np

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


def test_byte_arrays_and_values_sharing_their_first_bytes() -> None:
    # the sort key is the first 8 bytes: values equal there must still be told apart
    head = "ab" * 8
    values = [head + f"{i:016x}" for i in (3, 1, 2, 1)] + ["cd" * 16]
    raw = np.frombuffer(bytes.fromhex("".join(values)), dtype=np.uint8).reshape(5, 16)
    for index in (ExactIndex(values), ExactIndex(raw)):
        assert index.query(head + f"{1:016x}") == (1, 3)
        assert index.query((head + f"{2:016x}").upper()) == (2,)
        assert index.query(head + f"{9:016x}") == ()
        assert index.query("cd" * 16) == (4,)
        assert index.query("cd" * 15) == () and index.query("cd cd") == ()
        assert len(index) == 5


def test_values_that_are_not_hex_go_into_a_dictionary() -> None:
    index = ExactIndex(["Some Text", "other", "some text"])
    assert index.query(" SOME TEXT ") == (0, 2)
    assert index.nbytes == 0
