"""Helpers for the classifier tests: the bundled models loaded once with the network cut off,
benign pictures (scikit-image's astronaut, synthesised images), and fake classifiers."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from PIL import Image

from conftest import image_bytes, synth_image
from needle.classify import Classification, Classifier, Sample, load_classifiers
from needle.media import decode_image

__all__ = [
    "FakeClassifier",
    "astronaut",
    "astronaut_sample",
    "no_network",
    "sample_of",
    "synth_sample",
]


class _NoNetwork(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("network access attempted during an offline test")


@contextmanager
def no_network() -> Iterator[None]:
    """Every new socket raises: proves that loading and running models fetches nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", _NoNetwork)
        mp.setattr(socket, "create_connection", _refuse)
        yield


def _refuse(*args: Any, **kwargs: Any) -> socket.socket:
    raise OSError("network access attempted during an offline test")


@pytest.fixture(scope="session")
def models() -> list[Classifier]:
    """nudenet + age, loaded (sessions open) while no socket can be made."""
    pytest.importorskip("onnxruntime", reason="needs the classify extra")
    pytest.importorskip("dlib", reason="needs the classify extra")
    with no_network():
        return load_classifiers(["nudenet", "age"], load=True)


def astronaut() -> Image.Image:
    """scikit-image's astronaut (Eileen Collins, NASA portrait, public domain), 512x512."""
    data = pytest.importorskip("skimage.data", reason="needs scikit-image (demo extra)")
    return Image.fromarray(data.astronaut())


def sample_of(image: Image.Image, fmt: str = "JPEG", path: str | None = None) -> Sample:
    data = image_bytes(image, fmt)
    return Sample(decode_image(data, draft_size=512), data=data, path=path)


def astronaut_sample() -> Sample:
    return sample_of(astronaut(), path="astronaut.jpg")


def synth_sample(seed: int, size: tuple[int, int] = (320, 240)) -> Sample:
    return sample_of(synth_image(seed, size), path=f"synth-{seed}.jpg")


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


class FakeClassifier:
    """Returns chosen scores (and faces) per image; records what it was given."""

    def __init__(
        self,
        name: str = "fake",
        *,
        stage: int = 50,
        result: Callable[[Sample, Sequence[Classification]], Classification] | None = None,
        scores: dict[str, float] | None = None,
        fail_on: Callable[[Sample], bool] | None = None,
    ) -> None:
        self.name = name
        self.model = f"{name}-model"
        self.version = "1"
        self.stage = stage
        self._result = result
        self._scores = scores or {}
        self._fail_on = fail_on
        self.calls: list[tuple[int, list[list[Classification]]]] = []

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]:
        earlier = [list(p) for p in prior] if prior is not None else [[] for _ in batch]
        self.calls.append((len(batch), earlier))
        out = []
        for sample, before in zip(batch, earlier, strict=True):
            if self._fail_on is not None and self._fail_on(sample):
                raise ValueError(f"cannot handle {sample.path}")
            if self._result is not None:
                out.append(self._result(sample, before))
            else:
                out.append(Classification(self.name, self.model, self.version, dict(self._scores)))
        return out
