"""Reports read from the store: the JSONL export of a scan, the VICS export of reviewed items
(``needle.report.vics``) and the offline triage report (``needle.report.triage``)."""

from __future__ import annotations

from needle.report.jsonl import write_jsonl
from needle.report.triage import write_triage_report
from needle.report.vics import build_vics, write_vics

__all__ = ["build_vics", "write_jsonl", "write_triage_report", "write_vics"]
