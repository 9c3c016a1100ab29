from __future__ import annotations

import pytest

from needle.review import (
    DEFAULT_BLUR,
    BlurSettings,
    ReviewError,
    effective_blur,
    org_blur,
    set_org_blur,
    set_user_blur,
    user_blur,
)
from needle.store import Store


def test_defaults(store: Store) -> None:
    assert org_blur(store) == DEFAULT_BLUR == BlurSettings(24, True)
    assert user_blur(store, "rev") is None
    assert effective_blur(store, "rev") == DEFAULT_BLUR


def test_a_reviewer_may_only_tighten(store: Store) -> None:
    set_org_blur(store, 16, False)
    with pytest.raises(ReviewError, match="only be stronger"):
        set_user_blur(store, "rev", 8, False)
    set_user_blur(store, "rev", 32, True)
    assert effective_blur(store, "rev") == BlurSettings(32, True)
    assert effective_blur(store, "other") == BlurSettings(16, False)
    # the organisation tightens past the reviewer's: the stronger applies
    set_org_blur(store, 40, True)
    assert effective_blur(store, "rev") == BlurSettings(40, True)
    with pytest.raises(ReviewError, match="greyscale"):
        set_user_blur(store, "rev", 48, False)


def test_bounds_and_long_names(store: Store) -> None:
    for bad in (0, 3, 65, 1000):
        with pytest.raises(ReviewError):
            set_org_blur(store, bad, True)
    name = "r" * 100
    set_user_blur(store, name, 30, True)
    assert user_blur(store, name) == BlurSettings(30, True)
    assert user_blur(store, "r" * 99) is None
