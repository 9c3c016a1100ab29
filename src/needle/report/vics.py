"""Project VIC VICS export of reviewed items (VICS 1.3 and 2.0).

In: the store's file records and each one's *current* decision (the newest), optionally
limited to one scan job or one case, and a ``VicsConfig`` (decision -> VICS category).
Out: a VICS JSON document (``build_vics``) or a file written atomically (``write_vics``), and
a ``VicsExport`` saying what was written and what was skipped, and why.

The flow:

1. **Select**: every record in scope (all, ``job``, or the items of ``case``) with its current
   decision, read a chunk at a time.
2. **Map**: the decision's category from the config (US defaults: abuse-real -> 1 CAM,
   abuse-ai -> 3 CGI/animation, not-abuse -> 0 non-pertinent). Decisions without a category
   (escalate, second-review by default) and undecided records are skipped and counted, as are
   records without an MD5 or SHA1 (VICS cannot carry them).
3. **Group**: records with the same MD5, SHA1 and category become one media record whose
   ``MediaFiles`` lists every file found with that content (name, path, size).
4. **Write** the version's shape, the one ``needle.banks.vics`` reads back:

   - 2.0: ``"@odata.context"`` ``.../2.0.xml/CUSTOM/$metadata#Media`` (or ``#Cases``); a media
     record has ``MediaID``, ``Category``, ``MD5``, ``SHA1``, ``MediaSize``, ``MediaFiles``.
   - 1.3: ``"odata.metadata"`` ``.../1.3.xml#Media`` (or ``#Cases``); ``SHA1`` travels as an
     ``AlternativeHashes`` entry ``{"HashName": "SHA1", "HashValue": ...}``.

   needle's own PDQ goes into ``AlternativeHashes`` as ``{"HashName": "PDQ", ...}`` in both
   versions: an alternative hash whose name a reader does not know is ignored (needle's
   importer ignores it; it keeps MD5, SHA1 and PhotoDNA).

With a ``case`` the document is a ``#Cases`` export: one case (``CaseNumber`` = the case name)
whose ``Media`` list holds the records. Reviewer notes and account details are never written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from needle.banks.vics import CONTEXT_2_0
from needle.config import read_toml
from needle.errors import ConfigError, ReportError
from needle.review.cases import case_name
from needle.review.decisions import DECISIONS
from needle.review.queue import current_decision
from needle.store import Store
from needle.store.schema import CaseItemRow, FileRow, JobRow

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_CATEGORY_NAMES",
    "VICS_VERSIONS",
    "VicsConfig",
    "VicsExport",
    "build_vics",
    "load_vics_config",
    "vics_context",
    "write_vics",
]

VICS_VERSIONS = ("2.0", "1.3")

#: decision -> VICS category: the US scheme's numbers (Project VIC US category definitions)
DEFAULT_CATEGORIES: Mapping[str, int] = {"abuse-real": 1, "abuse-ai": 3, "not-abuse": 0}
#: category number -> its name in the US scheme
DEFAULT_CATEGORY_NAMES: Mapping[int, str] = {
    0: "non-pertinent",
    1: "CAM",
    2: "exploitive / age-difficult",
    3: "CGI / animation",
    4: "comparison",
}
#: what ``skipped`` calls records that have no decision yet
UNDECIDED = "undecided"
#: what ``skipped`` calls records that have neither an MD5 nor a SHA1
NO_HASH = "no-md5-or-sha1"

_CONTEXT_1_3 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml"
_CHUNK = 1000


def vics_context(version: str, cases: bool = False) -> tuple[str, str]:
    """(key, URI) naming the data model of a ``version`` document of media or cases."""
    what = "#Cases" if cases else "#Media"
    if version == "2.0":
        return "@odata.context", CONTEXT_2_0.rsplit("#", 1)[0] + what
    if version == "1.3":
        return "odata.metadata", _CONTEXT_1_3 + what
    raise ReportError(f"unknown VICS version {version!r}: use one of {', '.join(VICS_VERSIONS)}")


@dataclass(frozen=True)
class VicsConfig:
    """Which decision becomes which VICS category, and what the categories are called."""

    categories: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    names: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_NAMES))

    def category_name(self, number: int) -> str:
        return self.names.get(number, f"category {number}")


def _category_number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a category number (0 or more), got {value!r}")
    return value


def load_vics_config(path: str | Path | None = None) -> VicsConfig:
    """The ``[vics]`` table of a TOML file over the US defaults (no file: the defaults).

    ``[vics.categories]`` maps a decision to a category number (``abuse-ai = 2``;
    ``escalate = 2`` exports escalated items too); ``[vics.category-names]`` names numbers
    (``"2" = "age-difficult"``).
    """
    if path is None:
        return VicsConfig()
    data = read_toml(path, "VICS configuration")
    table = data.get("vics", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [vics] must be a table")
    categories = dict(DEFAULT_CATEGORIES)
    given = table.get("categories", {})
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: [vics.categories] must be a table")
    for decision, number in given.items():
        if decision not in DECISIONS:
            raise ConfigError(
                f"{path}: [vics.categories] names {decision!r}, not a decision "
                f"({', '.join(DECISIONS)})"
            )
        categories[decision] = _category_number(number, f"{path}: [vics.categories] {decision}")
    names = dict(DEFAULT_CATEGORY_NAMES)
    given_names = table.get("category-names", {})
    if not isinstance(given_names, dict):
        raise ConfigError(f"{path}: [vics.category-names] must be a table")
    for key, name in given_names.items():
        if not (str(key).isdigit() and isinstance(name, str) and name.strip()):
            raise ConfigError(
                f'{path}: [vics.category-names] wants number = "name", got {key} = {name!r}'
            )
        names[int(key)] = name.strip()
    return VicsConfig(categories, names)


@dataclass(frozen=True)
class VicsExport:
    """What an export wrote (``media`` records for ``files`` file records, by category) and
    what it left out (``skipped``: decision or reason -> count). ``document`` is the JSON
    document itself (``build_vics``); ``path`` where it was written (``write_vics``)."""

    version: str
    media: int
    files: int
    by_category: Mapping[int, int]
    skipped: Mapping[str, int]
    case: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)
    path: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class _Row:
    id: int
    path: str
    size: int
    md5: str | None
    sha1: str | None
    pdq: str | None
    decision: str | None


def _rows(store: Store, job: int | None, case: str | None) -> Iterator[_Row]:
    """Every record in scope with its current decision, in id order, ``_CHUNK`` at a time."""
    decision = current_decision().label("decision")
    base = sa.select(
        FileRow.id, FileRow.path, FileRow.size, FileRow.md5, FileRow.sha1, FileRow.pdq, decision
    )
    if job is not None:
        base = base.where(FileRow.job_id == job)
    if case is not None:
        base = base.where(
            FileRow.id.in_(sa.select(CaseItemRow.file_id).where(CaseItemRow.case_name == case))
        )
    last = 0
    while True:
        with store.engine.connect() as connection:
            chunk = list(
                connection.execute(base.where(FileRow.id > last).order_by(FileRow.id).limit(_CHUNK))
            )
        if not chunk:
            return
        for r in chunk:
            yield _Row(r.id, r.path, r.size, r.md5, r.sha1, r.pdq, r.decision)
        last = chunk[-1].id


def _check_scope(store: Store, job: int | None, case: str | None) -> None:
    with store.engine.connect() as connection:
        if (
            job is not None
            and connection.scalar(sa.select(JobRow.id).where(JobRow.id == job)) is None
        ):
            raise ReportError(f"no scan job {job}")
        if (
            case is not None
            and connection.scalar(
                sa.select(CaseItemRow.id).where(CaseItemRow.case_name == case).limit(1)
            )
            is None
        ):
            raise ReportError(f"no case named {case!r} (or it holds no items)")


def _media_file(row: _Row) -> dict[str, Any]:
    name = PurePosixPath(row.path.replace("\\", "/")).name or row.path
    return {"FileName": name, "FilePath": row.path, "FileSize": row.size}


def _media(version: str, media_id: int, category: int, row: _Row) -> dict[str, Any]:
    """A media record of ``version``'s shape for the content of ``row``."""
    record: dict[str, Any] = {"MediaID": media_id, "Category": category}
    alternatives: list[dict[str, str]] = []
    if row.md5:
        record["MD5"] = row.md5.upper()
    if row.sha1:
        if version == "2.0":
            record["SHA1"] = row.sha1.upper()
        else:
            alternatives.append({"HashName": "SHA1", "HashValue": row.sha1.upper()})
    if row.pdq:
        alternatives.append({"HashName": "PDQ", "HashValue": row.pdq.lower()})
    record["MediaSize"] = row.size
    if alternatives:
        record["AlternativeHashes"] = alternatives
    record["MediaFiles"] = []
    return record


