"""Harness: bytes as the hash list python-threatexchange's ``local_file`` collaboration reads
(``TYPE SIGNAL`` lines, or bare hashes) -> ``needle.banks.registry.get("te-local-file").read``,
then the format's own round trip (``_banks``). Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = ("hashes.txt", "local_file.txt", "signals")

TestOneInput = harness("te-local-file", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
