"""The offline triage report of a scan: one self-contained HTML file (counts, inline SVG
charts, the top rows), and CSV and JSONL of every row. See ``writer`` for the flow."""

from __future__ import annotations

from needle.report.triage.model import (
    AI_STATES,
    CSV_COLUMNS,
    TriageReport,
    TriageRow,
    TriageSummary,
)
from needle.report.triage.writer import DEFAULT_THUMBNAILS, DEFAULT_TOP, write_triage_report

__all__ = [
    "AI_STATES",
    "CSV_COLUMNS",
    "DEFAULT_THUMBNAILS",
    "DEFAULT_TOP",
    "TriageReport",
    "TriageRow",
    "TriageSummary",
    "write_triage_report",
]
