"""What the assessment reads: the attributes it needs from other stages' results.

In: nothing. Out: small ``Protocol`` classes. ``needle.assess`` imports no other stage; any
object with these attributes works (``needle.match.Match``, ``needle.classify.Classification``,
``needle.provenance.ProvenanceResult``, ``needle.textguard.GuardResult``, or a test's fake).

Two attributes are optional, read where present (``optional``): a classification's
``frame_time`` (seconds into a video; absent or None: an image) and a match's ``video`` (a
``VideoMatchLike``: how a video matched a banked one; absent or None: not a video match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = [
    "ClassificationLike",
    "EvidenceLike",
    "FaceLike",
    "GuardEvidenceLike",
    "GuardResultLike",
    "MatchLike",
    "ProvenanceLike",
    "VideoMatchLike",
    "optional",
]


def optional(result: object, name: str) -> object:
    """An optional attribute of a result (see the module's docstring), None when absent."""
    return getattr(result, name, None)


class VideoMatchLike(Protocol):
    @property
    def query_match_percent(self) -> float: ...
    @property
    def compared_match_percent(self) -> float: ...
    @property
    def query_start(self) -> float: ...
    @property
    def query_end(self) -> float: ...
    @property
    def compared_start(self) -> float: ...
    @property
    def compared_end(self) -> float: ...


class MatchLike(Protocol):
    @property
    def bank(self) -> str: ...
    @property
    def signal_type(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def distance(self) -> int: ...
    @property
    def threshold(self) -> int: ...
    @property
    def transform(self) -> str | None: ...
    @property
    def labels(self) -> tuple[str, ...]: ...


class FaceLike(Protocol):
    @property
    def age(self) -> float | None: ...
    @property
    def age_sd(self) -> float | None: ...
    @property
    def minor_likelihood(self) -> float | None: ...


class ClassificationLike(Protocol):
    @property
    def classifier(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def scores(self) -> Mapping[str, float]: ...
    @property
    def faces(self) -> Sequence[FaceLike]: ...
    @property
    def unavailable(self) -> str | None: ...
    @property
    def model_sha256(self) -> str | None: ...


class EvidenceLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def strength(self) -> object: ...


class ProvenanceLike(Protocol):
    @property
    def ai_generated(self) -> str: ...
    @property
    def camera_claimed(self) -> bool: ...
    @property
    def camera_original(self) -> str: ...
    @property
    def camera_reason(self) -> str: ...
    @property
    def generator(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def evidence(self) -> Sequence[object]: ...
    def summary(self) -> str: ...


class GuardEvidenceLike(Protocol):
    @property
    def quote(self) -> str: ...
    @property
    def category(self) -> str: ...


class GuardResultLike(Protocol):
    @property
    def decision(self) -> str: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def score(self) -> float: ...
    @property
    def evidence(self) -> Sequence[object]: ...
