"""What a generation service blocks, holds for review and allows, and what it keeps.

In: a TOML file with a ``[genguard]`` table (plus, optionally, the text guard's ``[textguard]``
and the assessment's ``[policy]`` tables in the same file), or nothing for the defaults.
Out: a :class:`GenerationPolicy`, read by every step of :mod:`needle.genguard.guard`.

Example (``docs/genguard.md`` explains each setting)::

    [genguard]
    keep_prompts = true          # store the prompt's text in the ledger, not only its SHA-256
    output_block = "high"        # withhold an output whose assessment is high or critical
    output_review = "medium"
    input_block = "medium"       # uploaded images are held to a stricter bar: they are sources
    training_block = "medium"
    flag_after = 3               # blocked requests by one account within flag_window_hours
    flag_window_hours = 24

    [textguard]
    sexual_only = "review"       # a service that allows no adult content at all

Priorities are the assessment's (``needle.assess.Priority``): a bank match is ``critical``,
explicit content with an apparent minor ``high``; injected or real classifier scores reach
them through the same rules as a scan's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from needle.assess import DEFAULT_POLICY, AssessmentPolicy, Priority
from needle.config import read_toml
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject
from needle.textguard import GuardPolicy

__all__ = [
    "DEFAULT_GENERATION_POLICY",
    "FLAG_AFTER",
    "FLAG_WINDOW_HOURS",
    "GenerationPolicy",
    "load_generation_policy",
]

#: blocked requests by one account, within the window, that raise the account's flag: one
#: block can be a clumsy prompt; three in a day is a pattern a reviewer should see
FLAG_AFTER = 3
FLAG_WINDOW_HOURS = 24


@dataclass(frozen=True)
class GenerationPolicy:
    """The guard's decisions. ``*_block`` / ``*_review`` are assessment priorities at or above
    which an image is blocked / held for review; ``hold_on_review`` makes the adapters treat a
    ``review`` prompt or output as not to be generated or returned."""

    keep_prompts: bool = False
    output_block: Priority = Priority.HIGH
    output_review: Priority = Priority.MEDIUM
    input_block: Priority = Priority.MEDIUM
    input_review: Priority = Priority.LOW
    training_block: Priority = Priority.MEDIUM
    hold_on_review: bool = False
    #: an adult word in the negative prompt of a sexual prompt steers the generator to minors
    negative_adult_rule: bool = True
    flag_after: int = FLAG_AFTER
    flag_window_hours: float = FLAG_WINDOW_HOURS
    textguard: GuardPolicy = field(default_factory=GuardPolicy)
    assessment: AssessmentPolicy = DEFAULT_POLICY
    source: str = "defaults"

    def __post_init__(self) -> None:
        if self.flag_after < 1:
            raise ConfigError(f"genguard policy: flag_after must be at least 1: {self.flag_after}")
        if self.flag_window_hours <= 0:
            raise ConfigError("genguard policy: flag_window_hours must be more than 0")
        if self.output_review > self.output_block or self.input_review > self.input_block:
            raise ConfigError("genguard policy: a review priority must not be above its block")

    def image_decision(self, priority: Priority, kind: str) -> str:
        """``block`` / ``review`` / ``allow`` for an image's assessed priority."""
        if kind == "input":
            block, review = self.input_block, self.input_review
        elif kind == "training-set":
            block, review = self.training_block, self.training_block
        else:
            block, review = self.output_block, self.output_review
        if priority >= block:
            return "block"
        return "review" if priority >= review else "allow"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "defaults") -> GenerationPolicy:
        """A policy from a parsed file: ``[genguard]``, ``[textguard]``, ``[policy]`` tables."""
        own = data.get("genguard", {})
        if not isinstance(own, Mapping):
            raise ConfigError("genguard policy: [genguard] must be a table")
        known = {"keep_prompts", "hold_on_review", "negative_adult_rule", "flag_after"}
        known |= {"flag_window_hours", *_PRIORITIES}
        unknown = sorted(set(own) - known)
        if unknown:
            raise ConfigError(
                f"genguard policy: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name, value in own.items():
            if name in _PRIORITIES:
                values[name] = Priority.parse(value)
            elif name in ("keep_prompts", "hold_on_review", "negative_adult_rule"):
                if not isinstance(value, bool):
                    raise ConfigError(f"genguard policy: {name} is true or false, not {value!r}")
                values[name] = value
            elif not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"genguard policy: {name} is a number, not {value!r}")
            else:
                values[name] = int(value) if name == "flag_after" else float(value)
        if "textguard" in data:
            values["textguard"] = GuardPolicy.from_mapping(_table(data, "textguard"))
        if "policy" in data:
            values["assessment"] = AssessmentPolicy.from_mapping(
                _table(data, "policy"), source=source
            )
        return cls(**values, source=source)

    def to_dict(self) -> JSONObject:
        return {
            "keep_prompts": self.keep_prompts,
            **{name: getattr(self, name).label for name in _PRIORITIES},
            "hold_on_review": self.hold_on_review,
            "negative_adult_rule": self.negative_adult_rule,
            "flag_after": self.flag_after,
            "flag_window_hours": self.flag_window_hours,
            "textguard": self.textguard.to_dict(),
            "source": self.source,
        }


_PRIORITIES = ("output_block", "output_review", "input_block", "input_review", "training_block")


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = data[name]
    if not isinstance(found, Mapping):
        raise ConfigError(f"genguard policy: [{name}] must be a table")
    return found


DEFAULT_GENERATION_POLICY = GenerationPolicy()


def load_generation_policy(path: str | Path | None) -> GenerationPolicy:
    """The policy in a TOML file; None: the defaults."""
    if path is None:
        return DEFAULT_GENERATION_POLICY
    return GenerationPolicy.from_mapping(read_toml(path, "genguard policy"), source=str(Path(path)))
