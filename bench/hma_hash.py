"""The HMA way as a command, the baseline of ``bench/hash_cli.py``: PDQ of every file under the
given folders with python-threatexchange's hasher (``pdq_hasher.pdq_from_file``: Pillow decodes
the whole image, converts it to RGB, ``pdqhash.compute``), which is what Meta's HMA calls.

Prints ``PATH<TAB>PDQ<TAB>QUALITY`` per file, in sorted order::

    .venv/bin/python bench/hma_hash.py FOLDER...
"""

from __future__ import annotations

import sys
from pathlib import Path

from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file


def main(argv: list[str]) -> int:
    files = sorted(p for folder in argv for p in Path(folder).rglob("*") if p.is_file())
    for path in files:
        value, quality = pdq_from_file(path)
        print(f"{path}\t{value}\t{quality}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
