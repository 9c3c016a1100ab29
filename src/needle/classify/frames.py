"""Which frames of a video the classifiers see, and classifying them.

In: a video's hashed frames, one at a time, with their PDQ (a scan hashes them anyway:
``needle.pipeline.video``), then the loaded classifiers. Out: a bounded set of kept frames
as ``DecodedImage`` (upright, at the models' working size) and one ``Classification`` per
frame and classifier, each with its ``frame_time``.

``FramePicker`` keeps, while the video is decoded once:

- evenly spread frames: every ``stride``-th hashed frame, the stride doubling (and every
  other kept frame dropped) whenever more than ``budget`` are held, so between ``budget / 2``
  and ``budget`` stay, spread over any length without knowing it in advance;
- scene changes: a hashed frame whose PDQ is at least ``SCENE_CHANGE_BITS`` from the frame
  hashed before it, the first ``budget`` of them.

Memory: at most ``2 * budget + 1`` frames of ``KEPT_SIZE`` pixels on the long side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from needle.classify.base import WORKING_SIZE, Classification, Classifier, Sample
from needle.media import DecodedImage

if TYPE_CHECKING:
    from needle.media.video import DecodedFrame
    from needle.signals.vpdq import VpdqFeature

__all__ = ["KEPT_SIZE", "SCENE_CHANGE_BITS", "VIDEO_FRAMES", "FramePicker", "classify_frames"]

#: frames of each video classified, evenly spread (as many scene changes again at most)
VIDEO_FRAMES = 8
#: a hashed frame this many bits or more from the frame hashed before starts a new scene
#: (frames of one shot differ by well under 64 bits; unrelated pictures by about 128)
SCENE_CHANGE_BITS = 80
#: long side of a kept frame: the models' working size
KEPT_SIZE = WORKING_SIZE


@dataclass
class _Kept:
    timestamp: float
    pixels: np.ndarray  #: reduced to ``KEPT_SIZE``, as stored (not yet turned upright)
    size: tuple[int, int]  #: the frame's stored width and height


class FramePicker:
    """Which hashed frames to classify: evenly spread ones and scene changes, bounded."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.stride = 1
        self.count = 0
        self.spread: dict[int, _Kept] = {}
        self.scenes: dict[int, _Kept] = {}
        self.previous: int | None = None

    @property
    def kept(self) -> int:
        return len(self.spread) + len(self.scenes)

    def offer(self, frame: DecodedFrame, feature: VpdqFeature) -> None:
        if self.budget <= 0:
            return
        index, self.count = self.count, self.count + 1
        value = int(feature.pdq, 16)
        change = self.previous is not None and bin(value ^ self.previous).count("1")
        self.previous = value
        if change is not False and change >= SCENE_CHANGE_BITS and len(self.scenes) < self.budget:
            self.scenes[index] = _keep(frame)
        elif index % self.stride == 0:
            self.spread[index] = _keep(frame)
            if len(self.spread) > self.budget:
                self.stride *= 2
                self.spread = {i: k for i, k in self.spread.items() if i % self.stride == 0}

    def frames(self, rotation: int) -> list[tuple[float, DecodedImage]]:
        """The kept frames in time order, upright, as images for the classifiers."""
        from PIL import Image

        kept = sorted({**self.spread, **self.scenes}.items())
        out = []
        for _, k in kept:
            pixels = np.rot90(k.pixels, rotation // 90) if rotation % 360 else k.pixels
            image = Image.fromarray(np.ascontiguousarray(pixels))
            width, height = k.size
            scale = max(1, max(width, height) // max(image.size))
            out.append((k.timestamp, DecodedImage(image, "video", width, height, scale=scale)))
        return out


def _keep(frame: DecodedFrame) -> _Kept:
    """A copy of the frame at the models' working size (the decoder's buffer is reused)."""
    from PIL import Image

    height, width = frame.rgb.shape[:2]
    image = Image.fromarray(frame.rgb)
    if max(width, height) > KEPT_SIZE:
        image.thumbnail((KEPT_SIZE, KEPT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return _Kept(frame.timestamp, np.asarray(image), (width, height))


def classify_frames(
    classifiers: Sequence[Classifier], frames: list[tuple[float, DecodedImage]], *, path: str
) -> tuple[Classification, ...]:
    """Every classifier over the kept frames, one batch; each result names its frame's time."""
    from needle.classify.runner import run_classifiers

    samples = [Sample(image, path=path) for _, image in frames]
    found = run_classifiers(classifiers, samples)
    return tuple(
        replace(c, frame_time=time)
        for (time, _), results in zip(frames, found, strict=True)
        for c in results
    )
