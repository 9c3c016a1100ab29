"""``needle report vics``: reviewed items as a Project VIC VICS JSON file."""

from __future__ import annotations

from pathlib import Path

import typer

from needle.cli._common import DB_OPTION, console, open_store
from needle.report.vics import VICS_VERSIONS, load_vics_config, write_vics

__all__ = ["command"]


def command(
    out: Path = typer.Option(..., "--out", "-o", help="VICS JSON file to write.", dir_okay=False),
    vics_version: str = typer.Option(
        "2.0", "--vics-version", help=f"VICS data model: {' or '.join(VICS_VERSIONS)}."
    ),
    job: int | None = typer.Option(None, "--job", help="Only the files of this scan job."),
    case: str | None = typer.Option(
        None, "--case", help="Only the files of this case, written as a VICS #Cases export."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="TOML file with [vics.categories] (decision = category number).",
        exists=True,
        dir_okay=False,
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Export reviewed files as Project VIC VICS JSON (1.3 or 2.0).

    Each file's current decision becomes its VICS category (US scheme by default:
    abuse-real 1 CAM, abuse-ai 3 CGI/animation, not-abuse 0 non-pertinent; change it in
    --config under [vics.categories]). Escalated, second-review and undecided files are not
    exported: they are counted as skipped. MD5, SHA1, file names, paths and sizes are
    written, and needle's PDQ as an alternative hash; notes and account details never are.
    The file reads back with `needle bank import`.
    """
    settings = load_vics_config(config)
    with open_store(db) as store:
        export = write_vics(store, out, version=vics_version, job=job, case=case, config=settings)
    categories = ", ".join(
        f"{settings.category_name(c)} ({c}) {n}" for c, n in export.by_category.items()
    )
    console.print(
        f"wrote {export.path}: VICS {export.version}, {export.media} media records "
        f"({export.files} files)" + (f" in case {export.case!r}" if export.case else "")
    )
    if categories:
        console.print(f"  by category: {categories}")
    if export.skipped:
        detail = ", ".join(f"{k} {n}" for k, n in export.skipped.items())
        console.print(f"  skipped {export.skipped_total}: {detail}")
