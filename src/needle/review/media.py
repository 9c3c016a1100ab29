"""A record's media for the reviewer: read safely, shown small and blurred, revealed on purpose.

Where the bytes come from:

- an upload (path ``upload:SHA256/NAME``): the encrypted quarantine, when the service keeps one
  (``needle serve --quarantine DIR``); without it the media was never kept, and saying so is
  the answer;
- a scanned file: the disk, and only inside the roots of the job that recorded it. The path is
  resolved (symbolic links included) and refused when it leads outside those roots; the file
  is opened without following a link in its last component and must be a regular file
  (``needle.media.reading``). An archive member (``case.zip!dir/a.jpg``) is found by walking
  the archive in place again, under the same limits as the scan, so its bytes are the ones
  the scan hashed. Bytes whose sha256 differs from the record's are refused: the file changed
  since it was scanned, and the reviewer would decide on a different picture.

What is shown: ``thumbnail`` decodes under the scan's limits (a video: its first frame), reduces to at most 256 pixels,
removes colour and blurs on the server, then encodes a fresh JPEG (no metadata travels).
``revealed_image`` is the unblurred picture, re-encoded too (at most 2048 pixels, no EXIF,
a format every browser shows). Hostile or unreadable media raises a ``MediaError`` saying why.
"""

from __future__ import annotations

import hashlib
import io
import os
import re

import sqlalchemy as sa
from PIL import Image, ImageFilter

from needle.errors import CorruptMedia, MediaError, MediaTooLarge, OutsideRoot
from needle.media import ARCHIVE_SEPARATOR, DEFAULT_LIMITS, Limits, decode_image
from needle.media.archive import HeldBytes, walk_archive
from needle.media.names import is_archive_name
from needle.media.reading import read_regular
from needle.media.video import SNIFF_BYTES, is_video
from needle.review.model import BlurSettings, ReviewItem
from needle.review.queue import sessions
from needle.store import Store
from needle.store.quarantine import Quarantine
from needle.store.schema import JobRow

__all__ = [
    "REVEAL_SIZE",
    "THUMB_SIZE",
    "UPLOAD_PREFIX",
    "MediaUnavailable",
    "media_bytes",
    "revealed_image",
    "thumbnail",
]

UPLOAD_PREFIX = "upload:"
THUMB_SIZE = 256
REVEAL_SIZE = 2048
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


class MediaUnavailable(MediaError):
    """The media is not there to show: not kept, moved, or no longer in its archive."""


def media_bytes(
    store: Store,
    item: ReviewItem,
    quarantine: Quarantine | None,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """The bytes of ``item``'s file, from the quarantine or from inside its job's roots."""
    path = item.record.path
    if path.startswith(UPLOAD_PREFIX):
        return _from_quarantine(path, quarantine)
    with sessions(store)() as session:
        roots = session.scalar(sa.select(JobRow.roots).where(JobRow.id == item.job_id))
    if not isinstance(roots, list) or not roots:
        raise MediaUnavailable(f"the job {item.job_id} that recorded this file names no folders")
    data = _from_disk(path, [str(r) for r in roots], limits)
    expected = item.record.sha256
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise MediaUnavailable(
            "the file on disk has changed since it was scanned (its sha256 differs): not shown"
        )
    return data


def _from_quarantine(path: str, quarantine: Quarantine | None) -> bytes:
    ref = path[len(UPLOAD_PREFIX) :].split("/", 1)[0]
    if quarantine is None:
        raise MediaUnavailable(
            "this upload's media was not kept: the service stores hashes and references only "
            "(an operator can keep uploads encrypted with needle serve --quarantine DIR)"
        )
    if not _SHA256.fullmatch(ref):
        raise MediaUnavailable("this upload's record names no quarantined file")
    if ref not in quarantine:
        raise MediaUnavailable("this upload's media was not kept in the quarantine")
    try:
        return quarantine.get(ref)
    except Exception as exc:  # a damaged sealed file, a wrong key: never the page's crash
        raise MediaUnavailable(str(exc)) from None


def _candidates(shown: str) -> list[str]:
    """Paths on disk a display path may stand for: as shown, and with the walk's escapes of
    ``!`` (``%21``) and of bytes that are not UTF-8 (``\\xNN``) undone."""
    undone = _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), shown)
    undone = undone.replace("%21", ARCHIVE_SEPARATOR)
    return [shown] if undone == shown else [shown, undone]


