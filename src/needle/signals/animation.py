"""Animated GIF and WebP as videos: the vPDQ of their frames.

In: the bytes of an image that ``needle.media.decode_image`` found to have several frames
(GIF, WebP) and ``Limits``. Out: the ``VpdqFeature`` of its sampled frames (frame number,
quality, PDQ, time in seconds), or a ``MediaError`` saying why they could not be read.

An animation has no frame rate: each frame has its own duration. A frame is hashed when its
start time reaches the next multiple of ``seconds_per_hash`` (every frame when that is 0),
which for a constant frame duration samples as the video reference does (one frame a second
by default); the timestamp is the frame's start time. Frames are composited by Pillow
(disposal and blending applied), as a viewer shows them, and hashed at their canvas size.

Bounded as videos are: at most ``Limits.max_video_frames`` frames and
``Limits.max_video_decode_seconds`` of decoding; the canvas was already checked against the
image limits by the first decode.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageSequence

from needle.errors import CorruptMedia, MediaError, MediaTooLarge
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.signals.pdq import pdq_hash_pixels
from needle.signals.vpdq import VpdqFeature

__all__ = ["ANIMATED_FORMATS", "animation_features"]

#: formats whose several frames are a moving picture (not pages, as in TIFF or PDF)
ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})  # PNG: APNG

#: a frame without a duration is shown this long (browsers use about 0.1 s)
DEFAULT_FRAME_SECONDS = 0.1


def animation_features(
    data: bytes,
    *,
    seconds_per_hash: float = 1.0,
    dihedral: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[VpdqFeature, ...]:
    """The vPDQ of an animation's sampled frames (``dihedral``: with the 8 variants each)."""
    deadline = clock() + limits.max_video_decode_seconds
    features = []
    start = 0.0
    due = 0.0
    try:
        with Image.open(io.BytesIO(data)) as image:
            for number, frame in enumerate(ImageSequence.Iterator(image)):
                if number >= limits.max_video_frames:
                    raise MediaTooLarge(
                        f"the animation has more than {limits.max_video_frames:,} frames "
                        "(Limits.max_video_frames)"
                    )
                if clock() > deadline:
                    raise MediaTooLarge(
                        f"decoding the animation took over {limits.max_video_decode_seconds:g} s "
                        "(Limits.max_video_decode_seconds)"
                    )
                if start >= due - 1e-9:
                    rgb = np.asarray(frame.convert("RGB"))
                    signal = pdq_hash_pixels(rgb, dihedral=dihedral, trim=False)
                    features.append(
                        VpdqFeature(
                            number, signal.quality or 0, signal.value, round(start, 6),
                            signal.variants,
                        )
                    )  # fmt: skip
                    if seconds_per_hash > 0:
                        due = (math.floor(start / seconds_per_hash + 1e-9) + 1) * seconds_per_hash
                seconds = frame.info.get("duration") or DEFAULT_FRAME_SECONDS * 1000
                start += max(float(seconds), 0.0) / 1000
    except MediaError:
        raise
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode the animation's frames") from None
    except Exception as exc:  # Pillow raises many kinds on damaged frames
        if features:
            return tuple(features)  # frames up to the damage, as a video decoder gives them
        raise CorruptMedia(f"cannot decode the animation's frames: {exc}") from None
    return tuple(features)
