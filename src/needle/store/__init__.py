"""Storage of banks, scan jobs and file records: SQLite by default, PostgreSQL alike.

Schema changes go through Alembic migrations (``needle/store/migrations``); opening a
``Store`` migrates the database to the newest revision.
"""

from __future__ import annotations

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
