"""What a bank is: named hash lists with a per-bank PDQ threshold, and what an import yields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, ClassVar, Protocol

from needle.signals.pdq import PDQ_MATCH_DISTANCE

__all__ = [
    "Bank",
    "BankEntry",
    "BankFormat",
    "ImportProblem",
    "ImportResult",
]


@dataclass(frozen=True)
class BankEntry:
    """One hash in a bank.

    ``value`` is normalised by its signal type (lower-case hex). ``labels`` are free-form
    categories (e.g. a VICS ``Category``); ``meta`` keeps source fields needle does not
    interpret but must not lose (``MediaID``, an opaque ``PhotoDNA`` value, ...).
    """

    signal_type: str
    value: str
    labels: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportProblem:
    """A line or record that was skipped, and why. ``line`` is 1-based; 0 when it could not be
    told (a JSON record inside a document nested too deeply to re-read for positions)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ImportResult:
    format: str
    entries: list[BankEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


@dataclass
class Bank:
    """A named hash list. ``pdq_threshold`` applies to every PDQ entry of this bank."""

    name: str
    entries: list[BankEntry] = field(default_factory=list)
    pdq_threshold: int = PDQ_MATCH_DISTANCE
    description: str = ""

    def threshold_for(self, signal_type: str) -> int:
        return self.pdq_threshold if signal_type == "pdq" else 0


class BankFormat(Protocol):
    """A file format for hash lists. One module per format in ``needle.banks``.

    ``read`` never raises for a bad line or record: it reports an ``ImportProblem`` with the
    line number and goes on. It raises ``BankFormatError`` only when the whole file is
    unreadable (not JSON, not XML, ...).
    """

    name: ClassVar[str]
    #: file-name endings this format is guessed from
    suffixes: ClassVar[tuple[str, ...]]

    def sniff(self, head: bytes, filename: str) -> bool:
        """True when the first bytes/filename look like this format."""
        ...

    def read(
        self, stream: IO[bytes], *, signal_type: str | None = None, filename: str = ""
    ) -> ImportResult: ...

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None: ...
