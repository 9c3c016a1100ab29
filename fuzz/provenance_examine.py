"""Harness: file bytes -> ``needle.provenance.examine``: container metadata (PNG chunks, JPEG
segments, WebP chunks), EXIF, XMP, JUMBF/C2PA manifests, stealth bits, generator records
(AUTOMATIC1111, ComfyUI, NovelAI, InvokeAI, Fooocus, Midjourney JSON and text) and the
watermark check.

Expected: nothing. ``examine`` documents that it never raises for bad input (problems go to
``ProvenanceResult.errors``). Half the inputs (by checksum) also pass the scan's decoded
image, as ``needle scan --provenance`` does; the other half are examined from bytes alone, as
``needle provenance FILE`` does.
"""

from __future__ import annotations

import sys
import zlib

from _harness import instrumented, main

# examine() imports its readers on first use: they are imported here, to be instrumented
with instrumented("PIL", "json", "defusedxml", "xml.etree"):
    from PIL import Image

    Image.init()
    import needle.provenance.c2pa_manifest
    import needle.provenance.generators
    import needle.provenance.verdict
    import needle.provenance.watermark  # noqa: F401
    from needle.errors import MediaError
    from needle.media import decode_image
    from needle.provenance import AI_VERDICTS, examine

#: the scan's draft size (needle.pipeline.worker.DRAFT_SIZE)
DRAFT_SIZE = 512


def TestOneInput(data: bytes) -> None:
    image = None
    if zlib.crc32(data) & 1:
        try:
            image = decode_image(data, draft_size=DRAFT_SIZE)
        except MediaError:
            image = None
    result = examine(data, filename="fuzz-input", image=image)
    assert result.ai_generated in AI_VERDICTS, result.ai_generated
    # examine() and the generator registry turn a bug's exception into an error line (their
    # last line of defence); that line is a bug all the same: it costs the file evidence
    for error in result.errors:
        assert not error.startswith("provenance stopped early"), error
        assert not (error.startswith("reader ") and " failed: " in error), error


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
