"""JSON views of what the native API answers: an examined upload, a bank, a scan job.

Each view is built from named fields, as ``needle.store.record.export_record`` is, so nothing
private leaves by accident: an embedded prompt (a generator's prompt found in a file's
metadata) is never part of an answer (``ProvenanceResult.to_dict`` is called without it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from needle.jsonvalue import JSONObject, JSONValue
from needle.pipeline.scan import ScanProgress
from needle.signals import Signal
from needle.store import BankSummary, JobSummary, ScanRecord

__all__ = ["bank_view", "progress_view", "scan_view", "signals_view", "summary_view", "when"]


def signals_view(signals: Mapping[str, Signal]) -> list[JSONValue]:
    return [
        {"type": signal.type, "value": signal.value, "quality": signal.quality}
        for signal in signals.values()
    ]


def scan_view(record: ScanRecord) -> JSONObject:
    """One examined upload: its signals, matches, later stages' results and assessment.

    A file that could not be read or decoded is answered like a scan stores it: ``error``
    and ``error_reason`` say why, and the hashes of its bytes are still there (an md5 list
    can match a file no decoder opens).
    """
    file = record.file
    assessment = record.assessment
    return {
        "name": file.path,
        "size": file.size,
        "format": file.format,
        "width": file.width,
        "height": file.height,
        "signals": signals_view(file.signals),
        "matches": [m.to_dict() for m in record.matches],
        "classifications": [c.to_dict() for c in file.classifications],
        "provenance": (
            file.provenance.to_dict(include_prompt=False) if file.provenance is not None else None
        ),
        "textguard": [g.to_dict() for g in file.guard],
        "priority": assessment.priority.label,
        "reasons": [r.to_dict() for r in assessment.reasons],
        "error": file.error,
        "error_reason": file.error_reason,
        "stage_errors": dict(file.stage_errors),
    }


def bank_view(bank: BankSummary) -> JSONObject:
    return {
        "name": bank.name,
        "pdq_threshold": bank.pdq_threshold,
        "description": bank.description,
        "entries": sum(bank.counts.values()),
        "by_signal_type": dict(sorted(bank.counts.items())),
    }


def progress_view(progress: ScanProgress | None) -> JSONObject | None:
    if progress is None:
        return None
    return {
        "found": progress.found,
        "done": progress.done,
        "skipped": progress.skipped,
        "errors": progress.errors,
        "matched": progress.matched,
        "walking": progress.walking,
    }


def summary_view(summary: JobSummary) -> JSONObject:
    return {
        "files": summary.files,
        "errors": summary.errors,
        "matched_files": summary.matched_files,
        "errors_by_reason": dict(summary.errors_by_reason),
        "matches_by_bank": dict(summary.matches_by_bank),
        "matches_by_signal": dict(summary.matches_by_signal),
        "priorities": dict(summary.priorities),
    }


def when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
