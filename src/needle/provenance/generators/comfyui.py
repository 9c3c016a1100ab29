"""ComfyUI: the ``prompt`` (API graph) and ``workflow`` (editor graph) JSON records.

In: PNG text chunks ``prompt`` and ``workflow``, or WebP EXIF tags whose text starts with
``prompt:`` / ``workflow:`` (ComfyUI's WebP writer). Out: a ``GeneratorFinding`` whose prompt and
negative prompt are pulled out of the graph: from every sampler (or guider), the ``positive``
and ``negative`` inputs are followed back through conditioning nodes (combine, set-area,
control nets, ...) to the text they start from; the checkpoint is found by following the
sampler's ``model`` input back through LoRA loaders.

The graph is data from the file: traversal is iterative, bounded in depth and node count, and
any shape it does not expect is skipped rather than trusted.
"""

from __future__ import annotations

from typing import Any

from needle.provenance.generators.base import (
    Sources,
    TextSource,
    clean_settings,
    load_json,
    model_family,
)
from needle.provenance.model import GeneratorFinding

__all__ = ["ComfyUI", "prompts_from_api_graph", "prompts_from_workflow"]

#: inputs that hold prompt text in common text-encoder and primitive nodes
_TEXT_KEYS = {
    "text", "text_g", "text_l", "t5xxl", "clip_l", "prompt", "string", "value",
    "populated_text", "wildcard_text", "text_positive", "text_negative",
}  # fmt: skip
#: inputs never followed while looking for prompt text (models, images, latents, ...)
_SKIP_KEYS = {
    "clip", "model", "vae", "samples", "latent_image", "image", "pixels", "mask",
    "control_net", "clip_vision", "clip_vision_output", "style_model", "upscale_model",
    "noise", "sigmas", "sampler", "guider", "seed", "noise_seed", "width", "height",
}  # fmt: skip
_MODEL_KEYS = ("ckpt_name", "unet_name", "model_name", "gguf_name")
_MAX_VISITS = 2000
_WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")


def _is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (str, int))
        and isinstance(value[1], int)
    )


def _texts_from(graph: dict[str, Any], start: Any, polarity: str) -> list[str]:
    """Prompt strings reachable backwards from a link ``[node_id, slot]``.

    Nodes that carry both conditionings (control-net appliers) are followed only through the
    input of the same ``polarity``, so a negative prompt never leaks into the positive one.
    """
    found: list[str] = []
    stack = [str(start[0])]
    seen: set[str] = set()
    while stack and len(seen) < _MAX_VISITS:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        node = graph.get(node_id)
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue
        for key, value in node["inputs"].items():
            if isinstance(value, str) and key in _TEXT_KEYS and value.strip():
                if value.strip() not in found:
                    found.append(value.strip())
            elif _is_link(value) and key not in _SKIP_KEYS:
                if key in ("positive", "negative") and key != polarity:
                    continue
                stack.append(str(value[0]))
    return found


def _model_from(graph: dict[str, Any], start: Any) -> str | None:
    node_id = str(start[0])
    for _ in range(64):
        node = graph.get(node_id)
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            return None
        inputs = node["inputs"]
        for key in _MODEL_KEYS:
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
        nxt = inputs.get("model")
        if not _is_link(nxt):
            return None
        node_id = str(nxt[0])
    return None


