"""Harness: bytes as a Project VIC VICS JSON file -> ``needle.banks.registry.get("vics").read``,
then the format's own round trip (``_banks``). Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = (
    "vics.json",
    "case",
)

TestOneInput = harness("vics", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
