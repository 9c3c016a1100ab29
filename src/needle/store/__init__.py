"""Storage of banks, scan jobs and file records: SQLite by default, PostgreSQL alike.

Schema changes go through Alembic migrations (``needle/store/migrations``); opening a
``Store`` migrates the database to the newest revision.
"""

from __future__ import annotations

from needle.store.engine import DEFAULT_DB, normalise_url
from needle.store.store import BankSummary, Job, JobSummary, Store, StoredRecord, path_key

__all__ = [
    "DEFAULT_DB",
    "BankSummary",
    "Job",
    "JobSummary",
    "Store",
    "StoredRecord",
    "normalise_url",
    "path_key",
]
