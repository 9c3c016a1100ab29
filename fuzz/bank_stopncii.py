"""Harness: bytes as a StopNCII hash-records JSON page ->
``needle.banks.registry.get("stopncii").read``, then the format's own round trip (``_banks``).
Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = (
    "stopncii.json",
    "export",
)

TestOneInput = harness("stopncii", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
