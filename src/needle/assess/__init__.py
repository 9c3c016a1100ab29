"""The assessment: one priority per file and the plain-language reasons for it.

In: what earlier stages found about one file — bank matches, classifications, provenance
evidence, text-guard results for text attached to the file — and an ``AssessmentPolicy``.
Out: an ``Assessment`` with a ``Priority`` (critical, high, medium, low, none), the reasons,
each naming its evidence ("explicit 0.91 (nudenet 320n) and apparent age 9 ± 4 (age-v1) on
face 1"), and a sort key so that humans review the riskiest first.

The rules, in short (docs/assessment.md has them in full, with the defaults):

- **critical**: the file matches a bank of known material;
- **high**: explicit and an apparent minor; or the text guard blocks text attached to the file
  as sexual content involving minors and the image corroborates it; or a score rule says so;
- **medium**: explicit and a face that may be a minor, or explicit with no face to age;
  possibly explicit with an apparent minor; text blocked as sexual content involving minors;
- **low**: explicit, every face adult; possibly explicit; other flagged text; a check that
  could not run;
- **none**: nothing above.

Provenance never lowers a priority: AI-generated sexualised images of minors are illegal
material too. It orders files within a priority: files that claim to come from a camera
first, then unknown provenance, then AI-generated ones, so likely-real children are looked
for first. An AI-image detector's ``ai_image`` score counts as AI evidence only when the policy
holds a calibration of that exact model (``needle eval ai``) and the score reaches its
threshold; otherwise it is recorded as not used, and a score below the threshold is never
evidence of a real photo.

Modules: ``policy`` (thresholds, ``Priority``, the TOML file), ``protocols`` (what is read
from other stages), ``rules`` (``assess``), ``assessment`` (``Assessment``, ``Reason``),
``calibration`` (AI-image detector calibrations and what a score is worth with them).
This package loads no model and imports no other stage.
"""

from __future__ import annotations

from needle.assess.assessment import Assessment, Reason
from needle.assess.calibration import AiImageCalibration, load_calibration
from needle.assess.policy import (
    DEFAULT_POLICY,
    EXPLICIT_POSSIBLE,
    EXPLICIT_REVIEW,
    MINOR_POSSIBLE,
    MINOR_REVIEW,
    AssessmentPolicy,
    Priority,
    ScoreRule,
    load_policy,
)
from needle.assess.protocols import (
    ClassificationLike,
    FaceLike,
    GuardResultLike,
    MatchLike,
    ProvenanceLike,
)
from needle.assess.rules import assess

__all__ = [
    "DEFAULT_POLICY",
    "EXPLICIT_POSSIBLE",
    "EXPLICIT_REVIEW",
    "MINOR_POSSIBLE",
    "MINOR_REVIEW",
    "AiImageCalibration",
    "Assessment",
    "AssessmentPolicy",
    "ClassificationLike",
    "FaceLike",
    "GuardResultLike",
    "MatchLike",
    "Priority",
    "ProvenanceLike",
    "Reason",
    "ScoreRule",
    "assess",
    "load_calibration",
    "load_policy",
]
