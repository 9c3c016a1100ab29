"""What every benchmark shares: the machine's load, writing its section of a docs page, and
the real photographs Debian's wallpaper packages install."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from PIL import Image

__all__ = ["PHOTO_DIRS", "real_photos", "uptime", "write_section"]

#: Debian's wallpaper packages (mate-backgrounds, gnome-backgrounds...), read as installed
PHOTO_DIRS = (Path("/usr/share/backgrounds"), Path("/usr/share/wallpapers"))


def uptime() -> str:
    """``uptime``'s line (load averages), so a result says how busy the machine was."""
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_section(doc: Path, section: str, text: str) -> None:
    """Replace the ``section`` heading's part of ``doc`` (up to the next ``## ``) with ``text``."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    page = doc.read_text() if doc.exists() else "# Performance\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(page):
        page = pattern.sub(lambda _: text, page)
    else:
        page = page.rstrip("\n") + "\n\n" + text
    doc.write_text(page)


def real_photos(suffixes: tuple[str, ...] = (".jpg", ".jpeg")) -> list[Path]:
    """Every file of the installed wallpaper packages with one of ``suffixes``, unmodified
    (progressive JPEGs too), in a stable order."""
    found: list[Path] = []
    for folder in PHOTO_DIRS:
        if folder.is_dir():
            found += sorted(
                p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file()
            )
    return found


def cut_sides(
    image: Image.Image, left: float, top: float, right: float, bottom: float
) -> Image.Image:
    """``image`` with these fractions of its width or height cut off each side."""
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    )
