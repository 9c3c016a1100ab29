"""How strongly media is hidden until a reviewer reveals it: organisation defaults that a
reviewer may only tighten.

Stored in ``app_setting``: the organisation's under ``review.blur``, a reviewer's own under
``review.blur.user:NAME`` (a digest of the name for names too long for the key), each
``{"strength_px": int, "greyscale": bool}``. What applies to a reviewer
(``effective_blur``) is the stronger of the two: the larger strength, and greyscale when
either asks for it. ``set_user_blur`` refuses a setting looser than the organisation's, so a
reviewer's page never shows less protection than the organisation chose; when the
organisation tightens later, the stronger setting wins all the same.
"""

from __future__ import annotations

import hashlib

from needle.jsonvalue import JSONObject
from needle.review.model import BlurSettings, ReviewError
from needle.review.queue import sessions
from needle.store import Store
from needle.store.schema import SettingRow

__all__ = [
    "DEFAULT_BLUR",
    "MAX_STRENGTH",
    "MIN_STRENGTH",
    "ORG_KEY",
    "effective_blur",
    "org_blur",
    "set_org_blur",
    "set_user_blur",
    "user_blur",
]

ORG_KEY = "review.blur"
DEFAULT_BLUR = BlurSettings(strength_px=24, greyscale=True)
#: below 4 px a picture is hardly hidden; above 64 px nothing of a 256 px thumbnail remains
MIN_STRENGTH = 4
MAX_STRENGTH = 64
_KEY_LENGTH = 100  # SettingRow.key


def _user_key(user: str) -> str:
    key = f"{ORG_KEY}.user:{user}"
    if len(key) <= _KEY_LENGTH:
        return key
    return f"{ORG_KEY}.user#{hashlib.sha256(user.encode()).hexdigest()[:40]}"


def _parse(value: JSONObject | None, fallback: BlurSettings) -> BlurSettings:
    if not isinstance(value, dict):
        return fallback
    strength = value.get("strength_px")
    greyscale = value.get("greyscale")
    return BlurSettings(
        strength_px=(
            min(MAX_STRENGTH, max(MIN_STRENGTH, strength))
            if isinstance(strength, int) and not isinstance(strength, bool)
            else fallback.strength_px
        ),
        greyscale=greyscale if isinstance(greyscale, bool) else fallback.greyscale,
    )


def _checked(strength_px: int, greyscale: bool) -> BlurSettings:
    if isinstance(strength_px, bool) or not isinstance(strength_px, int):
        raise ReviewError("the blur strength is a whole number of pixels")
    if not MIN_STRENGTH <= strength_px <= MAX_STRENGTH:
        raise ReviewError(
            f"the blur strength must be between {MIN_STRENGTH} and {MAX_STRENGTH} px, "
            f"not {strength_px}"
        )
    return BlurSettings(strength_px, bool(greyscale))


def _read(store: Store, key: str) -> JSONObject | None:
    with sessions(store)() as session:
        row = session.get(SettingRow, key)
        return dict(row.value) if row is not None else None


def _write(store: Store, key: str, value: JSONObject) -> None:
    with sessions(store).begin() as session:
        row = session.get(SettingRow, key)
        if row is None:
            session.add(SettingRow(key=key, value=value))
        else:
            row.value = value


def org_blur(store: Store) -> BlurSettings:
    """The organisation's defaults (24 px, greyscale, until an admin sets others)."""
    return _parse(_read(store, ORG_KEY), DEFAULT_BLUR)


def set_org_blur(store: Store, strength_px: int, greyscale: bool) -> BlurSettings:
    """Set the organisation's defaults (the admin settings page)."""
    settings = _checked(strength_px, greyscale)
    _write(store, ORG_KEY, settings.to_dict())
    return settings


def user_blur(store: Store, user: str) -> BlurSettings | None:
    """A reviewer's own setting, or None when they have not made one."""
    value = _read(store, _user_key(user))
    return _parse(value, DEFAULT_BLUR) if value is not None else None


def set_user_blur(store: Store, user: str, strength_px: int, greyscale: bool) -> BlurSettings:
    """Set a reviewer's own blur; refused when looser than the organisation's."""
    wanted = _checked(strength_px, greyscale)
    org = org_blur(store)
    if wanted.strength_px < org.strength_px:
        raise ReviewError(
            f"your blur may only be stronger than the organisation's ({org.strength_px} px), "
            f"not {wanted.strength_px} px"
        )
    if org.greyscale and not wanted.greyscale:
        raise ReviewError("the organisation shows media in greyscale: you cannot turn colour on")
    _write(store, _user_key(user), wanted.to_dict())
    return wanted


def effective_blur(store: Store, user: str) -> BlurSettings:
    """What applies to ``user``: the stronger of the organisation's and their own."""
    org = org_blur(store)
    own = user_blur(store, user)
    if own is None:
        return org
    return BlurSettings(
        strength_px=max(org.strength_px, own.strength_px),
        greyscale=org.greyscale or own.greyscale,
    )
