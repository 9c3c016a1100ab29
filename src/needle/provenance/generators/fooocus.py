"""Fooocus: ``parameters`` JSON with ``fooocus_scheme`` (its own metadata scheme).

In: PNG text chunks ``parameters`` (JSON) and ``fooocus_scheme``, or a JSON ``parameters``
whose ``version`` names Fooocus. (Fooocus's other scheme, ``a1111``, is A1111-style text and is
read by the AUTOMATIC1111 reader, which names Fooocus from its ``Version``.)
Out: a ``GeneratorFinding`` with the user's prompt and negative prompt (not the style-expanded
``full_prompt``), ``base_model`` and scalar settings.
"""

from __future__ import annotations

from needle.provenance.generators.base import (
    Sources,
    TextSource,
    clean_settings,
    load_json,
    model_family,
)
from needle.provenance.model import GeneratorFinding

__all__ = ["Fooocus"]


class Fooocus:
    """Fooocus's own JSON scheme."""

    name = "fooocus"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        params = sources.meta.text("parameters")
        if params is None or not params.text.lstrip().startswith("{"):
            return []
        scheme = sources.meta.text("fooocus_scheme")
        record = load_json(TextSource(params.text, params.where), sources)
        if not isinstance(record, dict):
            return []
        version = str(record.get("version", ""))
        if scheme is None and not version.lower().startswith("fooocus"):
            sources.errors.append(f"{params.where}: JSON from an unknown tool; skipped")
            return []
        model = record.get("base_model")
        prompt = record.get("prompt")
        negative = record.get("negative_prompt")
        return [
            GeneratorFinding(
                generator="Fooocus",
                field=params.where + (" and fooocus_scheme" if scheme else ""),
                model=str(model) if model else None,
                model_family=model_family(str(model or "")),
                prompt=str(prompt).strip() or None if prompt else None,
                negative_prompt=str(negative).strip() or None if negative else None,
                settings=clean_settings(record),
            )
        ]
