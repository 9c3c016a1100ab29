"""A guard around a diffusers-style pipeline: nothing reaches the generator or the user unchecked.

In: any callable that takes ``prompt=`` (and ``negative_prompt=``, input images and other
keyword arguments) and returns PIL images — a list, or an object with ``.images`` as
``diffusers`` pipelines return — and a :class:`~needle.genguard.guard.GenerationGuard`.
Out: a :class:`GuardedGeneration`: the stamped outputs that may be handed out, and every
step's decision.

The order is the point: the prompt is checked first, and a blocked prompt never reaches the
generator; uploaded images (``image``, ``mask_image``, ``control_image``,
``ip_adapter_image``, …) are checked next, and a blocked input stops the request before the
generator runs; each output is checked, and only allowed outputs are stamped, recorded and
returned. Withheld outputs are recorded with their hashes but never returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from needle.genguard.guard import GenerationGuard, GenerationRequest, GuardDecision
from needle.genguard.stamp import Stamped

__all__ = ["INPUT_ARGUMENTS", "GuardedGeneration", "GuardedPipeline"]

#: keyword arguments of diffusers pipelines that carry images a user supplies
INPUT_ARGUMENTS = (
    "image",
    "mask_image",
    "control_image",
    "ip_adapter_image",
    "reference_image",
    "face_image",
)


@dataclass(frozen=True)
class GuardedGeneration:
    """What a guarded call produced: ``outputs`` may be handed out; ``decisions`` say why."""

    request: GenerationRequest
    outputs: tuple[Stamped, ...]
    decisions: tuple[GuardDecision, ...]
    generated: bool
    withheld: int = 0

    @property
    def blocked(self) -> bool:
        """The request was stopped (prompt or input) or every output was withheld."""
        return not self.outputs


class GuardedPipeline:
    """``GuardedPipeline(pipe, guard)(prompt, account=..., **kwargs)``: the guarded call."""

    def __init__(
        self, pipeline: Callable[..., Any], guard: GenerationGuard, *, fmt: str = "PNG"
    ) -> None:
        self.pipeline = pipeline
        self.guard = guard
        self.fmt = fmt

    def __call__(
        self,
        prompt: str,
        *,
        account: str,
        negative_prompt: str = "",
        request_id: str | None = None,
        **kwargs: Any,
    ) -> GuardedGeneration:
        request = GenerationRequest.new(account, prompt, negative_prompt)
        if request_id is not None:
            request = GenerationRequest(request_id, account, prompt, negative_prompt)
        decisions = [self.guard.check_prompt(request)]
        if not decisions[-1].proceed:
            return GuardedGeneration(request, (), tuple(decisions), generated=False)
        inputs = _input_images(kwargs)
        if inputs:
            decisions.append(self.guard.check_inputs(inputs, request))
            if not decisions[-1].proceed:
                return GuardedGeneration(request, (), tuple(decisions), generated=False)
        if negative_prompt:
            kwargs["negative_prompt"] = negative_prompt
        produced = _images(self.pipeline(prompt=prompt, **kwargs))
        outputs: list[Stamped] = []
        for image in produced:
            decision = self.guard.check_output(image, request)
            decisions.append(decision)
            if decision.proceed:
                outputs.append(self.guard.stamp(image, request, fmt=self.fmt)[0])
        withheld = len(produced) - len(outputs)
        return GuardedGeneration(request, tuple(outputs), tuple(decisions), True, withheld)


def _input_images(kwargs: dict[str, Any]) -> list[Image.Image | bytes]:
    found: list[Image.Image | bytes] = []
    for name in INPUT_ARGUMENTS:
        value = kwargs.get(name)
        items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
        found.extend(item for item in items if isinstance(item, Image.Image | bytes))
    return found


def _images(result: Any) -> list[Image.Image]:
    """A pipeline's images: ``result.images`` (diffusers), a list, or one image."""
    images = getattr(result, "images", result)
    if isinstance(images, Image.Image):
        return [images]
    found = [image for image in images if isinstance(image, Image.Image)]
    if len(found) != len(images):
        raise TypeError("the pipeline returned something other than PIL images")
    return found
