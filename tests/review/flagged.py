"""Flagged records for review tests, made by injecting scores and matches: no real content.

Every picture is a benign synthesised one (``conftest.synth_image``); what makes an item look
"flagged" is the assessment and matches written with it, never what it shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from needle.assess import Assessment, Priority, Reason
from needle.classify.base import Classification
from needle.match import Match
from needle.provenance.model import ProvenanceEvidence, ProvenanceResult
from needle.signals import Signal
from needle.store import FileRecord, ScanRecord, Store

REASONS: dict[str, Reason] = {
    "critical": Reason(
        "known material: md5 matches bank test-bank", "match", Priority.CRITICAL,
        {"bank": "test-bank", "signal_type": "md5", "distance": 0},
    ),
    "high": Reason(
        "explicit 0.91 (test-detector) and apparent age 9 ± 4 (test-age) on face 1", "visual",
        Priority.HIGH, {"explicit": 0.91, "minor_likelihood": 0.8, "threshold": 0.5},
    ),
    "medium": Reason(
        "text blocked by the text guard (file name)", "guard", Priority.MEDIUM,
        {"source": "file name", "score": 0.7},
    ),
    "low": Reason("possibly explicit 0.35 (test-detector)", "visual", Priority.LOW, {}),
    "none": Reason("provenance unknown", "provenance", Priority.NONE, {}),
}  # fmt: skip


def flagged(
    path: str,
    priority: str = "high",
    *,
    data: bytes | None = None,
    with_provenance: bool = False,
) -> ScanRecord:
    """A stored-ready record of ``path`` whose assessment says ``priority``; the sha256 is
    that of ``data`` when given (the media check compares it), a critical one matches a bank."""
    level = Priority.parse(priority)
    signals = {}
    if data is not None:
        signals["sha256"] = Signal("sha256", hashlib.sha256(data).hexdigest())
        signals["md5"] = Signal("md5", hashlib.md5(data).hexdigest())
    matches: Sequence[Match] = ()
    if level is Priority.CRITICAL:
        matches = (Match("test-bank", "md5", "0" * 32, 0, 0, None, ("test",)),)
    classification = Classification(
        "test-detector", "test-detector v1", "1",
        scores={"explicit": 0.91, "faces": 1.0},
        thresholds={"explicit": 0.5, "detection_floor": 0.25},
    )  # fmt: skip
    provenance = None
    if with_provenance:
        provenance = ProvenanceResult(
            ai_generated="claimed",
            generator="test-generator",
            evidence=(ProvenanceEvidence("generator", "metadata names test-generator", "claimed"),),
            headline="AI-generated: metadata names test-generator",
        )
    record = FileRecord(
        path, len(data or b""), signals, format="JPEG", width=320, height=240,
        classifications=(classification,), provenance=provenance,
    )  # fmt: skip
    reasons = (REASONS[level.label],)
    return ScanRecord(record, tuple(matches), Assessment(level, reasons))


def store_flagged(store: Store, roots: Sequence[str], records: Sequence[ScanRecord]) -> int:
    """A finished job over ``roots`` holding ``records``; returns its id."""
    job, _ = store.open_job(list(roots), {}, new=True)
    store.add_records(job.id, records)
    store.finish_job(job.id)
    return job.id


def file_ids(store: Store, job_id: int) -> dict[str, int]:
    """Path -> file record id of a job."""
    import sqlalchemy as sa

    from needle.store.schema import FileRow

    with store.engine.connect() as connection:
        return {
            path: file_id
            for file_id, path in connection.execute(
                sa.select(FileRow.id, FileRow.path).where(FileRow.job_id == job_id)
            )
        }