def build_vics(
    store: Store,
    *,
    version: str = "2.0",
    job: int | None = None,
    case: str | None = None,
    config: VicsConfig | None = None,
) -> VicsExport:
    """The VICS document of the reviewed items in scope; see the module docstring."""
    key, context = vics_context(version, cases=case is not None)
    config = config or VicsConfig()
    case = None if case is None else case_name(case)
    _check_scope(store, job, case)
    skipped: Counter[str] = Counter()
    by_category: Counter[int] = Counter()
    records: dict[tuple[str | None, str | None, int], dict[str, Any]] = {}
    files = 0
    for row in _rows(store, job, case):
        category = config.categories.get(row.decision) if row.decision else None
        if category is None:
            skipped[row.decision or UNDECIDED] += 1
            continue
        if not (row.md5 or row.sha1):
            skipped[NO_HASH] += 1
            continue
        group = (row.md5, row.sha1, category)
        record = records.get(group)
        if record is None:
            record = records[group] = _media(version, len(records) + 1, category, row)
            by_category[category] += 1
        record["MediaFiles"].append(_media_file(row))
        files += 1
    media = list(records.values())
    value: list[dict[str, Any]] = media
    if case is not None:
        value = [{"CaseNumber": case, "Media": media}]
    return VicsExport(
        version, len(media), files, dict(sorted(by_category.items())),
        dict(sorted(skipped.items())), case, {key: context, "value": value},
    )  # fmt: skip


def write_vics(
    store: Store,
    out: str | Path,
    *,
    version: str = "2.0",
    job: int | None = None,
    case: str | None = None,
    config: VicsConfig | None = None,
) -> VicsExport:
    """``build_vics`` written to ``out`` atomically (a temporary file, then a rename)."""
    export = build_vics(store, version=version, job=job, case=case, config=config)
    target = Path(out)
    temp = target.with_name(f".{target.name}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(export.document, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return VicsExport(
        export.version, export.media, export.files, export.by_category, export.skipped,
        export.case, export.document, str(target),
    )  # fmt: skip
