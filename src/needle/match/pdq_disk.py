"""A PDQ index on disk: written once, memory-mapped by every process that opens it.

In: a built ``PDQIndex`` (``save_index``), or the files ``needle.match.pdq_build`` streams
into a staging directory; later, the directory to open. Out: the directory, and a
``PDQIndex`` whose arrays are mapped from its files (``open_index``). A second process (the
review service's workers, a scan) answers exactly as the index that was built, without
rebuilding anything, and the kernel keeps one copy of the files in its page cache for all.

A directory (format version 1)::

    manifest.json  format, version, row count, threshold and plan (chunk widths and radii),
                   where the rows came from, and per file its dtype, shape, size in bytes
                   and the sha256 of its data; written last
    hashes.npy     (n, 32) uint8: row i's hash
    offsets.npy    every probed chunk's bucket offsets, one table after another
                   (``table_layout``), counted from the start of the chunk's rows
    rows.npy       (chunks, n): each chunk's row ids, sorted by that chunk's key
    deleted.npy    optional: rows deleted since (``needle.match.pdq_live``), a bitmap

Offsets and row ids are int32 below 2**31 rows, else int64. Files are ordinary ``.npy``
(``np.load`` reads them) with a 128-byte header, so the hashes start on a cache line. A
directory is written under a temporary name beside its final one and renamed into place
only when whole, so a killed build leaves nothing that opens. ``open_index`` checks the
manifest, each file's size, dtype and shape, and the ends of every offset table: a
truncated, missing or foreign file, a damaged manifest or another format version is an
``IndexFormatError`` saying what to do. ``verify=True`` also hashes every file (seconds a
GB), which finds a damaged byte anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from needle.errors import ConfigError
from needle.match.pdq import PDQIndex
from needle.match.pdq_tables import PDQ_BITS, PDQ_BYTES, STRATEGIES, PDQPlan, table_layout

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "FileEntry",
    "IndexFormatError",
    "IndexManifest",
    "IndexSource",
    "NpyWriter",
    "open_index",
    "read_manifest",
    "save_index",
    "staging",
    "verify_index",
    "write_manifest",
]

FORMAT = "needle-pdq-index"
#: bumped whenever a file's layout or meaning changes; older versions are refused, not guessed
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
HASHES, OFFSETS, ROWS, DELETED = "hashes.npy", "offsets.npy", "rows.npy", "deleted.npy"
#: bytes kept for every .npy header: a multiple of 64, so the data starts on a cache line
HEADER_BYTES = 128
#: rows read or written per block when streaming a file (32 MiB of hashes)
BLOCK_ROWS = 1 << 20
#: bytes hashed per read by ``verify``
_HASH_READ = 1 << 24


class IndexFormatError(ConfigError):
    """A saved PDQ index cannot be used: missing, truncated, damaged, or another version."""


@dataclass(frozen=True)
class FileEntry:
    """One file of an index as the manifest describes it."""

    dtype: str
    shape: tuple[int, ...]
    bytes: int  # the whole file, header included
    sha256: str  # of the data after the header


@dataclass(frozen=True)
class IndexSource:
    """Where an index's rows came from, so that it can be refreshed.

    ``kind``: ``array``, ``file`` (``name`` its path), ``store`` (``name`` the bank;
    ``last_entry_id`` the last bank entry read, rows in entry id order) or ``merge`` (a
    base and its delta, ``needle.match.pdq_live``).
    """

    kind: str = "array"
    name: str = ""
    last_entry_id: int | None = None


@dataclass(frozen=True)
class IndexManifest:
    """What ``manifest.json`` holds."""

    rows: int
    plan: PDQPlan
    files: Mapping[str, FileEntry]
    source: IndexSource = field(default_factory=IndexSource)
    created: str = ""
    version: int = FORMAT_VERSION

    @property
    def threshold(self) -> int:
        return self.plan.threshold

    def to_json(self) -> str:
        plan = self.plan
        body = {
            "format": FORMAT,
            "version": self.version,
            "rows": self.rows,
            "threshold": plan.threshold,
            "plan": {
                "strategy": plan.strategy,
                "widths": list(plan.widths),
                "radii": list(plan.radii),
                "cost_ns": plan.cost_ns,
            },
            "files": {
                name: {**asdict(entry), "shape": list(entry.shape)}
                for name, entry in sorted(self.files.items())
            },
            "source": asdict(self.source),
            "created": self.created,
        }
        return json.dumps(body, indent=2) + "\n"


def _unusable(where: Path, why: str) -> IndexFormatError:
    return IndexFormatError(
        f"{where} is not a usable PDQ index: {why}; rebuild it (needle.match.pdq_build)"
    )


def _manifest_from_json(text: str, where: Path) -> IndexManifest:
    """Parse and check a manifest; every problem is an ``IndexFormatError`` naming ``where``."""

    def bad(why: str) -> IndexFormatError:
        return _unusable(where, why)

    try:
        body = json.loads(text)
    except ValueError as exc:
        raise bad(f"its manifest is not JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise bad(f"its manifest does not describe a {FORMAT}")
    if body.get("version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{where} is a PDQ index of format version {body.get('version')!r}; this needle "
            f"reads version {FORMAT_VERSION}: rebuild the index with this version"
        )
    try:
        raw_plan = body["plan"]
        plan = PDQPlan(
            str(raw_plan["strategy"]),
            int(body["threshold"]),
            tuple(int(w) for w in raw_plan["widths"]),
            tuple(int(r) for r in raw_plan["radii"]),
            float(raw_plan["cost_ns"]),
        )
        files = {
            str(name): FileEntry(
                str(e["dtype"]),
                tuple(int(d) for d in e["shape"]),
                int(e["bytes"]),
                str(e["sha256"]),
            )
            for name, e in body["files"].items()
        }
        raw_source = body.get("source") or {}
        last = raw_source.get("last_entry_id")
        source = IndexSource(
            str(raw_source.get("kind", "array")),
            str(raw_source.get("name", "")),
            None if last is None else int(last),
        )
        manifest = IndexManifest(int(body["rows"]), plan, files, source, str(body["created"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise bad(f"its manifest lacks or garbles {exc}") from None
    _check_plan(manifest, where)
    return manifest


def _check_plan(manifest: IndexManifest, where: Path) -> None:
    """The manifest's plan and files agree with each other (shapes, bits, radii)."""
    plan, n = manifest.plan, manifest.rows

    def bad(why: str) -> IndexFormatError:
        return _unusable(where, why)

    if n < 0 or plan.strategy not in STRATEGIES[1:] or not 0 <= plan.threshold <= PDQ_BITS:
        raise bad("its row count, strategy or threshold is out of range")
    if HASHES not in manifest.files or manifest.files[HASHES].shape != (n, PDQ_BYTES):
        raise bad(f"its manifest does not list {HASHES} as ({n}, {PDQ_BYTES})")
    if plan.strategy == "brute-force":
        return
    if (
        sum(plan.widths) != PDQ_BITS
        or len(plan.radii) != len(plan.widths)
        or sum(r + 1 for r in plan.radii) < plan.threshold + 1
        or not all(1 <= w <= 32 for w in plan.widths)
    ):
        raise bad("its plan does not cover 256 bits with enough radius for its threshold")
    _, widths, table = table_layout(plan)
    if manifest.files.get(OFFSETS, FileEntry("", (), 0, "")).shape != (int(table[-1]),):
        raise bad(f"its manifest lists {OFFSETS} with another shape than its plan needs")
    if manifest.files.get(ROWS, FileEntry("", (), 0, "")).shape != (len(widths), n):
        raise bad(f"its manifest lists {ROWS} with another shape than its plan needs")


