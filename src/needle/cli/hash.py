"""``needle hash FILE…``: print the signals of single files (md5, sha1, sha256, pdq + quality;
for videos, video_md5 and vPDQ)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.errors import MediaError, OptionalDependencyError
from needle.jsonvalue import JSONObject
from needle.media import Item, walk
from needle.media.video import VideoSource, video_source
from needle.pipeline.worker import compute_file
from needle.signals.vpdq import VPDQ_SECONDS_PER_HASH, VideoHashes, hash_video, video_md5
from needle.signals.vpdq_compare import VPDQ_QUALITY_THRESHOLD

__all__ = ["command"]


def command(
    files: list[Path] = typer.Argument(..., help="Files, folders or archives to hash."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    dihedral: bool = typer.Option(
        False, "--dihedral", help="Also print the PDQ hashes of the 8 rotations and flips."
    ),
    seconds_per_hash: float = typer.Option(
        VPDQ_SECONDS_PER_HASH,
        "--seconds-per-hash",
        min=0.0,
        help="Videos: hash one frame every this many seconds (0: every frame).",
    ),
    vpdq_text: bool = typer.Option(
        False,
        "--vpdq",
        help="Videos: print the vPDQ in the reference's text format "
        "(frame,quality,pdq,timestamp), one line per hashed frame.",
    ),
) -> None:
    """Print the hashes needle computes for each file.

    md5, sha1 and sha256 are over the file's bytes; pdq is over its pixels, with its quality
    (0-100; below 50 the hash is kept but never matched). Archives are read in place and
    their members printed as ARCHIVE!MEMBER.

    Videos (told by their content, not their name; needs the `video` extra) get video_md5
    and vPDQ: the PDQ of one frame a second (`--seconds-per-hash`), each with its frame
    number, quality and timestamp, as Meta's reference computes them.

    Example: needle hash photo.jpg clip.mp4 --json
    """
    failed = False
    for found in walk([str(f) for f in files]):
        item, source = video_source(found)
        if source is not None:
            failed |= _video(item, source, seconds_per_hash, as_json=as_json, text=vpdq_text)
            continue
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


def _video(item: Item, source: VideoSource, seconds: float, *, as_json: bool, text: bool) -> bool:
    """Hash one video and print it; True when it failed."""
    data: JSONObject = {"path": item.path, "size": item.size, "kind": "video"}
    try:
        hashes = hash_video(source, seconds_per_hash=seconds)
    except (MediaError, OptionalDependencyError) as exc:
        reason = exc.reason if isinstance(exc, MediaError) else "missing-extra"
        try:
            digest: str | None = video_md5(source)
        except MediaError:
            digest = None
        data.update({"video_md5": digest, "error": str(exc), "error_reason": reason})
        if as_json:
            typer.echo(json.dumps(data))
        else:
            typer.echo(item.path)
            typer.secho(f"  error: {exc}", fg=typer.colors.RED)
            if digest:
                typer.echo(f"  video_md5 {digest}")
        return True
    if text:
        typer.echo(hashes.vpdq.to_text(), nl=False)
    elif as_json:
        typer.echo(json.dumps({**data, **hashes.to_dict(), "error": None, "error_reason": None}))
    else:
        _summary(item.path, hashes)
    return False


def _summary(path: str, hashes: VideoHashes) -> None:
    info = hashes.info
    duration = f", {info.duration:.1f} s" if info.duration is not None else ""
    turned = f", shown turned {hashes.rotation}°" if hashes.rotation else ""
    typer.echo(path)
    typer.echo(
        f"  video     {info.container} {info.codec} {info.width}x{info.height}, "
        f"{info.frame_rate:g} fps{duration}, {hashes.frame_count} frames{turned}"
    )
    typer.echo(f"  video_md5 {hashes.video_md5}")
    every = f"every {hashes.seconds_per_hash:g} s" if hashes.seconds_per_hash else "every frame"
    vpdq = hashes.vpdq
    floor = VPDQ_QUALITY_THRESHOLD
    usable = sum(1 for feature in vpdq if feature.quality >= floor)
    typer.echo(f"  vpdq      {len(vpdq)} frame hashes ({every}), {usable} of quality >= {floor}")
    for feature in vpdq.features[:3]:
        typer.echo(f"    {feature.to_text()}")
    if len(vpdq) > 3:
        typer.echo(f"    ... (--json or --vpdq for all {len(vpdq)})")
