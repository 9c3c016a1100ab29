"""``needle hash FILE…``: print the signals of single files (md5, sha1, sha256, pdq + quality)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.media import walk
from needle.pipeline.worker import compute_file

__all__ = ["command"]


def command(
    files: list[Path] = typer.Argument(..., help="Files, folders or archives to hash."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    dihedral: bool = typer.Option(
        False, "--dihedral", help="Also print the PDQ hashes of the 8 rotations and flips."
    ),
) -> None:
    """Print the hashes needle computes for each file.

    md5, sha1 and sha256 are over the file's bytes; pdq is over its pixels, with its quality
    (0-100; below 50 the hash is kept but never matched). Archives are read in place and
    their members printed as ARCHIVE!MEMBER.

    Example: needle hash photo.jpg --json
    """
    failed = False
    for item in walk([str(f) for f in files]):
        record = compute_file(item)
        if as_json:
            data = record.to_dict()
            if not dihedral:
                data.pop("pdq_dihedral", None)
            typer.echo(json.dumps(data))
            failed |= record.error is not None
            continue
        typer.echo(item.path)
        if record.error:
            typer.secho(f"  error: {record.error}", fg=typer.colors.RED)
            failed = True
        for name in ("md5", "sha1", "sha256"):
            if name in record.signals:
                typer.echo(f"  {name:7} {record.signals[name].value}")
        pdq = record.signals.get("pdq")
        if pdq is not None:
            typer.echo(f"  pdq     {pdq.value}  quality {pdq.quality}")
            if dihedral:
                for transform, value in pdq.variants:
                    typer.echo(f"    {transform:12} {value}")
    if failed:
        raise typer.Exit(1)
