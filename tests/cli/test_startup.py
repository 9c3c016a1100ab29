"""Start-up: each verb imports only what it uses.

``needle --help`` lists the verbs from the summaries in ``needle.cli.main`` without importing
their modules, and ``needle guard`` loads the text guard but not the database, the banks, the
image stack, the models or the web app. Each case runs in a fresh interpreter, since this
test process has imported everything already; what is checked is ``sys.modules``, never time.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
import typer

from needle.cli.main import GROUPS, VERBS, app

#: what a verb that does not need them must leave unimported
HEAVY = (
    "sqlalchemy",
    "alembic",
    "needle.store",
    "needle.banks",
    "needle.banks.formats",
    "needle.signals",
    "needle.match",
    "needle.media",
    "needle.pipeline",
    "needle.genguard",
    "numpy",
    "PIL",
    "onnxruntime",
    "fastapi",
    "starlette",
)

#: run in the child: ``needle ARGS`` (no ARGS: only the import), then report what it loaded
CHILD = """
import contextlib, io, json, sys
from needle.cli.main import main
out = io.StringIO()
code = None
if sys.argv[1:]:
    sys.argv = ["needle", *sys.argv[1:]]
    with contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run(*args: str) -> tuple[object, str, set[str]]:
    """Exit code, standard output and the modules loaded by ``needle ARGS`` in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    report = json.loads(done.stdout)
    return report["code"], report["out"], set(report["modules"])


def _verb_modules(modules: set[str]) -> set[str]:
    known = {verb.module for verb in (*VERBS.values(), *GROUPS.values())}
    return modules & known


@pytest.mark.parametrize(
    "args",
    [(), ("--help",), ("guard", "a lighthouse at dusk"), ("guard", "--json", "a cat on a sofa")],
    ids=["import", "help", "guard", "guard-json"],
)
def test_a_verb_leaves_the_heavy_stack_unimported(args: tuple[str, ...]) -> None:
    _, _, modules = _run(*args)
    assert sorted(modules & set(HEAVY)) == []


def test_help_lists_every_verb_without_importing_one() -> None:
    code, out, modules = _run("--help")
    assert code == 0
    assert _verb_modules(modules) == set()
    panel = [line[2:] for line in out.splitlines() if line.startswith("│ ")]
    listed = [w for line in panel if (w := line.split(" ", 1)[0]) and not w.startswith("-")]
    assert listed == [*VERBS, *GROUPS]


def test_guard_imports_only_its_own_verb_and_the_text_guard() -> None:
    code, out, modules = _run("guard", "a lighthouse at dusk")
    assert code == 0 and out.startswith("allow")
    assert _verb_modules(modules) == {"needle.cli.guard"}
    assert "needle.textguard" in modules


def test_every_verb_is_registered_with_its_own_summary() -> None:
    """The summaries kept in main.py are the first paragraph of each verb's own help, so
    ``needle --help`` reads the same as if every module had been imported."""
    group = typer.main.get_group(app)
    assert list(group.list_commands(typer.Context(group))) == [*VERBS, *GROUPS]
    for name, verb in {**VERBS, **GROUPS}.items():
        command = group.get_command(typer.Context(group), name)
        assert command is not None and command.name == name
        first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
        assert first.strip() == verb.summary, name