def read_manifest(directory: str | os.PathLike[str]) -> IndexManifest:
    """The manifest of the index in ``directory`` (checked, not its files)."""
    where = Path(directory)
    try:
        text = (where / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IndexFormatError(
            f"no PDQ index at {where}: {MANIFEST} is missing (a build that did not finish "
            "leaves none); build one with needle.match.pdq_build"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"cannot read {where / MANIFEST}: {exc}") from None
    return _manifest_from_json(text, where)


def write_manifest(folder: Path, manifest: IndexManifest) -> None:
    """Write ``manifest.json`` (last of all, and synced: its presence means a whole index)."""
    path = folder / MANIFEST
    with path.open("w", encoding="utf-8") as out:
        out.write(manifest.to_json())
        out.flush()
        os.fsync(out.fileno())


class NpyWriter:
    """One ``.npy`` file written a block at a time, hashed as it goes.

    Its first dimension is counted from the blocks given (``row_shape`` is the rest), so
    a stream of unknown length can be written; the header goes last into the
    ``HEADER_BYTES`` kept for it. Written with plain file writes, not a mapping, so the
    pages written are not counted in the writer's resident memory.
    """

    def __init__(self, path: Path, dtype: np.dtype | type, row_shape: tuple[int, ...] = ()):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row_shape = row_shape
        self._per_row = int(np.prod(row_shape, dtype=np.int64)) if row_shape else 1
        self._items = 0
        self._sha = hashlib.sha256()
        self._file = path.open("wb")
        self._file.write(b"\0" * HEADER_BYTES)

    @property
    def rows(self) -> int:
        return self._items // self._per_row

    def write(self, block: np.ndarray) -> None:
        """Append ``block``'s items (any shape, converted to the file's dtype)."""
        data = np.ascontiguousarray(block, dtype=self.dtype)
        if data.size:
            view = data.reshape(-1).data.cast("B")
            self._file.write(view)
            self._sha.update(view)
            self._items += data.size

    def close(self) -> FileEntry:
        """Write the header, sync, close; the file's manifest entry."""
        if self._items % self._per_row:
            raise ValueError(f"{self.path.name}: {self._items} items do not fill whole rows")
        shape = (self.rows, *self.row_shape)
        self._file.seek(0)
        self._file.write(_npy_header(self.dtype, shape))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        size = HEADER_BYTES + self._items * self.dtype.itemsize
        return FileEntry(self.dtype.str, shape, size, self._sha.hexdigest())

    def abort(self) -> None:
        self._file.close()


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """numpy's own version 1.0 header for ``dtype`` and ``shape``, padded to exactly
    ``HEADER_BYTES`` (a reader accepts any padding before the closing newline)."""
    buf = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(dtype)
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    header = buf.getvalue()
    text = header[10:].rstrip(b" \n")  # magic (6), version (2), length (2), then the dict
    if 10 + len(text) + 1 > HEADER_BYTES:
        raise ValueError(f"a .npy header for shape {shape} does not fit {HEADER_BYTES} bytes")
    text = text.ljust(HEADER_BYTES - 10 - 1) + b"\n"
    return header[:8] + len(text).to_bytes(2, "little") + text


def write_array(path: Path, array: np.ndarray) -> FileEntry:
    """A whole array to ``path`` as ``.npy``, a block at a time (it may be memory-mapped)."""
    writer = NpyWriter(path, array.dtype, tuple(array.shape[1:]))
    try:
        for start in range(0, len(array), BLOCK_ROWS):
            writer.write(array[start : start + BLOCK_ROWS])
        return writer.close()
    except BaseException:
        writer.abort()
        raise


@contextmanager
def staging(directory: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """A fresh folder beside ``directory`` to write an index into, renamed to ``directory``
    when the block ends without error (and removed when it fails).

    The rename is atomic, so ``directory`` never holds half an index. ``replace`` allows an
    existing index there to be swapped out (two renames: for that instant, an opener is told
    there is no index); without it an existing ``directory`` is refused before any work.
    """
    final = Path(directory)
    if final.exists() and not replace:
        raise ConfigError(f"{final} already exists; remove it or pass replace=True")
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    try:
        yield folder
        _sync_dir(folder)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.rename(final, old / final.name)
            os.rename(folder, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(folder, final)
        _sync_dir(final.parent)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save_index(
    index: PDQIndex,
    directory: str | os.PathLike[str],
    *,
    replace: bool = False,
    source: IndexSource | None = None,
    deleted: np.ndarray | None = None,
) -> Path:
    """Write ``index`` to ``directory`` (``PDQIndex.save``); ``deleted``: a tombstone
    bitmap to keep with it (``needle.match.pdq_live``)."""
    with staging(directory, replace=replace) as folder:
        files = {HASHES: write_array(folder / HASHES, index.hashes)}
        if index.plan.strategy == "multi-index":
            offsets, rows = index.tables
            files[OFFSETS] = write_array(folder / OFFSETS, offsets)
            files[ROWS] = write_array(folder / ROWS, rows.reshape(-1, len(index)))
        if deleted is not None:
            files[DELETED] = write_array(folder / DELETED, deleted)
        manifest = IndexManifest(len(index), index.plan, files, source or IndexSource(), now_iso())
        write_manifest(folder, manifest)
    return Path(directory)


def open_index(directory: str | os.PathLike[str], *, verify: bool = False) -> PDQIndex:
    """The index saved in ``directory``, memory-mapped (``PDQIndex.open``)."""
    where = Path(directory)
    manifest = read_manifest(where)
    arrays = {
        name: map_file(where, name, entry, verify=verify) for name, entry in manifest.files.items()
    }
    words = arrays[HASHES].view(np.uint64).reshape(-1, PDQ_BITS // 64)
    plan = manifest.plan
    if plan.strategy == "brute-force":
        offsets = rows = np.zeros(0, dtype=np.int32)
    else:
        offsets, rows = arrays[OFFSETS], arrays[ROWS].reshape(-1)
        _check_offsets(where, offsets, plan, manifest.rows)
    return PDQIndex._from_tables(words, plan, offsets, rows, origin=str(where))


def _check_offsets(where: Path, offsets: np.ndarray, plan: PDQPlan, n: int) -> None:
    """Every table starts at 0 and ends at ``n`` (cheap: two reads a table)."""
    _, _, table = table_layout(plan)
    if (offsets[table[:-1]] != 0).any() or (offsets[table[1:] - 1] != n).any():
        raise IndexFormatError(
            f"{where / OFFSETS} is damaged (a bucket table does not run from 0 to {n}); "
            "rebuild the index"
        )


def map_file(where: Path, name: str, entry: FileEntry, *, verify: bool = False) -> np.ndarray:
    """One file of the index, memory-mapped read-only, after checking it against ``entry``."""
    path = where / name
    try:
        size = path.stat().st_size
    except OSError:
        raise IndexFormatError(f"{path} is missing; rebuild the index") from None
    if size != entry.bytes:
        raise IndexFormatError(
            f"{path} is {size:,} bytes where the manifest says {entry.bytes:,} (truncated or "
            "replaced); rebuild the index"
        )
    if verify:
        _verify_sha256(path, entry)
    try:
        if size == HEADER_BYTES:  # nothing to map: an empty array
            array = np.load(path, allow_pickle=False)
        else:
            array = np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"{path} is not a readable .npy file ({exc}); rebuild") from None
    if array.dtype.str != entry.dtype or array.shape != entry.shape:
        raise IndexFormatError(
            f"{path} holds {array.dtype.str} {array.shape}, the manifest says {entry.dtype} "
            f"{entry.shape}; rebuild the index"
        )
    return array


def _verify_sha256(path: Path, entry: FileEntry) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        data.seek(HEADER_BYTES)
        while chunk := data.read(_HASH_READ):
            digest.update(chunk)
    if digest.hexdigest() != entry.sha256:
        raise IndexFormatError(f"{path} is damaged (its sha256 differs); rebuild the index")


def verify_index(directory: str | os.PathLike[str]) -> IndexManifest:
    """Check every file of the index in ``directory`` against its manifest, sha256 included;
    its manifest when whole, else ``IndexFormatError``."""
    where = Path(directory)
    manifest = read_manifest(where)
    for name, entry in manifest.files.items():
        map_file(where, name, entry, verify=True)
    return manifest
