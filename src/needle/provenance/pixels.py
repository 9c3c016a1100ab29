"""One file's pixels for the readers that need them, decoded at most once and only on demand.

In: the file's bytes, the caller's already-decoded image (if any) and the ``Limits`` to decode
under. Out: pixels in stored orientation, from the caller's image when it is the stored one,
else from ``needle.media.decode_full``, which applies the same file-size and pixel limits as
the scan's own decode. A file whose pixels cannot be had is recorded in ``errors``, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from needle.media import DecodedImage, Limits

__all__ = ["FilePixels"]


class FilePixels:
    """Pixels of one file, decoded at most once, in stored orientation."""

    def __init__(
        self,
        data: bytes,
        image: DecodedImage | None,
        limits: Limits | None,
        errors: list[str],
    ) -> None:
        self.data, self.image, self.limits, self.errors = data, image, limits, errors
        kept = getattr(image, "stored", None)  # decoded once with the scan's own decode
        self._stored: np.ndarray | None = np.asarray(kept) if kept is not None else None
        self._failed = False

    def given_full_resolution(self) -> bool:
        """Whether the caller's pixels are the stored ones (not reduced, not rotated), or the
        caller's decode kept them (``DecodedImage.stored``)."""
        img = self.image
        return img is not None and (
            getattr(img, "stored", None) is not None
            or (
                img.image.size == (img.width, img.height)
                and getattr(img, "scale", 1) == 1
                and getattr(img, "orientation", 1) == 1
            )
        )

    @property
    def decoded(self) -> bool:
        """Whether the file's own pixels have been decoded here already."""
        return self._stored is not None

    def stored(self) -> np.ndarray | None:
        """The file's own pixels (RGBA when it has alpha, else RGB), decoded by needle.media."""
        if self._stored is None and not self._failed:
            from needle.media import DEFAULT_LIMITS, decode_full

            try:
                self._stored = np.asarray(
                    decode_full(self.data, limits=self.limits or DEFAULT_LIMITS)
                )
            except Exception as exc:  # a MediaError says why; anything else must not stop a scan
                self._failed = True
                self.errors.append(f"pixels could not be decoded: {type(exc).__name__}: {exc}")
        return self._stored

    def header_size(self) -> tuple[int | None, int | None]:
        """Stored width and height from the caller's image or the file header (no pixels)."""
        if self.image is not None:
            return self.image.width, self.image.height
        from needle.media import image_size

        return image_size(self.data) or (None, None)

    def rgb(self) -> np.ndarray | None:
        """The stored pixels without alpha: the caller's when they are the stored ones."""
        if self._stored is None and self.given_full_resolution():
            assert self.image is not None
            img = self.image.image
            return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
        stored = self.stored()
        if stored is None:
            return None
        return stored[:, :, :3] if stored.shape[2] == 4 else stored
