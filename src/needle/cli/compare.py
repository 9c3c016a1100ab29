"""``needle compare A B``: how much of two videos is the same (vPDQ), or how far apart two
images are (PDQ)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.jsonvalue import JSONObject
from needle.signals.pdq import (
    DIHEDRAL_DESCRIPTIONS,
)
from needle.signals.vpdq import VPDQ_SECONDS_PER_HASH
from needle.signals.vpdq_compare import (
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_PERCENT,
    CompareInput,
    VpdqComparison,
    compare_images,
    compare_vpdq,
    read_compare_input,
)

__all__ = ["command"]


def command(
    query: Path = typer.Argument(..., help="A video, a vPDQ text file or an image (the query)."),
    compared: Path = typer.Argument(..., help="The video, vPDQ text file or image to compare."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    seconds_per_hash: float = typer.Option(
        VPDQ_SECONDS_PER_HASH,
        "--seconds-per-hash",
        min=0.0,
        help="A query video: hash one frame every this many seconds (0: every frame).",
    ),
    compared_seconds_per_hash: float = typer.Option(
        0.0,
        "--compared-seconds-per-hash",
        min=0.0,
        help="The compared video: the same; by default every frame, as known material is "
        "best kept, so that a query cut at another moment still finds its frames.",
    ),
    # vPDQ's defaults are PDQ's own (31, 50): one --distance and --quality serve both
    distance: int = typer.Option(
        VPDQ_DISTANCE_THRESHOLD,
        "--distance",
        min=0,
        max=256,
        help="Frames (or images) within this PDQ distance are the same.",
    ),
    quality: int = typer.Option(
        VPDQ_QUALITY_THRESHOLD,
        "--quality",
        min=0,
        max=100,
        help="Frames of lower PDQ quality are left out.",
    ),
    query_percent: float = typer.Option(
        VPDQ_QUERY_MATCH_PERCENT,
        "--query-percent",
        min=0.0,
        max=100.0,
        help="A match needs at least this share of the query's frames found in the other.",
    ),
    compared_percent: float = typer.Option(
        VPDQ_COMPARED_MATCH_PERCENT,
        "--compared-percent",
        min=0.0,
        max=100.0,
        help="... and this share of the other's frames found in the query.",
    ),
) -> None:
    """Compare two videos, vPDQ files or images: how much of each is found in the other.

    Videos (or vPDQ text files, `needle hash --vpdq`) are compared as Meta's vPDQ reference
    compares them: unique frame hashes of quality >= 50, a frame found when one of the
    other's is within PDQ distance 31, and a match when at least 80 % of the query's
    frames are found. The query video is hashed one frame a second, the compared one every
    frame. An image against a video is a one-frame query. Two images: their PDQ distance
    (also over the 8 rotations and flips).

    Exit code 0: a match; 1: no match; 3: a file could not be read.

    Example: needle compare clip.mp4 original.mp4
    """
    a = read_compare_input(str(query), seconds_per_hash)
    b = read_compare_input(str(compared), compared_seconds_per_hash)
    if a.pdq is not None and b.pdq is not None:
        matched = _images(a, b, distance, quality, as_json)
    else:
        comparison = compare_vpdq(
            a.vpdq,
            b.vpdq,
            distance_threshold=distance,
            quality_threshold=quality,
            query_match_threshold=query_percent,
            compared_match_threshold=compared_percent,
        )
        _videos(a, b, comparison, as_json)
        matched = comparison.is_match
    if not matched:
        raise typer.Exit(1)


def _videos(a: CompareInput, b: CompareInput, result: VpdqComparison, as_json: bool) -> None:
    if as_json:
        data: JSONObject = {"query": a.path, "query_kind": a.kind}
        data.update({"compared": b.path, "compared_kind": b.kind, **result.to_dict()})
        typer.echo(json.dumps(data))
        return
    width = max(len(a.path), len(b.path))
    typer.echo(
        f"{a.path:{width}}  {result.query_match_percent:6.2f} % of its "
        f"{result.query_frames} frames found in the other"
    )
    typer.echo(
        f"{b.path:{width}}  {result.compared_match_percent:6.2f} % of its "
        f"{result.compared_frames} frames found in the other"
    )
    verdict = "match" if result.is_match else "no match"
    typer.echo(
        f"{verdict} (needs >= {result.query_match_threshold:g} % of the query and "
        f">= {result.compared_match_threshold:g} % of the other; frames within distance "
        f"{result.distance_threshold}, quality >= {result.quality_threshold})"
    )


def _images(a: CompareInput, b: CompareInput, distance: int, quality: int, as_json: bool) -> bool:
    """Print two images' PDQ distance, and the closest of the rotations and flips; True when
    they match (both of quality >= the floor, within ``distance``)."""
    assert a.pdq is not None and b.pdq is not None
    result = compare_images(a.pdq, b.pdq, distance_threshold=distance, quality_threshold=quality)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": a.path,
                    "compared": b.path,
                    "match": result.is_match,
                    "pdq_distance": result.distance,
                    "closest_transform": result.transform,
                    "closest_distance": result.closest,
                    "query_quality": a.pdq.quality,
                    "compared_quality": b.pdq.quality,
                    "distance_threshold": distance,
                    "quality_threshold": quality,
                }
            )
        )
        return result.is_match
    typer.echo(f"{a.path}  pdq {a.pdq.value}  quality {a.pdq.quality}")
    typer.echo(f"{b.path}  pdq {b.pdq.value}  quality {b.pdq.quality}")
    typer.echo(f"pdq distance {result.distance}")
    if result.closest < result.distance:
        typer.echo(
            f"closest: {result.closest}, when the second is "
            f"{DIHEDRAL_DESCRIPTIONS[result.transform]}"
        )
    if not result.usable:
        typer.echo(f"no match: quality below {quality}, too flat to compare reliably")
    else:
        typer.echo(
            f"{'match' if result.is_match else 'no match'} (match at distance <= {distance})"
        )
    return result.is_match
