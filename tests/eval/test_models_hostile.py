"""Hostile label files the fuzzers found (fuzz/classify_labels.py) for ``needle eval age`` and
``needle eval explicit``."""

from __future__ import annotations

from pathlib import Path

import pytest

from needle.errors import ConfigError
from needle.eval.models import read_labels


@pytest.mark.parametrize("column", ["label", "age"])
def test_labels_csv_that_is_not_utf8_is_a_config_error(tmp_path: Path, column: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(f"path,{column}\n".encode() + b"caf\xe9.jpg,1\n")
    with pytest.raises(ConfigError, match=r"labels\.csv"):
        read_labels(path, column)
