"""What a bank is: named hash lists with a per-bank PDQ threshold, and what an import yields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, ClassVar, Protocol

from needle.signals.pdq import PDQ_MATCH_DISTANCE

__all__ = [
    "META_REGION",
    "META_SOURCE_FILE",
    "META_SOURCE_SHA256",
    "Bank",
    "BankEntry",
    "BankFormat",
    "EntrySink",
    "ImportProblem",
    "ImportResult",
]

#: how many problems an ``ImportResult`` keeps; the rest are only counted, so a file of
#: millions of bad lines costs a counter, not millions of messages
MAX_KEPT_PROBLEMS = 1000

#: meta keys of entries a bank made from media itself (``needle bank add NAME FILE``,
#: ``needle.banks.from_media``): the name of the file an entry was computed from, that file's
#: sha256 (one value for all entries of one file), and for a PDQ hash of a part of the picture
#: the part's name (``needle.signals.regions.BANK_REGIONS``: "centre 90%", ...)
META_SOURCE_FILE = "source_file"
META_SOURCE_SHA256 = "source_sha256"
META_REGION = "region"


@dataclass(frozen=True)
class BankEntry:
    """One hash in a bank.

    ``value`` is normalised by its signal type (lower-case hex). ``labels`` are free-form
    categories (e.g. a VICS ``Category``); ``meta`` keeps source fields needle does not
    interpret but must not lose (``MediaID``, an opaque ``PhotoDNA`` value, ...), and for
    entries computed from a file by needle, which file and, for a PDQ hash of part of the
    picture, which part (``region``, ``source``).
    """

    signal_type: str
    value: str
    labels: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def region(self) -> str | None:
        """The part of the picture this PDQ hash is of ("centre 90%"), or None when it is of
        the whole picture (every entry of a hash list from elsewhere)."""
        return self.meta.get(META_REGION) or None

    @property
    def source(self) -> str | None:
        """The sha256 of the file this entry was computed from, when needle computed it."""
        return self.meta.get(META_SOURCE_SHA256) or None


@dataclass(frozen=True)
class ImportProblem:
    """A line or record that was skipped, and why. ``line`` is 1-based; 0 when it could not be
    told (a JSON record inside a document nested too deeply to re-read for positions)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


#: where a streaming read hands its entries, a chunk at a time (``Store.bank_import``'s ``add``)
EntrySink = Callable[[Sequence[BankEntry]], object]


@dataclass
class ImportResult:
    """What a read gave: entries, and the records it skipped.

    Read with a ``sink``, the entries went to it a chunk at a time: ``streamed`` counts them
    and ``entries`` is empty. ``problems`` keeps the first ``MAX_KEPT_PROBLEMS``;
    ``more_problems`` counts the rest.
    """

    format: str
    entries: list[BankEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    streamed: int = 0
    more_problems: int = 0

    @property
    def count(self) -> int:
        """Entries read: handed to the sink, or held in ``entries``."""
        return self.streamed + len(self.entries)

    @property
    def problem_count(self) -> int:
        """Records skipped, kept or not."""
        return len(self.problems) + self.more_problems


@dataclass
class Bank:
    """A named hash list. ``pdq_threshold`` applies to every PDQ entry of this bank, and to
    each frame of its ``vpdq`` (video) entries; a video matches one of those when at least
    ``vpdq_query_percent`` of its frames are found in it and ``vpdq_compared_percent`` of the
    banked video's frames in it (the vPDQ reference Python bindings' 80 and 0 by default).

    ``entries`` is a list, or for a bank loaded to be matched (``Store.load_bank_columns``)
    a ``needle.banks.columns.BankColumns``: the values as arrays, labels and meta fetched
    from the store only for the entries asked for.
    """

    name: str
    entries: Sequence[BankEntry] = field(default_factory=list)
    pdq_threshold: int = PDQ_MATCH_DISTANCE
    description: str = ""
    vpdq_query_percent: float = 80.0
    vpdq_compared_percent: float = 0.0

    def threshold_for(self, signal_type: str) -> int:
        return self.pdq_threshold if signal_type in ("pdq", "vpdq") else 0


class BankFormat(Protocol):
    """A file format for hash lists. One module per format in ``needle.banks``.

    ``read`` never raises for a bad line or record: it reports an ``ImportProblem`` with the
    line number and goes on. It raises ``BankFormatError`` only when the whole file is
    unreadable (not JSON, not XML, ...). Given a ``sink``, it hands entries to it a chunk at
    a time as it reads (the built-ins do so through ``Collector``), so a file of millions of
    hashes is never held whole; ``read_bank_file`` accepts formats without the parameter.
    """

    name: ClassVar[str]
    #: file-name endings this format is guessed from
    suffixes: ClassVar[tuple[str, ...]]

    def sniff(self, head: bytes, filename: str) -> bool:
        """True when the first bytes/filename look like this format."""
        ...

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult: ...

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None: ...
