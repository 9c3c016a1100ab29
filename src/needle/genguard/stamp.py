"""Stamping a generated image: an invisible watermark carrying needle's payload, and its hashes.

In: an output image (PIL) and a payload (a random 48-bit number, :func:`new_payload`).
Out: a :class:`Stamped` image — the encoded bytes (PNG by default; the watermark lives in the
pixels), their SHA-256, the whole-image PDQ hash and the sub-region hashes that trace-back
looks up (:mod:`needle.genguard.windows`), and the payload.

The mark: the ``dwtDct`` algorithm of Stable Diffusion's reference scripts
(:mod:`needle.provenance.watermark`) on the luma plane with a correct inverse transform (see
``CHANNEL`` and ``SCALE``), carrying 96 bits: the 6-byte payload and 6 Reed-Solomon
parity bytes (``reedsolo``), so up to 3 wrong bytes are corrected and a random reading decodes
to a valid word about once in 80,000 (sum over e <= 3 of C(12, e) * 255**e / 256**6); trace-back
also asks the ledger whether the decoded payload was ever stamped. Each bit is repeated over
every 96th 8x8 block (about 170 times in a 1024x1024 image), which is what survives JPEG
re-encoding; resizing or cropping off the 8-pixel grid destroys it, which is why the ledger
also keeps perceptual hashes.

A C2PA manifest (``needle.genguard.manifest``) is added after the mark, never before: the
manifest's hash binds the final pixels.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from needle._optional import import_optional
from needle.errors import ConfigError, MediaError
from needle.genguard.windows import stored_hashes
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.provenance import watermark

__all__ = [
    "PARITY_BYTES",
    "PAYLOAD_BITS",
    "STAMP_FORMATS",
    "Stamped",
    "WatermarkPayload",
    "embed_payload",
    "full_pixels",
    "new_payload",
    "read_payload",
    "stamp_image",
]

#: the payload's size: 48 bits keep a million stamped outputs free of collisions with
#: probability ~0.998 (birthday bound 1e12 / 2**49); the ledger's payload column indexes it
PAYLOAD_BITS = 48
#: Reed-Solomon parity bytes: corrects up to PARITY_BYTES // 2 wrong bytes of 12
PARITY_BYTES = 6
_PAYLOAD_BYTES = PAYLOAD_BITS // 8
_MESSAGE_BITS = (_PAYLOAD_BYTES + PARITY_BYTES) * 8
#: XORed over the code word: an unmarked picture reads as all zeros or all ones in flat or
#: saturated areas, and those are valid Reed-Solomon words; whitened, they are not
_WHITEN = hashlib.sha256(b"needle watermark payload").digest()[: _MESSAGE_BITS // 8]
#: the smallest image the mark is put into (the algorithm's own minimum is 256x256)
MIN_SIDE = 256
#: the luma plane carries needle's mark: JPEG's 4:2:0 chroma subsampling erases a mark on U
#: (the reference's plane) at quality 85, while on Y all 96 bits survive (measured on 1024x1024
#: wallpapers and synthesised pictures)
CHANNEL = 0
#: lattice step: at 36 (the reference's) saturated areas clip the mark away in synthesised
#: pictures with flat colours; at 24 every test picture read back after JPEG 85, with a mean
#: change of about 0.6 grey levels per pixel
SCALE = 24.0


def new_payload() -> int:
    """A random payload for one output (48 bits from the OS's CSPRNG)."""
    return secrets.randbits(PAYLOAD_BITS)


def _reedsolo() -> Any:
    return import_optional("reedsolo", "genguard")


def _bits(payload: int) -> list[int]:
    if not 0 <= payload < 1 << PAYLOAD_BITS:
        raise ConfigError(f"a watermark payload is a {PAYLOAD_BITS}-bit number: {payload}")
    word = bytes(_reedsolo().RSCodec(PARITY_BYTES).encode(payload.to_bytes(_PAYLOAD_BYTES, "big")))
    word = bytes(a ^ b for a, b in zip(word, _WHITEN, strict=True))
    return [(byte >> (7 - i)) & 1 for byte in word for i in range(8)]


def embed_payload(image: Image.Image, payload: int) -> Image.Image:
    """``image`` (RGB) with ``payload`` embedded; images under 256x256 are returned unmarked."""
    rgb = np.asarray(image.convert("RGB"))
    if min(rgb.shape[:2]) < MIN_SIDE:
        return image.convert("RGB")
    marked = watermark.embed(
        rgb, _bits(payload), scale=SCALE, channel=CHANNEL, reference_quirks=False
    )
    return Image.fromarray(marked)


@dataclass(frozen=True)
class WatermarkPayload:
    """A payload read from an image, with the bytes the error correction had to fix."""

    payload: int
    corrected_bytes: int

    @property
    def evidence(self) -> str:
        fixed = f", {self.corrected_bytes} byte(s) corrected" if self.corrected_bytes else ""
        return f"watermark payload {self.payload:012x}{fixed}"


def read_payload(image: Image.Image) -> WatermarkPayload | None:
    """The payload in ``image``, or None when there is none that error correction accepts.

    Read on the 8-pixel grid from the top-left corner, as stamped: a copy resized or cropped
    off the grid reads as None (trace-back then relies on perceptual hashes).
    """
    rgb = np.asarray(image.convert("RGB"))
    if min(rgb.shape[:2]) < MIN_SIDE:
        return None
    scores, index = watermark.block_scores(rgb, scale=SCALE, channel=CHANNEL)
    if scores.size < _MESSAGE_BITS:
        return None
    bits = watermark.decode_bits(scores, _MESSAGE_BITS, index)
    word = bytes(a ^ b for a, b in zip(np.packbits(bits).tolist(), _WHITEN, strict=True))
    reedsolo = _reedsolo()
    try:
        data, _, errata = reedsolo.RSCodec(PARITY_BYTES).decode(word)
    except reedsolo.ReedSolomonError:
        return None
    return WatermarkPayload(int.from_bytes(bytes(data), "big"), len(errata))


@dataclass(frozen=True)
class Stamped:
    """A stamped output: its encoded bytes and what the ledger records about it."""

    data: bytes
    format: str
    payload: int | None
    sha256: str
    #: the whole-image PDQ hash first, then the sub-region hashes (``needle.genguard.windows``)
    hashes: tuple[str, ...]
    width: int
    height: int


#: formats a stamped output is written in; another upload format is stamped as PNG
STAMP_FORMATS = ("PNG", "JPEG", "WEBP")


def full_pixels(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Image.Image, str]:
    """Decode ``data`` at full resolution within ``limits`` (the mark lives on the 8-pixel
    grid, so neither stamping nor reading it may work on a reduced copy): RGB and format."""
    decoded = decode_image(data, limits=limits, draft_size=None)
    if decoded.scale != 1:  # pragma: no cover - nothing reduces without a draft size
        raise MediaError("the image was reduced while decoding; full resolution is needed")
    return decoded.image, decoded.format


def stamp_image(
    image: Image.Image, payload: int | None = None, *, fmt: str = "PNG", quality: int = 95
) -> Stamped:
    """Embed ``payload`` (a new one when None), encode as ``fmt`` and hash the result.

    The hashes are taken from the stamped pixels as encoded, so they describe exactly what
    the service hands out.
    """
    if fmt not in STAMP_FORMATS:
        raise ConfigError(f"stamped outputs are PNG, JPEG or WEBP, not {fmt!r}")
    payload = new_payload() if payload is None else payload
    marked = embed_payload(image, payload)
    out = io.BytesIO()
    options = {"quality": quality} if fmt != "PNG" else {}
    marked.save(out, fmt, **options)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as final:
        final.load()
        hashes = _hashes(final.convert("RGB"))
    return Stamped(
        data=data,
        format=fmt,
        payload=payload if min(marked.size) >= MIN_SIDE else None,
        sha256=hashlib.sha256(data).hexdigest(),
        hashes=hashes,
        width=marked.width,
        height=marked.height,
    )


def _hashes(image: Image.Image) -> tuple[str, ...]:
    from needle.signals.pdq import pdq_hash_pixels

    whole = pdq_hash_pixels(image, dihedral=False, trim=False).value
    return (whole, *stored_hashes(image))
