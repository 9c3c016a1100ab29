"""What the triage report is made of: one typed row per file record, the summary counted
over every row, the charts drawn from it, and what ``write_triage_report`` wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from needle.jsonvalue import JSONObject

__all__ = [
    "AI_STATES",
    "CSV_COLUMNS",
    "Bar",
    "BarChart",
    "TriageReport",
    "TriageRow",
    "TriageSummary",
]

#: provenance verdicts (``ProvenanceResult.ai_generated``), strongest first
AI_STATES = ("claimed", "likely", "unknown")

#: the columns of ``triage.csv``, in order (``TriageRow.to_dict`` has the same keys)
CSV_COLUMNS = (
    "id", "job", "path", "size", "md5", "sha1", "sha256", "pdq", "priority", "known", "banks",
    "ai", "reasons", "error_reason", "decision", "recorded_at",
)  # fmt: skip


@dataclass(frozen=True)
class TriageRow:
    """One file record as the report shows it. ``known``: it matched a bank; ``ai``: what
    its provenance says (claimed, likely or unknown: absence of evidence is never "real");
    ``recorded_at``: when the scan stored it (the store keeps no file dates)."""

    id: int
    job: int
    path: str
    size: int
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    priority: str | None
    banks: tuple[str, ...]
    ai: str
    reasons: tuple[str, ...]
    reason_kinds: tuple[str, ...]
    error_reason: str | None
    decision: str | None
    recorded_at: datetime

    @property
    def known(self) -> bool:
        return bool(self.banks)

    def to_dict(self) -> JSONObject:
        return {
            "id": self.id,
            "job": self.job,
            "path": self.path,
            "size": self.size,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "pdq": self.pdq,
            "priority": self.priority,
            "known": self.known,
            "banks": list(self.banks),
            "ai": self.ai,
            "reasons": list(self.reasons),
            "error_reason": self.error_reason,
            "decision": self.decision,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True)
class TriageSummary:
    """Counts over every row in scope. ``by_priority`` keys follow the queue's order, with
    ``unassessed`` for records stored without a priority; ``timeline`` is (bin label, count)
    in time order, binned by hour, day or month as the span asks."""

    files: int
    by_priority: Mapping[str, int]
    by_reason: Mapping[str, int]
    known: int
    new: int
    by_ai: Mapping[str, int]
    errors: Mapping[str, int]
    banks: Mapping[str, int]
    decisions: Mapping[str, int]
    timeline: tuple[tuple[str, int], ...]
    timeline_unit: str
    first_recorded: datetime | None = None
    last_recorded: datetime | None = None

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, its geometry already worked out (SVG user units)."""

    label: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A hand-drawn SVG bar chart: ``horizontal`` bars (categories) or columns (a timeline)."""

    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    horizontal: bool = True


@dataclass(frozen=True)
class TriageReport:
    """What ``write_triage_report`` wrote: the three files, the summary, how many rows the
    HTML carries (the top ``top``; the CSV and JSONL carry all), and thumbnails made or not."""

    html: str
    csv: str
    jsonl: str
    summary: TriageSummary
    rows: int
    html_rows: int
    thumbnails: int = 0
    thumbnails_missing: int = 0
    seconds: float = field(default=0.0, compare=False)
