"""``needle eval``: measure needle's models and guards on your own labelled data, locally.

Each evaluation lives in its own module exposing ``command``; add one line to ``EVALS``.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Measure needle's detectors on your own labelled data; nothing leaves this machine.",
    no_args_is_help=True,
)

#: evaluation name -> module exposing ``command``, or ``module:function``
EVALS: dict[str, str] = {
    "age": "needle.cli.eval_models:age",
    "ai": "needle.cli.eval_ai",
    "explicit": "needle.cli.eval_models:explicit",
    "guard": "needle.cli.eval_guard",
}

for _name, _target in EVALS.items():
    _module, _, _attr = _target.partition(":")
    app.command(_name)(getattr(importlib.import_module(_module), _attr or "command"))
