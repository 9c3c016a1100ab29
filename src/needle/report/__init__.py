"""Reports read from the store: JSONL triage export (NCMEC, VICS and HTML come later)."""

from __future__ import annotations

from needle.report.jsonl import write_jsonl

__all__ = ["write_jsonl"]