def _inside(real: str, roots: list[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)


def _from_disk(path: str, roots: list[str], limits: Limits) -> bytes:
    shown, separator, _member = path.partition(ARCHIVE_SEPARATOR)
    if not os.path.isabs(shown):
        raise MediaUnavailable("the record's path is not a path on this machine")
    real_roots = [os.path.realpath(root) for root in roots]
    real = ""
    for candidate in _candidates(shown):
        try:
            real = os.path.realpath(candidate)
        except (OSError, ValueError):
            continue
        if not _inside(real, real_roots):
            raise OutsideRoot(
                "the file is outside the folders its scan job covered: not read "
                "(a reviewer sees only what the job scanned)"
            )
        if os.path.lexists(real):
            break
    else:
        raise MediaUnavailable("the file is no longer on disk where it was scanned")
    if not os.path.exists(real):
        raise MediaUnavailable("the file is no longer on disk where it was scanned")
    if not separator:
        return read_regular(real, limits)
    return _member_bytes(path, shown, real, limits)


def _member_bytes(path: str, shown: str, real: str, limits: Limits) -> bytes:
    if not is_archive_name(real):
        raise MediaUnavailable("the record names an archive member, but the file is no archive")
    try:
        size = os.stat(real).st_size
    except OSError as exc:
        raise MediaUnavailable(f"cannot read the archive: {exc.strerror or exc}") from None
    for found in walk_archive(shown, real, size, limits, HeldBytes(limits.max_held_bytes)):
        if found.path == path:
            return found.read(limits)
    raise MediaUnavailable("the archive no longer holds this member")


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _small(data: bytes, limits: Limits, side: int) -> Image.Image:
    if is_video(data[:SNIFF_BYTES]):
        image = _poster(data, limits)
    else:
        image = decode_image(data, limits=limits, draft_size=side).image
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _poster(data: bytes, limits: Limits) -> Image.Image:
    """A video's first frame, upright: what the reviewer sees of a video (its record lists
    the frames the classifiers scored, by time)."""
    from needle.media.video import open_video

    with open_video(data, limits=limits) as reader:
        for frame in reader.frames(seconds_per_frame=1e9, upright=True):
            return Image.fromarray(frame.rgb)
    raise CorruptMedia("the video holds no frame to show")


def thumbnail(data: bytes, blur: BlurSettings, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A JPEG of at most ``THUMB_SIZE`` pixels, greyscale when ``blur`` says so, blurred with a
    Gaussian of radius ``blur.strength_px``: made here, so the browser never holds more."""
    try:
        image = _small(data, limits, THUMB_SIZE)
        if blur.greyscale:
            image = image.convert("L")
        image = image.filter(ImageFilter.GaussianBlur(radius=blur.strength_px))
        return _encode(image, 70)
    except MediaError:
        raise
    except MemoryError:
        raise MediaTooLarge("not enough memory to make a thumbnail") from None
    except Exception as exc:  # hostile pixels must not cost more than this answer
        raise CorruptMedia(f"cannot make a thumbnail: {exc}") from None


def revealed_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The unblurred picture as a fresh JPEG of at most ``REVEAL_SIZE`` pixels, no metadata."""
    try:
        return _encode(_small(data, limits, REVEAL_SIZE), 88)
    except MediaError:
        raise
    except MemoryError:
        raise MediaTooLarge("not enough memory to show this picture") from None
    except Exception as exc:
        raise CorruptMedia(f"cannot show this picture: {exc}") from None
