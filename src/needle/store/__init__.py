"""Storage of banks, scan jobs and file records: SQLite by default, PostgreSQL alike.

Schema changes go through Alembic migrations (``needle/store/migrations``); opening a
``Store`` migrates the database to the newest revision.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from needle.store.engine import DEFAULT_DB, normalise_url
    from needle.store.record import (
        EmbeddedPrompt,
        FileRecord,
        GuardFinding,
        ScanRecord,
        StoredRecord,
        export_record,
    )
    from needle.store.store import BankSummary, Job, JobSummary, Store, path_key

#: where each name lives: the records are plain data, the store needs SQLAlchemy and Alembic
#: (about 0.4 s to import), so a worker that only makes records does not load them
_HOMES = {
    "DEFAULT_DB": "engine",
    "normalise_url": "engine",
    "EmbeddedPrompt": "record",
    "FileRecord": "record",
    "GuardFinding": "record",
    "ScanRecord": "record",
    "StoredRecord": "record",
    "export_record": "record",
    "BankSummary": "store",
    "Job": "store",
    "JobSummary": "store",
    "Store": "store",
    "path_key": "store",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'needle.store' has no attribute {name!r}")
    value = getattr(import_module(f"needle.store.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_DB",
    "BankSummary",
    "EmbeddedPrompt",
    "FileRecord",
    "GuardFinding",
    "Job",
    "JobSummary",
    "ScanRecord",
    "Store",
    "StoredRecord",
    "export_record",
    "normalise_url",
    "path_key",
]
