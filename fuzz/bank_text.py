"""Harness: bytes as a plain text hash list -> ``needle.banks.registry.get("text").read``,
then the format's own round trip (``_banks``). Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = (
    "bank.txt",
    "hashes.text",
    "list",
)

TestOneInput = harness("text", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
