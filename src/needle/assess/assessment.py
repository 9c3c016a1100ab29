"""What the assessment returns: a file's ``Assessment`` and the ``Reason`` behind it.

In: nothing (the rules in ``needle.assess.rules`` build these). Out: frozen records whose
``to_dict`` is what ``--jsonl``, ``needle classify --json`` and the store write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from needle.assess.policy import Priority
from needle.jsonvalue import JSONObject, JSONValue

__all__ = ["ORDER_AI", "ORDER_CAMERA", "ORDER_UNKNOWN", "Assessment", "Reason"]

#: review order within one priority: files that claim a camera first, AI-generated last
ORDER_CAMERA, ORDER_UNKNOWN, ORDER_AI = 0, 1, 2


@dataclass(frozen=True)
class Reason:
    """One finding behind a priority.

    ``kind`` is ``match``, ``visual``, ``score``, ``guard``, ``unavailable`` or
    ``provenance`` (metadata, and AI-image detector scores); ``priority`` is what this finding
    alone is worth (provenance reasons are ``none``: they order, never raise); ``evidence``
    holds the numbers, thresholds and model names the text was made from.
    """

    text: str
    kind: str
    priority: Priority
    evidence: Mapping[str, JSONValue] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> JSONObject:
        return {
            "text": self.text,
            "kind": self.kind,
            "priority": self.priority.label,
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class Assessment:
    """A file's priority, the reasons for it, and where it goes within its priority.

    ``order`` is 0 for files that claim to come from a camera, 1 for unknown provenance, 2 for
    AI-generated ones; ``score`` is the strongest visual evidence (explicit x minor likelihood
    where both exist, else the explicit score). Sort a queue with ``sort_key``.
    """

    priority: Priority
    reasons: tuple[Reason, ...] = ()
    order: int = ORDER_UNKNOWN
    score: float = 0.0
    policy: str = "defaults"

    def sort_key(self) -> tuple[int, int, float]:
        """Ascending sort puts the file to review first first."""
        return (-int(self.priority), self.order, -self.score)

    def to_dict(self) -> JSONObject:
        return {
            "priority": self.priority.label,
            "reasons": [r.to_dict() for r in self.reasons],
            "order": self.order,
            "score": round(self.score, 4),
            "policy": self.policy,
        }
