"""Banks: named lists of hashes of known material, and the file formats they travel in.

In: hash-list files from hotlines and exchanges (plain text, CSV, python-threatexchange's
``local_file`` signal files and ``simple.<TYPE>.te`` CSV, Project VIC VICS JSON, StopNCII
JSON, NCMEC hash-sharing XML).
Out: ``ImportResult`` (entries normalised by their signal type, plus an ``ImportProblem`` for
every line or record that was skipped), and files in those formats written back with an
``ExportResult`` that counts what a format could not hold.

    >>> result = read_bank_file("needles.txt", signal_type="pdq")   # doctest: +SKIP
    >>> write_bank_file(result.entries, "out.csv", format="csv")     # doctest: +SKIP

Formats are plugins in ``registry`` (entry-point group ``needle.bank_formats``); one
module per format: ``text``, ``csvfile``, ``threatexchange`` (``te-simple-csv``),
``te_local_file`` (``te-local-file``), ``vics``, ``stopncii``, ``ncmec``. A bank loaded to
be matched holds its values as arrays: ``columns``.
"""

from __future__ import annotations

from needle.banks.formats import (
    ExportResult,
    format_descriptions,
    format_names,
    guess_format,
    read_bank_file,
    registry,
    write_bank_file,
)
from needle.banks.model import Bank, BankEntry, BankFormat, ImportProblem, ImportResult

__all__ = [
    "Bank",
    "BankEntry",
    "BankFormat",
    "ExportResult",
    "ImportProblem",
    "ImportResult",
    "format_descriptions",
    "format_names",
    "guess_format",
    "read_bank_file",
    "registry",
    "write_bank_file",
]
