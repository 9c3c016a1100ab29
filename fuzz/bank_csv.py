"""Harness: bytes as a CSV hash list -> ``needle.banks.registry.get("csv").read``,
then the format's own round trip (``_banks``). Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = (
    "bank.csv",
    "hashes",
)

TestOneInput = harness("csv", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
