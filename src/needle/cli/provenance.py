"""``needle provenance FILE…``: show the evidence that files were AI-generated or camera-made,
and whether each is likely a camera original."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.errors import ConfigError, MediaError
from needle.media import walk
from needle.provenance import ProvenanceOptions, examine

__all__ = ["command"]

_WATERMARK_MODES = ("auto", "always", "never")


def command(
    files: list[Path] = typer.Argument(..., help="Files, folders or archives to examine."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    show_prompt: bool = typer.Option(
        False,
        "--show-prompt",
        help="Also print prompts embedded by generators (withheld by default).",
    ),
    watermark: str = typer.Option(
        "auto",
        "--watermark",
        help="Invisible-watermark check: auto (cheap cases only), always, or never.",
    ),
    trust_anchors: Path | None = typer.Option(
        None,
        "--trust-anchors",
        help="PEM file of C2PA trust anchors; without it every C2PA signer reads 'untrusted'.",
    ),
    camera_tables: Path | None = typer.Option(
        None,
        "--camera-tables",
        help="TOML file of JPEG quantisation tables of cameras or programs you know, added to "
        "the shipped ones (format: needle/provenance/data/jpeg_tables.toml).",
    ),
) -> None:
    """Show every provenance signal in each file, with its strength.

    Reads C2PA manifests (claims and signature state; remote manifests are named, never
    fetched), IPTC digital source types in XMP, generator records (AUTOMATIC1111/Forge,
    ComfyUI, NovelAI, InvokeAI, Fooocus, Midjourney, and metadata hidden in pixel low bits),
    software names in EXIF, and the invisible watermark of Stable Diffusion 1.x/2.x/SDXL.

    Camera-original evidence: EXIF maker notes, dates, sizes and GPS, JPEG quantisation tables
    (a known camera's, Photoshop's, libjpeg's standard ones), and whether the EXIF thumbnail
    still shows the picture. "camera original" is "likely" (a camera named, its maker note
    readable, a matching thumbnail or a camera's tables, no editing trace, no AI evidence),
    "possible" or "unknown". Neither "unknown" means anything: metadata is stripped by every
    re-save, and can be copied from a real photo into a generated one.

    The verdict is "claimed" (the file declares AI generation), "likely" (a detection such as
    a watermark) or "unknown". "unknown" never means "real": most files carry no provenance at
    all, and metadata can be stripped or forged. Embedded prompts are withheld unless you pass
    --show-prompt.

    C2PA signatures read "untrusted" unless you pass --trust-anchors with the CA certificates
    you trust (PEM). Exit code 0 when every file was read, 1 when any could not be.

    Example: needle provenance suspect.png --json
    """
    if watermark not in _WATERMARK_MODES:
        raise ConfigError(
            f"--watermark must be one of {', '.join(_WATERMARK_MODES)}, not {watermark!r}"
        )
    anchors = None
    if trust_anchors is not None:
        try:
            anchors = trust_anchors.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read --trust-anchors {str(trust_anchors)!r}: {exc}; give a PEM file "
                "of CA certificates"
            ) from None
        if "-----BEGIN CERTIFICATE-----" not in anchors:
            raise ConfigError(
                f"--trust-anchors {str(trust_anchors)!r} holds no PEM certificate "
                "(-----BEGIN CERTIFICATE-----)"
            )
    tables = None
    if camera_tables is not None:
        from needle.provenance.quantization import load_tables

        tables = str(camera_tables)
        load_tables(tables)  # a ConfigError says what is wrong with the file, before any work
    options = ProvenanceOptions(
        watermark=watermark, c2pa_trust_anchors=anchors, camera_tables=tables
    )
    failed = False
    for item in walk([str(f) for f in files]):
        try:
            data = item.read()
        except MediaError as exc:
            failed = True
            if as_json:
                typer.echo(json.dumps({"path": item.path, "error": str(exc)}))
            else:
                typer.echo(item.path)
                typer.secho(f"  error: {exc}", fg=typer.colors.RED)
            continue
        result = examine(data, filename=item.path, options=options)
        if as_json:
            typer.echo(json.dumps({"path": item.path, **result.to_dict(show_prompt)}))
            continue
        _print(item.path, result, show_prompt)
    if failed:
        raise typer.Exit(1)


def _print(path: str, result: object, show_prompt: bool) -> None:
    from needle.provenance import ProvenanceResult

    assert isinstance(result, ProvenanceResult)
    typer.echo(path)
    typer.echo(
        f"  ai-generated: {result.ai_generated}   camera claimed: "
        f"{'yes' if result.camera_claimed else 'no'}"
    )
    reason = result.camera_reason
    shown = f" ({reason})" if reason and reason not in result.summary() else ""
    typer.echo(f"  camera original: {result.camera_original}{shown}")
    typer.echo(f"  {result.summary()}")
    if result.generator or result.model:
        typer.echo(f"  generator: {result.generator or '-'}   model: {result.model or '-'}")
    for item in result.evidence:
        typer.echo(f"  [{item.strength:8}] {item.indicates:6} {item.detail}")
    if result.camera_evidence:
        typer.echo("  camera-original evidence:")
        for item in result.camera_evidence:
            typer.echo(f"    [{item.strength:8}] {item.indicates:6} {item.detail}")
    if result.c2pa is not None:
        c2pa = result.c2pa
        codes = f" ({', '.join(c2pa.failure_codes)})" if c2pa.failure_codes else ""
        typer.echo(
            f"  c2pa: {c2pa.state}{codes}" + (f", signer {c2pa.signer}" if c2pa.signer else "")
        )
    mark = result.watermark
    if mark is not None:
        if mark.best is not None:
            best = mark.best
            typer.echo(
                f"  watermark: {mark.level} (best {best.model}: {best.bits_matched}/"
                f"{best.bits_total} bits, {best.channel_order.upper()} order)"
                + (f"; {mark.reason}" if mark.reason else "")
            )
        else:
            typer.echo(f"  watermark: {mark.level}; {mark.reason}")
    if result.settings:
        shown = ", ".join(f"{k}: {v}" for k, v in list(result.settings.items())[:12])
        typer.echo(f"  settings: {shown}")
    if result.has_prompt:
        if show_prompt:
            typer.echo(f"  prompt: {result.prompt or ''}")
            typer.echo(f"  negative prompt: {result.negative_prompt or ''}")
        else:
            typer.echo("  prompt: embedded, withheld (--show-prompt to print it)")
    for error in result.errors:
        typer.secho(f"  note: {error}", fg=typer.colors.YELLOW)
