"""The text guard: does a prompt, file name or metadata text ask for sexual content of minors?

In: any text (``str``). Out: a :class:`GuardResult` with a ``decision`` (``block`` /
``review`` / ``allow``), the ``categories`` seen (``sexual``, ``minor``, ``sexual_minors``), a
``score`` (0..1), ``evidence`` quoted from the original text, the ``languages`` recognised and
the ``policy`` used. Local and fast: a few tens of microseconds per short prompt on one core,
no model needed (see docs/textguard.md).

The flow: :mod:`~needle.textguard.normalize` (evasions undone, map back kept) ->
:mod:`~needle.textguard.detect` (multilingual lexicon in :mod:`~needle.textguard.terms`,
ages, scope, word sense) -> optional :mod:`~needle.textguard.model` (ONNX) ->
:mod:`~needle.textguard.policy` (thresholds) -> :mod:`~needle.textguard.result`.

Use :func:`check` for the default guard, or build a :class:`Guard` with your policy and an
optional classifier::

    from needle.textguard import Guard, GuardPolicy, check
    check("a cat on a sofa").decision            # 'allow'
    Guard(GuardPolicy(sexual_only="review")).check(prompt)
"""

from __future__ import annotations

from needle import _compiled

#: how the hot modules run: "compiled (mypyc)", or "pure Python" and why (see needle._compiled)
IMPLEMENTATION = _compiled.load(__name__, _compiled.TEXTGUARD)

from needle.textguard.guard import Guard, check  # noqa: E402
from needle.textguard.model import OnnxTextClassifier, TextClassifier  # noqa: E402
from needle.textguard.normalize import Normalized, normalize  # noqa: E402
from needle.textguard.policy import DECISIONS, GuardPolicy  # noqa: E402
from needle.textguard.result import CATEGORIES, Evidence, GuardResult  # noqa: E402
from needle.textguard.terms import Lexicon  # noqa: E402

__all__ = [
    "CATEGORIES",
    "DECISIONS",
    "IMPLEMENTATION",
    "Evidence",
    "Guard",
    "GuardPolicy",
    "GuardResult",
    "Lexicon",
    "Normalized",
    "OnnxTextClassifier",
    "TextClassifier",
    "check",
    "normalize",
]
