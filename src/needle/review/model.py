"""What the review package returns: frozen, typed results for the queue, an item, decisions,
cases and blur settings. The web layer renders these; nothing here knows about HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from needle.errors import NeedleError, StoreError
from needle.jsonvalue import JSONObject, JSONValue
from needle.match.model import Match
from needle.store.record import StoredRecord

__all__ = [
    "PRIORITY_ORDER",
    "REASON_KINDS",
    "BlurSettings",
    "CaseSummary",
    "ClassificationView",
    "DecisionEntry",
    "ItemNotFound",
    "QueueFilter",
    "QueueItem",
    "ReasonView",
    "ReviewError",
    "ReviewItem",
    "ScoreView",
]

#: the queue's order, most urgent first; ``none`` items are only in it when decided or in a case
PRIORITY_ORDER = ("critical", "high", "medium", "low", "none")

#: reason kinds the queue can be filtered by, with the words the UI shows for them
REASON_KINDS: dict[str, str] = {
    "match": "bank match",
    "visual": "visual (classifier)",
    "score": "score rule",
    "guard": "text guard",
    "unavailable": "check unavailable",
    "provenance": "provenance",
}


class ReviewError(NeedleError):
    """A review action that cannot be done as asked (unknown decision, bad case name...)."""


class ItemNotFound(StoreError):
    """No file record with that id."""


@dataclass(frozen=True)
class QueueFilter:
    """Which items the queue shows. Every field None means no restriction.

    ``decision``: a decision value (``abuse-real`` ...), or ``undecided`` (no decision yet),
    ``decided`` (any decision), ``open`` (undecided, or the current decision asks for more:
    ``escalate`` or ``second-review``). ``reason``: a key of ``REASON_KINDS``. ``case``: items
    grouped into the case of that name.
    """

    job: int | None = None
    priority: str | None = None
    reason: str | None = None
    decision: str | None = None
    case: str | None = None


@dataclass(frozen=True)
class QueueItem:
    """One line of the queue."""

    file_id: int
    job_id: int
    path: str
    priority: str
    reasons: tuple[str, ...]
    reason_kinds: tuple[str, ...]
    banks: tuple[str, ...]
    decision: str | None
    created_at: datetime
    format: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def name(self) -> str:
        """The last component of the path (an archive member's own name)."""
        tail = self.path.rsplit("!", 1)[-1]
        return tail.rstrip("/").rsplit("/", 1)[-1] or self.path


@dataclass(frozen=True)
class ReasonView:
    text: str
    kind: str
    priority: str
    evidence: JSONObject


@dataclass(frozen=True)
class ScoreView:
    """One score of one classifier, with the threshold it was held to when there is one."""

    name: str
    score: float
    threshold: float | None


@dataclass(frozen=True)
class ClassificationView:
    classifier: str
    model: str
    version: str
    scores: tuple[ScoreView, ...]
    thresholds: tuple[tuple[str, float], ...] = ()
    faces: tuple[JSONObject, ...] = ()
    unavailable: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class DecisionEntry:
    decision: str
    label: str
    note: str
    user: str
    created_at: datetime
    #: the industry classification the reviewer set (A1, A2, B1, B2), if any
    classification: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    """Everything the item page shows about one file record. ``decision`` is the newest
    entry of ``history`` (history is newest first)."""

    file_id: int
    job_id: int
    created_at: datetime
    record: StoredRecord
    reasons: tuple[ReasonView, ...]
    matches: tuple[Match, ...]
    classifications: tuple[ClassificationView, ...]
    provenance: JSONObject | None
    provenance_evidence: tuple[JSONObject, ...]
    textguard: tuple[JSONObject, ...]
    history: tuple[DecisionEntry, ...]
    cases: tuple[str, ...]
    stage_errors: dict[str, str] = field(default_factory=dict)

    @property
    def decision(self) -> DecisionEntry | None:
        return self.history[0] if self.history else None

    @property
    def priority(self) -> str:
        return self.record.priority or "none"

    def to_dict(self) -> JSONObject:
        """Plain data for the JSON API (the record through ``export_record``: no prompt)."""
        current = self.decision
        data: JSONObject = {
            "id": self.file_id,
            "job_id": self.job_id,
            "created_at": self.created_at.isoformat(),
            "record": self.record.to_dict(),
            "priority": self.priority,
            "decision": decision_dict(current) if current else None,
            "history": [decision_dict(d) for d in self.history],
            "cases": list(self.cases),
        }
        return data


def decision_dict(entry: DecisionEntry) -> JSONObject:
    return {
        "decision": entry.decision,
        "label": entry.label,
        "note": entry.note,
        "user": entry.user,
        "created_at": entry.created_at.isoformat(),
        "classification": entry.classification,
    }


def queue_item_dict(item: QueueItem) -> JSONObject:
    reasons: list[JSONValue] = list(item.reasons)
    return {
        "id": item.file_id,
        "job_id": item.job_id,
        "path": item.path,
        "priority": item.priority,
        "reasons": reasons,
        "banks": list(item.banks),
        "decision": item.decision,
        "created_at": item.created_at.isoformat(),
    }


@dataclass(frozen=True)
class CaseSummary:
    name: str
    items: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BlurSettings:
    """How media is hidden until revealed: Gaussian blur strength in CSS pixels (also the
    server thumbnail's blur radius) and whether colour is removed."""

    strength_px: int = 24
    greyscale: bool = True

    def to_dict(self) -> JSONObject:
        return {"strength_px": self.strength_px, "greyscale": self.greyscale}
