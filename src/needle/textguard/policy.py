"""The text guard's policy: the thresholds that turn its score into ``block`` / ``review`` /
``allow``.

In: a score (0..1, sexual content involving a minor), the categories seen, whether the input
was cut. Out: a decision. A :class:`GuardPolicy` is a frozen dataclass; load one from a TOML
file's ``[textguard]`` table (or a flat file) with :meth:`GuardPolicy.from_toml`, or build
one in code. (Assessing a whole file has a policy of its own, in ``needle.assess``.)

Example policy file::

    [textguard]
    block_threshold = 0.6
    review_threshold = 0.35
    sexual_only = "review"     # a service that allows no adult content at all
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from needle._compiled import reduce_by_fields
from needle.config import read_toml, table
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject

__all__ = [
    "BLOCK_THRESHOLD",
    "DECISIONS",
    "MAX_CHARS",
    "REVIEW_THRESHOLD",
    "GuardPolicy",
]

#: the three decisions, from least to most severe; CLI exit codes are their indexes
DECISIONS = ("allow", "review", "block")
#: score at or above which a prompt is blocked. One explicit sexual word and one clear minor
#: word about one subject score 1.0; a suggestive word ("sexy", 0.6) with a clear minor word
#: reaches it; an explicit word with "teen" (0.9) does too. Tuned on the development set
#: (tests/data/textguard/dev.jsonl): recall and false-positive rate in docs/textguard.md.
BLOCK_THRESHOLD = 0.6
#: score at or above which a human should look: an explicit word with an ambiguous minor
#: word ("nude girl", 0.4), or a sexual word and a child in one scene but about different
#: subjects ("nude woman and a child", 0.5).
REVIEW_THRESHOLD = 0.35
#: characters checked per input: bounds the time per input (about a second on one core for
#: the maximum); longer input is cut, and the result says so (``truncated``).
MAX_CHARS = 1 << 20


def _check_decision(name: str, value: object) -> str:
    if value not in DECISIONS:
        raise ConfigError(
            f"textguard policy: {name} must be one of {', '.join(DECISIONS)}, not {value!r}"
        )
    return str(value)


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """Thresholds and choices of the text guard; every field has a documented default."""

    block_threshold: float = BLOCK_THRESHOLD
    review_threshold: float = REVIEW_THRESHOLD
    #: decision for sexual content with no minor in it (adult content): needle's concern is
    #: abuse material, so the default leaves adult content to the service's own rules
    sexual_only: str = "allow"
    #: decision for a minor with no sexual content (a child at the beach)
    minor_only: str = "allow"
    #: the least decision for an input longer than ``max_chars`` (the rest was not read)
    on_truncated: str = "review"
    max_chars: int = MAX_CHARS
    #: the optional ONNX model's score is multiplied by this and combined with the rules' score
    #: by taking the larger; 0 turns the model off without unloading it
    model_weight: float = 1.0

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return reduce_by_fields(self)

    def __post_init__(self) -> None:
        for name in ("block_threshold", "review_threshold", "model_weight"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
                raise ConfigError(
                    f"textguard policy: {name} must be a number from 0 to 1, not {value!r}"
                )
        if self.review_threshold > self.block_threshold:
            raise ConfigError(
                "textguard policy: review_threshold "
                f"({self.review_threshold}) is above block_threshold ({self.block_threshold}); "
                "lower review_threshold or raise block_threshold"
            )
        for name in ("sexual_only", "minor_only", "on_truncated"):
            _check_decision(name, getattr(self, name))
        if not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise ConfigError(
                f"textguard policy: max_chars must be a positive integer, not {self.max_chars!r}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GuardPolicy:
        """A policy from a mapping (a parsed ``[textguard]`` table); unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"textguard policy: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**dict(data))

    @classmethod
    def from_toml(cls, path: str | Path) -> GuardPolicy:
        """Read a policy from the ``[textguard]`` table of a TOML file (or the whole file)."""
        data = read_toml(path, "textguard policy")
        return cls.from_mapping(table(data, "textguard", f"textguard policy file {path}"))

    def decide(self, score: float, categories: tuple[str, ...], *, truncated: bool = False) -> str:
        """``block``, ``review`` or ``allow`` for a score and the categories seen."""
        if score >= self.block_threshold:
            decision = "block"
        elif score >= self.review_threshold:
            decision = "review"
        else:
            decision = "allow"
            if "sexual" in categories:
                decision = _worst(decision, self.sexual_only)
            if "minor" in categories:
                decision = _worst(decision, self.minor_only)
        if truncated:
            decision = _worst(decision, self.on_truncated)
        return decision

    def to_dict(self) -> JSONObject:
        """Every field by name (a test checks none is missing)."""
        return {
            "block_threshold": self.block_threshold,
            "review_threshold": self.review_threshold,
            "sexual_only": self.sexual_only,
            "minor_only": self.minor_only,
            "on_truncated": self.on_truncated,
            "max_chars": self.max_chars,
            "model_weight": self.model_weight,
        }


def _worst(a: str, b: str) -> str:
    return a if DECISIONS.index(a) >= DECISIONS.index(b) else b
