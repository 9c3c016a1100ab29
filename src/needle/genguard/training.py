"""Checking a fine-tuning (LoRA) data set before a model is trained on it.

In: a folder or an archive of images, needle's store, the banks, and the scan options (which
classifiers run). Out: a :class:`TrainingSetReport` — how many files were examined, which ones
match a bank or were assessed at or above the policy's ``training_block`` priority (each named
with its reasons), which could not be read, and whether the job is refused.

It is a scan (``needle.pipeline.scan.run_scan``): the same walker (archives opened, limits,
hostile files costing only their own record), the same matching and assessment, stored as a
scan job so a reviewer can open it in the review UI. Real photographs of abused children have
been used to train models; one such file in a set refuses the job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from needle.assess import AssessmentPolicy, Priority
from needle.banks import Bank
from needle.jsonvalue import JSONObject
from needle.pipeline.scan import ScanProgress, run_scan
from needle.pipeline.worker import ScanOptions
from needle.store import Store

__all__ = ["TrainingFinding", "TrainingSetReport", "scan_training_set"]

#: findings kept in full on the report (the scan job holds every record)
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class TrainingFinding:
    """One file of the set that refuses the job, and why."""

    path: str
    priority: Priority
    reasons: tuple[str, ...]
    banks: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        return {
            "path": self.path,
            "priority": self.priority.label,
            "reasons": list(self.reasons),
            "banks": list(self.banks),
        }


@dataclass(frozen=True)
class TrainingSetReport:
    """The verdict on a training set: ``refused`` when any file reached ``training_block``."""

    path: str
    job_id: int
    files: int
    unreadable: int
    findings: tuple[TrainingFinding, ...]
    block_at: Priority
    #: more findings than MAX_FINDINGS were found; the scan job has them all
    more: int = 0

    @property
    def refused(self) -> bool:
        return bool(self.findings)

    @property
    def decision(self) -> str:
        return "block" if self.refused else "allow"

    def reasons(self) -> tuple[str, ...]:
        if not self.findings:
            return ()
        named = "; ".join(
            f"{f.path}: {f.reasons[0] if f.reasons else f.priority.label}"
            for f in self.findings[:5]
        )
        extra = len(self.findings) + self.more - 5
        tail = f" (and {extra} more)" if extra > 0 else ""
        return (
            f"{len(self.findings) + self.more} of {self.files} files refuse the training set "
            f"(at or above {self.block_at.label}): {named}{tail}",
        )

    def to_dict(self) -> JSONObject:
        return {
            "path": self.path,
            "job_id": self.job_id,
            "files": self.files,
            "unreadable": self.unreadable,
            "refused": self.refused,
            "block_at": self.block_at.label,
            "findings": [f.to_dict() for f in self.findings],
            "more_findings": self.more,
        }


def scan_training_set(
    path: str | Path,
    *,
    store: Store,
    banks: Sequence[Bank],
    block_at: Priority,
    policy: AssessmentPolicy | None = None,
    options: ScanOptions | None = None,
    workers: int | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
) -> TrainingSetReport:
    """Scan the set as a new job and report every file at or above ``block_at``."""
    result = run_scan(
        [str(path)],
        store=store,
        banks=banks,
        workers=workers,
        options=options,
        new=True,
        policy=policy,
        progress=progress,
    )
    findings: list[TrainingFinding] = []
    more = unreadable = files = 0
    for record in store.iter_records(result.job.id):
        files += 1
        if record.error is not None:
            unreadable += 1
        priority = Priority.parse(record.priority) if record.priority else Priority.NONE
        if priority < block_at:
            continue
        if len(findings) >= MAX_FINDINGS:
            more += 1
            continue
        reasons = tuple(str(r.get("text", "")) for r in record.reasons)
        findings.append(
            TrainingFinding(
                record.path, priority, reasons, tuple(sorted({m.bank for m in record.matches}))
            )
        )
    return TrainingSetReport(
        str(path), result.job.id, files, unreadable, tuple(findings), block_at, more
    )