def prompts_from_api_graph(
    graph: dict[str, Any],
) -> tuple[list[str], list[str], str | None, dict[str, Any]]:
    """(positive texts, negative texts, checkpoint, sampler settings) of an API-format graph."""
    positive: list[str] = []
    negative: list[str] = []
    model: str | None = None
    settings: dict[str, Any] = {}
    loras: list[str] = []
    for node in graph.values():
        if not isinstance(node, dict):
            continue
        inputs = node.get("inputs")
        if not isinstance(inputs, dict):
            continue
        ctype = str(node.get("class_type", ""))
        if isinstance(inputs.get("lora_name"), str):
            loras.append(inputs["lora_name"])
        if "Sampler" not in ctype and "Guider" not in ctype:
            continue
        for key, bucket in (("positive", positive), ("negative", negative)):
            if _is_link(inputs.get(key)):
                for text in _texts_from(graph, inputs[key], key):
                    if text not in bucket:
                        bucket.append(text)
        if ctype.endswith("Guider") and _is_link(inputs.get("conditioning")):
            for text in _texts_from(graph, inputs["conditioning"], "positive"):
                if text not in positive:
                    positive.append(text)
        if model is None and _is_link(inputs.get("model")):
            model = _model_from(graph, inputs["model"])
        if not settings:
            settings = {
                k: inputs[k]
                for k in ("seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                          "denoise")
                if k in inputs and not _is_link(inputs[k])
            }  # fmt: skip
            settings["sampler_node"] = ctype
    if model is None:
        for node in graph.values():
            inputs = node.get("inputs") if isinstance(node, dict) else None
            if isinstance(inputs, dict):
                for key in _MODEL_KEYS:
                    if isinstance(inputs.get(key), str):
                        model = inputs[key]
                        break
            if model:
                break
    if loras:
        settings["loras"] = ", ".join(dict.fromkeys(loras))
    return positive, negative, model, settings


def prompts_from_workflow(
    workflow: dict[str, Any],
) -> tuple[list[str], list[str], str | None]:
    """(positive texts, negative texts, checkpoint) of an editor-format ``workflow``."""
    nodes = {
        node.get("id"): node for node in workflow.get("nodes", []) or [] if isinstance(node, dict)
    }
    link_source: dict[Any, Any] = {}
    for link in workflow.get("links", []) or []:
        if isinstance(link, list) and len(link) >= 4:
            link_source[link[0]] = link[1]
        elif isinstance(link, dict) and "id" in link:
            link_source[link["id"]] = link.get("origin_id")

    def texts_from(node_id: Any, polarity: str) -> list[str]:
        found: list[str] = []
        stack: list[Any] = [node_id]
        seen: set[Any] = set()
        while stack and len(seen) < _MAX_VISITS:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            node = nodes.get(current)
            if not isinstance(node, dict):
                continue
            if "TextEncode" in str(node.get("type", "")):
                values = node.get("widgets_values") or []
                for value in values if isinstance(values, list) else []:
                    if isinstance(value, str) and value.strip() and value.strip() not in found:
                        found.append(value.strip())
                        break
            for inp in node.get("inputs", []) or []:
                if isinstance(inp, dict) and inp.get("link") is not None:
                    name = inp.get("name")
                    if name in _SKIP_KEYS or (
                        name in ("positive", "negative") and name != polarity
                    ):
                        continue
                    stack.append(link_source.get(inp["link"]))
        return found

    positive: list[str] = []
    negative: list[str] = []
    model: str | None = None
    for node in nodes.values():
        ntype = str(node.get("type", ""))
        if "Loader" in ntype and model is None and "Lora" not in ntype:
            values = node.get("widgets_values") or []
            names = [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
            weights = [v for v in names if v.lower().endswith(_WEIGHT_SUFFIXES)]
            picked = weights or names
            model = picked[0] if picked else None
        if "Sampler" not in ntype:
            continue
        for inp in node.get("inputs", []) or []:
            if not isinstance(inp, dict) or inp.get("link") is None:
                continue
            name = str(inp.get("name"))
            bucket = {"positive": positive, "negative": negative}.get(name)
            if bucket is not None:
                for text in texts_from(link_source.get(inp["link"]), name):
                    if text not in bucket:
                        bucket.append(text)
    return positive, negative, model


class ComfyUI:
    """``prompt`` / ``workflow`` JSON records."""

    name = "comfyui"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        prompt_src = self._record(sources, "prompt")
        workflow_src = self._record(sources, "workflow")
        if prompt_src is None and workflow_src is None:
            return []
        positive: list[str] = []
        negative: list[str] = []
        model: str | None = None
        settings: dict[str, Any] = {}
        fields: list[str] = []
        if prompt_src is not None:
            graph = load_json(prompt_src, sources)
            if isinstance(graph, dict) and _looks_like_api_graph(graph):
                positive, negative, model, settings = prompts_from_api_graph(graph)
                fields.append(prompt_src.field)
            elif graph is not None:
                sources.errors.append(f"{prompt_src.field}: not a ComfyUI graph; skipped")
        if workflow_src is not None:
            workflow = load_json(workflow_src, sources)
            if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
                fields.append(workflow_src.field)
                if not positive and not negative:
                    positive, negative, wf_model = prompts_from_workflow(workflow)
                    model = model or wf_model
            elif workflow is not None:
                sources.errors.append(f"{workflow_src.field}: not a ComfyUI workflow; skipped")
        if not fields:
            return []
        return [
            GeneratorFinding(
                generator="ComfyUI",
                field=" and ".join(fields),
                model=model,
                model_family=model_family(model),
                prompt="\n".join(positive) or None,
                negative_prompt="\n".join(negative) or None,
                settings=clean_settings(settings),
            )
        ]

    @staticmethod
    def _record(sources: Sources, key: str) -> TextSource | None:
        for chunk in sources.meta.texts:
            if chunk.key == key:
                return TextSource(chunk.text, chunk.where)
        for tag, value in sources.exif.tags.items():
            if value.startswith(key + ":"):
                return TextSource(value[len(key) + 1 :], f"EXIF {tag} ({key})")
        return None


def _looks_like_api_graph(graph: dict[str, Any]) -> bool:
    return any(isinstance(node, dict) and "class_type" in node for node in graph.values())
