"""Safe image decoding with Pillow.

In: bytes of one file. Out: a ``DecodedImage`` holding RGB pixels with EXIF orientation
applied, the first frame of animations, the size of the stored original, and how much the
pixels were reduced on the way (``scale``) so that hashers can account for it.

Safety: the pixel count is read from the header and checked before any pixel is decoded (a
decompression bomb costs nothing), Pillow's own bomb check is turned into ``MediaTooLarge``,
and PostScript (EPS) is refused because Pillow would hand it to Ghostscript.

Colour: every Pillow mode (1, L, LA, P, PA, I, I;16, F, CMYK, YCbCr, LAB, HSV, RGBA ...) comes
out as RGB the way ``Image.convert("RGB")`` makes it, so transparency is *dropped*, not
composited: the reference PDQ hasher (ThreatExchange ``pdq/cpp``) and python-threatexchange
both hash the colour channels and ignore alpha, and a hash list made with them must match what
needle computes for the same file. High bit-depth greyscale (I;16, I, F), which Pillow would
clip to white, is mapped to 8 bits linearly instead (``to_rgb``).

Speed: ``draft_size`` says the caller needs no more than that many pixels on the short side.
JPEGs are then decoded in the DCT domain at 1/2, 1/4 or 1/8 scale (libjpeg's scaled IDCT;
at 1/8 each pixel is its 8x8 block's mean), and anything still at least twice that size is
block-averaged by an integer factor (``Image.reduce``). ``scale`` records the total factor.
A progressive JPEG decoded at 1/8 is decoded from its DC scans alone
(``needle.media.progressive``: the same luminance, 4-8x faster on a large photo).

Metadata never costs the pixels: when Pillow refuses a PNG or JPEG, it is decoded again
without its metadata (``needle.media.strip``), so a text chunk past Pillow's limits or a
damaged segment cannot hide a picture from its perceptual hash.

Time: decoding stops after ``Limits.max_decode_seconds`` (a timer, where the process allows
one), and progressive JPEGs with more than ``Limits.max_jpeg_scans`` scans are refused
before decoding (``docs/limits.md``).
"""

from __future__ import annotations

import io
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import numpy as np
from PIL import Image, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile

from needle.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.progressive import dc_only
from needle.media.strip import without_metadata

__all__ = [
    "ORIENTATION_TRANSPOSE",
    "Axis",
    "DecodedImage",
    "decode_full",
    "decode_image",
    "image_size",
    "to_rgb",
]

#: EXIF Orientation value -> the transpose that shows the picture upright (EXIF 2.32, tag 0x0112)
ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# For each orientation, where the upright picture's x and y axes come from in the stored
# pixels: (stored axis 0=x 1=y, reversed?). Orientation 6, for one, is stored turned 90°
# counter-clockwise, so upright x runs along stored y backwards and upright y along stored x.
_AXES: dict[int, tuple[tuple[int, bool], tuple[int, bool]]] = {
    1: ((0, False), (1, False)),
    2: ((0, True), (1, False)),
    3: ((0, True), (1, True)),
    4: ((0, False), (1, True)),
    5: ((1, False), (0, False)),
    6: ((1, True), (0, False)),
    7: ((1, True), (0, True)),
    8: ((1, False), (0, True)),
}

# PostScript is rendered by running Ghostscript, which has no business reading evidence files
_REFUSED_FORMATS = frozenset({"EPS"})
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_EXIF_ORIENTATION = 0x0112
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_SOS = b"\xff\xda"  # start of scan; 0xFF 0xDA cannot occur inside entropy-coded data


@dataclass(frozen=True)
class Axis:
    """How one axis of ``DecodedImage.image`` maps onto the full-resolution upright picture.

    ``full`` pixels at full resolution; each decoded pixel averages ``scale`` of them, counted
    from the start of the stored file's axis, which runs backwards here when ``reversed``.
    """

    full: int
    scale: int
    reversed: bool


