"""Harness: image bytes -> ``needle.media.decode_image`` (default ``Limits``) ->
``needle.signals.compute_signals``, as a scan does for every file.

Expected: the ``MediaError`` subclasses ``decode_image`` documents (corrupt, unsupported,
too large). ``compute_signals`` must never raise, on decoded pixels or on undecodable bytes.
Half the inputs (by a checksum of the bytes, so a crash replays) are decoded at the scan's
draft size, which takes the JPEG DCT-scaling and ``reduce`` paths.
"""

from __future__ import annotations

import sys
import zlib

from _harness import instrumented, main

with instrumented("PIL"):
    from PIL import Image

    Image.init()  # imports every format plugin now, inside the instrumented block
    from needle.errors import MediaError
    from needle.media import DEFAULT_LIMITS, decode_image
    from needle.signals import compute_signals

#: the scan's draft size (needle.pipeline.worker.DRAFT_SIZE), repeated to keep the harness on
#: the public API of needle.media
DRAFT_SIZE = 512


def TestOneInput(data: bytes) -> None:
    draft = DRAFT_SIZE if zlib.crc32(data) & 1 else None
    try:
        image = decode_image(data, limits=DEFAULT_LIMITS, draft_size=draft)
    except MediaError:
        image = None
    signals = compute_signals(data, image)
    assert {"md5", "sha1", "sha256"} <= signals.keys()
    if image is not None:
        assert image.image.mode == "RGB", image.image.mode
        assert "pdq" in signals


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
