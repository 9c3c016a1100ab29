"""The ``te-simple-csv`` format: python-threatexchange's ``simple.<TYPE>.te`` CSV files.

What the file is (read from facebook/ThreatExchange ``python-threatexchange``,
``threatexchange/cli/dataset/simple_serialization.py`` and ``SimpleDescriptorRollup`` in
``exchanges/clients/fb_threatexchange/descriptor.py``): the ThreatExchange threat-updates
cache of the 0.x CLI and of HMA keeps one file per indicator type, named
``simple.<indicator_type>.te`` (``simple.HASH_PDQ.te``, ``simple.HASH_MD5.te``; the older
per-signal-type files are ``<signal_name>.te``, e.g. ``pdq.te``). ``CliIndicatorSerialization``
and ``HMASerialization`` ``.store`` and ``.load`` them. The 1.x ``threatexchange`` CLI does
not read them (it keeps its fetched state in pickles): to match with it, export
``te-local-file`` (``needle.banks.te_local_file``). Each file is CSV written by
``csv.writer``, one row per indicator::

    <indicator>,<first_descriptor_id>,<added_on>,<labels separated by spaces>

``first_descriptor_id`` is an integer (the ThreatExchange descriptor that first reported
the hash), ``added_on`` a timestamp string (or ``mine`` for one's own opinion). The HMA
variant (``HMASerialization``) adds the indicator id as the second column::

    <indicator>,<indicator_id>,<first_descriptor_id>,<added_on>,<labels>

In: such a file. The signal type comes from the ``signal_type`` argument, else from the file
name (``simple.pdq.te``, ``simple.HASH_PDQ.te``, ``pdq.te``, ``video_md5.te`` ...). Rows of 4
or 5 columns are read as above, a row of one column as a bare hash; any other shape, a
non-integer descriptor id or a bad hash is an ``ImportProblem``.

Out: entries whose labels are the space-separated labels and whose meta keeps
``first_descriptor_id``, ``added_on`` and ``indicator_id`` (when present; a descriptor id
of 0 and an empty ``added_on`` mean "absent", which is what export writes for entries that
have none). A label containing whitespace cannot be stored: export joins its words with
``_`` and reports the entry among those whose labels changed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import IO, ClassVar

from needle.banks._common import Collector, csv_rows, make_entry, resolve_type, shorten
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, BankFormatError, SignalFormatError

__all__ = ["META_KEYS", "ThreatExchangeFormat", "signal_type_from_filename"]

#: meta keys this format stores
META_KEYS = ("indicator_id", "first_descriptor_id", "added_on")
_NAME = re.compile(r"(?:simple\.)?([A-Za-z0-9_]+)\.te", re.IGNORECASE)


def signal_type_from_filename(filename: str) -> str | None:
    """The signal type a ``.te`` file name says (``simple.HASH_PDQ.te`` -> ``pdq``), or None."""
    match = _NAME.fullmatch(PurePath(filename).name)
    if not match:
        return None
    try:
        return resolve_type(match.group(1))
    except SignalFormatError:
        return None


def _label(text: str) -> str:
    return "_".join(text.split())


def _descriptor(text: str) -> str:
    """A descriptor id as the file needs it: an integer, 0 when absent or not a number."""
    try:
        return str(int(text))
    except ValueError:
        return "0"


class ThreatExchangeFormat:
    """python-threatexchange ``simple.<TYPE>.te`` files; see the module docstring."""

    name: ClassVar[str] = "te-simple-csv"
    description: ClassVar[str] = (
        "python-threatexchange's simple.TYPE.te CSV (CliIndicatorSerialization, HMA); "
        "one type a file, named e.g. simple.HASH_PDQ.te"
    )
    suffixes: ClassVar[tuple[str, ...]] = (".te",)
    signal_types: ClassVar[frozenset[str] | None] = None

    def sniff(self, head: bytes, filename: str) -> bool:
        return _NAME.fullmatch(PurePath(filename).name) is not None

    def signal_type_from_filename(self, filename: str) -> str | None:
        return signal_type_from_filename(filename)

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult:
        type_name = resolve_type(signal_type) if signal_type else None
        type_name = type_name or signal_type_from_filename(filename)
        if type_name is None:
            raise BankFormatError(
                f"cannot tell the signal type of ThreatExchange file {filename or '(stream)'!r}: "
                "name it simple.<type>.te (e.g. simple.pdq.te, simple.HASH_MD5.te) "
                "or give the type (signal_type='pdq')"
            )
        collector = Collector(self.name, sink=sink)
        for start, row in csv_rows(stream, collector):
            if not any(cell.strip() for cell in row):
                continue
            try:
                collector.add(self._entry(type_name, row))
            except (SignalFormatError, ValueError) as exc:
                collector.problem(start, str(exc))
        return collector.result

    @staticmethod
    def _entry(type_name: str, row: list[str]) -> BankEntry:
        meta: dict[str, str] = {}
        labels: list[str] = []
        if len(row) == 5:
            value, indicator_id, descriptor, added_on, label_text = row
            if indicator_id.strip():
                meta["indicator_id"] = indicator_id.strip()
        elif len(row) == 4:
            value, descriptor, added_on, label_text = row
        elif len(row) == 1:
            value, descriptor, added_on, label_text = row[0], "0", "", ""
        else:
            raise ValueError(
                f"expected 4 columns (signal,first_descriptor_id,added_on,labels) "
                f"or 5 (with indicator_id), got {len(row)}"
            )
        try:
            descriptor_id = int(descriptor)
        except ValueError:
            raise ValueError(
                f"first_descriptor_id is not an integer: {shorten(descriptor)}"
            ) from None
        if descriptor_id:
            meta["first_descriptor_id"] = str(descriptor_id)
        if added_on.strip():
            meta["added_on"] = added_on.strip()
        labels = label_text.split()
        try:
            return make_entry(type_name, value, labels, meta)
        except SignalFormatError as exc:
            raise SignalFormatError(f"{exc} (value {shorten(value)})") from None

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        rows: list[tuple[str, ...]] = []
        with_id = False
        for entry in entries:
            if signal_type is None:
                signal_type = entry.signal_type
            if entry.signal_type != signal_type:
                raise BankError(
                    f"a ThreatExchange .te file holds one signal type; got {signal_type} and "
                    f"{entry.signal_type}. Write one file per type (simple.<type>.te)"
                )
            kept = self.kept(entry)
            with_id = with_id or "indicator_id" in kept.meta
            rows.append(
                (
                    entry.value,
                    kept.meta.get("indicator_id", ""),
                    kept.meta.get("first_descriptor_id", "0"),
                    kept.meta.get("added_on", ""),
                    " ".join(kept.labels),
                )
            )
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        try:
            writer = csv.writer(text)  # python-threatexchange writes csv.writer's defaults
            for row in rows:
                writer.writerow(row if with_id else (row[0], *row[2:]))
        finally:
            text.detach()

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: labels without inner whitespace, three meta keys."""
        labels = tuple(dict.fromkeys(_label(label) for label in entry.labels if label.strip()))
        meta = {k: entry.meta[k].strip() for k in META_KEYS if entry.meta.get(k, "").strip()}
        descriptor = _descriptor(meta.pop("first_descriptor_id", ""))
        if descriptor != "0":
            meta["first_descriptor_id"] = descriptor
        return BankEntry(entry.signal_type, entry.value, labels, meta)