@dataclass(frozen=True)
class DecodedImage:
    """Pixels ready for hashing and models.

    ``image`` is RGB and upright. ``width``/``height`` are those of the stored original at
    full resolution, before orientation; ``scale`` says each side of ``image`` is about
    1/scale of that (1 when nothing was reduced); ``orientation`` is the EXIF orientation that
    was applied (1 = none); ``frames`` counts frames of animations and multi-page files.
    ``stored``: the first frame at full resolution exactly as stored (no rotation, alpha kept,
    as ``decode_full`` gives it), when the caller asked for it (``keep_stored``), else None.
    """

    image: Image.Image
    format: str
    width: int
    height: int
    frames: int = 1
    scale: int = 1
    orientation: int = 1
    stored: Image.Image | None = field(default=None, repr=False, compare=False)

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height of the upright picture at full resolution."""
        x, y = self.axes()
        return x.full, y.full

    def axes(self) -> tuple[Axis, Axis]:
        """How ``image``'s x and y axes map onto the full-resolution upright picture."""
        stored = (self.width, self.height)
        (ax, rx), (ay, ry) = _AXES.get(self.orientation, _AXES[1])
        return Axis(stored[ax], self.scale, rx), Axis(stored[ay], self.scale, ry)


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """Map I;16, I and F greyscale to 8 bits the way their values are usually meant.

    16-bit data (0..65535) is divided by 257, float data in 0..1 multiplied by 255, data
    already in 0..255 kept; anything else is stretched from its own minimum to its maximum.
    All of these are linear, so perceptual hashes (which ignore brightness and contrast
    scaling) are unaffected by the choice; Pillow's own conversion clips to white instead.
    """
    values = np.asarray(image, dtype=np.float32)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0 and hi <= 255 and not (image.mode == "F" and hi <= 1.0):
        mapped = values
    elif image.mode == "F" and lo >= 0 and hi <= 1.0:
        mapped = values * 255.0
    elif lo >= 0 and hi <= 65535:
        mapped = values / 257.0
    else:
        mapped = (values - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.clip(mapped + 0.5, 0, 255).astype(np.uint8), "L")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; alpha is dropped, as the reference PDQ tools do."""
    if image.mode == "RGB":
        return image
    if image.mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_l(image).convert("RGB")
    if image.mode == "La":  # premultiplied; Pillow converts it to nothing else
        return image.getchannel(0).convert("RGB")
    return image.convert("RGB")


def _open(data: bytes, limits: Limits) -> Image.Image:
    if not data:
        raise CorruptMedia("the file is empty (0 bytes): there is no image to decode")
    image = Image.open(io.BytesIO(data))
    if image.format in _REFUSED_FORMATS:
        raise UnsupportedMedia(
            f"{image.format} (PostScript) is not decoded: rendering it runs Ghostscript on "
            "untrusted input; convert it to PNG on an isolated machine if it must be scanned"
        )
    width, height = image.size
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"{width}x{height} = {width * height:,} pixels is over the limit of "
            f"{limits.max_pixels:,} (decompression bomb?); raise Limits.max_pixels only for "
            "files you trust"
        )
    pixels = width * height
    if pixels > limits.pixels_per_byte_above and pixels > limits.max_pixels_per_byte * len(data):
        raise MediaTooLarge(
            f"{width}x{height} = {pixels:,} pixels from {len(data):,} bytes, "
            f"{pixels // len(data):,} pixels a byte: more than the limit of "
            f"{limits.max_pixels_per_byte:,} that real images stay under (decompression bomb?); "
            "raise Limits.max_pixels_per_byte only for files you trust"
        )
    if width < 1 or height < 1:
        raise CorruptMedia(f"the header declares an empty image ({width}x{height})")
    # only a progressive JPEG has more than one scan: a baseline one skips the count (a pass
    # over every byte, milliseconds on a large photo)
    progressive = image.format in _JPEG_FORMATS and image.info.get("progressive")
    if progressive and data.count(_SOS) > limits.max_jpeg_scans:
        raise MediaTooLarge(
            f"the JPEG has {data.count(_SOS):,} scans, over the limit of {limits.max_jpeg_scans} "
            "(Limits.max_jpeg_scans): each scan is a pass over the whole picture"
        )
    return image


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # malformed EXIF must not cost the pixels; treat as upright
        return 1
    return value if isinstance(value, int) and value in _AXES else 1


class _Expired(BaseException):
    """The decode deadline passed (a BaseException, so that no ``except Exception`` in
    Pillow's code swallows it)."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise ``_Expired`` in this thread once ``seconds`` have passed, where a timer can be
    had: the main thread, and no SIGALRM handler or real-time timer of the program's own."""
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def decode_image(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    draft_size: int | None = None,
    draft_long: int | None = None,
    keep_stored: Callable[[str, int, int], bool] | None = None,
) -> DecodedImage:
    """Decode ``data``; raise a ``MediaError`` subclass saying why when it cannot be done.

    ``draft_size``: the caller needs no more than this many pixels on the short side, so the
    image may be decoded or reduced to between ``draft_size`` and about twice that (JPEGs
    much faster, see the module docstring). ``None`` decodes at full resolution.
    ``draft_long``: and at least this many on the long side (a model's working copy is sized
    by its long side; PDQ needs a short side of 256).
    ``keep_stored(format, width, height)``, asked once the header is read: when it says yes,
    the file is decoded at full resolution once, kept as ``DecodedImage.stored`` for readers
    of the stored pixels (the invisible-watermark check) and reduced from there, instead of
    being decoded twice.
    """
    try:
        with _deadline(limits.max_decode_seconds):
            try:
                return _decode(data, limits, _Need(draft_size, draft_long), keep_stored)
            except (CorruptMedia, UnsupportedMedia) as refused:
                stripped = without_metadata(data)
                if stripped is None:
                    raise
                try:
                    return _decode(stripped, limits, _Need(draft_size, draft_long), keep_stored)
                except MediaError:
                    raise refused from None
    except _Expired:
        raise MediaTooLarge(
            f"decoding took longer than {limits.max_decode_seconds:g} s (Limits.max_decode_seconds)"
        ) from None


@contextmanager
def _decoding() -> Iterator[None]:
    """Pillow's warnings silenced and its many exceptions turned into ``MediaError``s."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about damaged EXIF, odd MPO files and its own bomb level (our limit
            # in _open decides that one); per-file noise from worker processes, never a reason
            # to fail: what cannot be decoded raises below and is recorded
            warnings.simplefilter("ignore")
            yield
    except (MediaTooLarge, UnsupportedMedia, CorruptMedia):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise UnsupportedMedia(
            "not an image format needle can decode (JPEG, PNG, GIF, WebP, TIFF, BMP ...)"
        ) from None
    except MemoryError:
        raise MediaTooLarge("not enough memory to decode this image") from None
    except NotImplementedError as exc:  # a variant of a format Pillow reads (DDS pixel formats)
        raise UnsupportedMedia(
            f"a variant of this image format Pillow cannot decode: {exc}"
        ) from None
    except Exception as exc:  # any failure of a decoder on hostile bytes is this file's own
        raise CorruptMedia(f"cannot decode image, the file looks damaged: {exc}") from None


@dataclass(frozen=True)
class _Need:
    """The fewest pixels the caller needs: ``short`` on the short side, ``long`` on the long
    one (``None``: no reduction at all)."""

    short: int | None
    long: int | None = None

    def factor(self, width: int, height: int) -> int:
        """The largest reduction that keeps what is needed (1: none)."""
        if not self.short:
            return 1
        factor = min(width, height) // self.short
        if self.long:
            factor = min(factor, max(width, height) // self.long)
        return max(factor, 1)


def _decode(
    data: bytes,
    limits: Limits,
    need: _Need,
    keep_stored: Callable[[str, int, int], bool] | None = None,
) -> DecodedImage:
    with _decoding():
        image = _open(data, limits)
        fmt = image.format or "unknown"
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1) or 1)
        if frames > 1:
            image.seek(0)
        scale = 1
        keep = keep_stored is not None and keep_stored(fmt, width, height)
        allowed = 1 if keep else need.factor(width, height)
        if allowed > 1 and isinstance(image, JpegImageFile):
            request = (width // allowed, height // allowed)  # Pillow picks 1/8 .. 1/1 from it
            drafted = image.draft("RGB", request)
            if drafted is not None:
                scale = round(width / drafted[1][2])
            if scale == 8 and image.info.get("progressive"):
                image = _dc_scans_loaded(data, image, request)
        image.load()
        orientation = _orientation(image)
        stored = _as_stored(image) if keep else None
        rgb = to_rgb(image) if stored is None or stored.mode != "RGB" else stored
        if need.short:
            factor = need.factor(*rgb.size)
            if factor >= 2:
                rgb = rgb.reduce(factor)
                scale *= factor
        if orientation != 1:
            rgb = rgb.transpose(ORIENTATION_TRANSPOSE[orientation])
    return DecodedImage(rgb, fmt, width, height, frames, scale, orientation, stored)


def _as_stored(image: Image.Image) -> Image.Image:
    """A loaded frame as ``decode_full`` gives it: RGBA when it has alpha (an alpha band or a
    transparent palette entry), else RGB as ``to_rgb`` makes it."""
    alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA") if alpha else to_rgb(image)


def _dc_scans_loaded(data: bytes, image: Image.Image, request: tuple[int, int]) -> Image.Image:
    """A progressive JPEG about to be decoded at 1/8 scale, decoded from its DC scans only
    (``needle.media.progressive``: the same luminance, several times faster on a large
    photo); ``image`` itself, not yet loaded, when the file does not allow it or the cut-down
    stream does not decode."""
    cut = dc_only(data)
    if cut is None:
        return image
    try:
        quick = Image.open(io.BytesIO(cut))
        quick.draft("RGB", request)
        if quick.size != image.size or quick.mode != image.mode:
            return image
        quick.load()
    except Exception:  # the whole file decides; a failure here only costs the shortcut
        return image
    quick.info = image.info  # what the file declared (progressive, ICC profile, EXIF ...)
    return quick


def decode_full(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Image.Image:
    """The first frame's pixels exactly as stored: full resolution, no EXIF rotation, alpha kept.

    For readers of the stored pixels themselves (invisible watermarks, bits hidden in the
    alpha or low bits), which ``decode_image`` would disturb by reducing, rotating or dropping
    alpha. RGBA when the file has alpha (an alpha band or a transparent palette entry), else
    RGB as ``to_rgb`` makes it. The same limits as ``decode_image`` (pixels, scans, decode
    time), and the file size limit that reading a file applies (for bytes that came from
    elsewhere); raises a ``MediaError`` subclass saying why when the pixels cannot be had.
    """
    if len(data) > limits.max_file_bytes:
        raise MediaTooLarge(
            f"file is {len(data):,} bytes, over the limit of {limits.max_file_bytes:,}"
        )
    try:
        with _deadline(limits.max_decode_seconds), _decoding():
            image = _open(data, limits)
            image.seek(0)
            image.load()
            return _as_stored(image)
    except _Expired:
        raise MediaTooLarge(
            f"decoding took longer than {limits.max_decode_seconds:g} s (Limits.max_decode_seconds)"
        ) from None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the file's header, no pixel decoded; None when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Exception:  # a damaged or bomb-sized header; a decode would say why
        return None
