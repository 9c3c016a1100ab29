"""Safe image decoding with Pillow.

In: bytes of one file. Out: a ``DecodedImage`` holding RGB pixels with EXIF orientation
applied, the first frame of animations, and the size of the original.

Safety: the pixel count is checked from the header before any pixel is decoded (so a
decompression bomb costs nothing), Pillow's own bomb check is turned into ``MediaTooLarge``,
and every Pillow mode (1, L, LA, P, PA, I, F, CMYK, YCbCr, LAB, HSV, RGBA, I;16 ...) is
converted to RGB the same way, alpha composited on white.

Speed: ``draft_size`` asks libjpeg to decode in the DCT domain at 1/2, 1/4 or 1/8 scale when
the caller needs no more than that many pixels (PDQ needs 64x64).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from needle.errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from needle.media.limits import DEFAULT_LIMITS, Limits

__all__ = ["DecodedImage", "decode_image", "to_rgb"]


@dataclass(frozen=True)
class DecodedImage:
    """Pixels ready for hashing and models. ``width``/``height`` are of the stored original."""

    image: Image.Image
    format: str
    width: int
    height: int
    frames: int = 1


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; transparency is composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # high bit-depth greyscale: stretch its own range to 8 bits
        lo, hi = image.getextrema()  # type: ignore[misc]
        scale = 255.0 / (hi - lo) if hi != lo else 0.0
        image = image.point(lambda v: (v - lo) * scale).convert("L")  # type: ignore[arg-type, operator]
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    draft_size: int | None = None,
) -> DecodedImage:
    """Decode ``data``; raise a ``MediaError`` subclass saying why when it cannot be done."""
    if not data:
        raise CorruptMedia("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # our own limit below decides; Pillow still refuses past twice its default
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise MediaTooLarge(
                    f"{width}x{height} = {width * height:,} pixels is over the limit of "
                    f"{limits.max_pixels:,} (decompression bomb?)"
                )
            fmt = image.format or "unknown"
            frames = int(getattr(image, "n_frames", 1) or 1)
            if draft_size and fmt == "JPEG":
                # keep at least draft_size on the short side after EXIF rotation either way
                image.draft("RGB", (draft_size, draft_size))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = to_rgb(image)
    except (MediaTooLarge, UnsupportedMedia):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise UnsupportedMedia("not an image format needle can decode") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as exc:
        raise CorruptMedia(f"cannot decode image: {exc}") from None
    return DecodedImage(rgb, fmt, width, height, frames)
