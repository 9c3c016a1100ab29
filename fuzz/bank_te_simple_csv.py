"""Harness: bytes as a python-threatexchange ``.te`` file (named for its signal type) ->
``needle.banks.registry.get("te-simple-csv").read``, then the format's own round trip
(``_banks``). Expected: ``BankFormatError`` only.
"""

from __future__ import annotations

import sys

from _banks import harness
from _harness import main

#: file names the bytes are read under, one per input (by checksum)
FILENAMES = (
    "simple.pdq.te",
    "simple.HASH_MD5.te",
    "video_md5.te",
    "sha256.te",
    "simple.hash_sha1.te",
)

TestOneInput = harness("te-simple-csv", FILENAMES)

if __name__ == "__main__":
    main(TestOneInput, sys.argv)
