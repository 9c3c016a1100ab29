"""Hostile label files the fuzzers found (fuzz/classify_labels.py) for ``needle eval models``.

Marked ``xfail(strict=True)``: ``needle.classify`` is being reorganised (evaluation moves to
``needle.eval``); the fix belongs there. When it lands these tests pass and the marks go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from needle.classify.evaluation import read_labels
from needle.errors import ConfigError


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeDecodeError,
    reason="read_labels lets UnicodeDecodeError escape for a CSV that is not UTF-8 "
    "(fuzz/classify_labels.py); it should be a ConfigError naming the file",
)
@pytest.mark.parametrize("column", ["label", "age"])
def test_labels_csv_that_is_not_utf8_is_a_config_error(tmp_path: Path, column: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(f"path,{column}\n".encode() + b"caf\xe9.jpg,1\n")
    with pytest.raises(ConfigError, match=r"labels\.csv"):
        read_labels(path, column)
