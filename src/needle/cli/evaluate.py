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

#: evaluation name -> module exposing ``command``
EVALS: dict[str, str] = {}

for _name, _module in EVALS.items():
    app.command(_name)(importlib.import_module(_module).command)
