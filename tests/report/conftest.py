from __future__ import annotations

from collections.abc import Iterator

import pytest

from needle.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened
