"""Harness: bytes as a bank file of unknown format -> ``needle.banks.read_bank_file``, which
guesses the format from the name's suffix and the first bytes (``needle bank import`` without
``--format``). The bytes are written once per input under a name chosen from their checksum.
Expected: ``BankFormatError`` only (no format fits, or the file is unreadable as the one that
was guessed).
"""

from __future__ import annotations

import os
import sys
import zlib

from _harness import instrumented, main, scratch

with instrumented("csv", "json", "defusedxml", "xml.etree", "xml.dom"):
    from needle.banks import read_bank_file, registry
    from needle.errors import BankFormatError

    registry.names()

NAMES = ("bank", "bank.txt", "bank.csv", "bank.json", "bank.xml", "simple.pdq.te", "md5.te")


def TestOneInput(data: bytes) -> None:
    path = os.path.join(scratch(), NAMES[zlib.crc32(data) % len(NAMES)])
    with open(path, "wb") as handle:
        handle.write(data)
    try:
        result = read_bank_file(path)
    except BankFormatError:
        return
    finally:
        os.unlink(path)
    assert result.format in registry.names(), result.format


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
