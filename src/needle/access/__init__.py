"""Who may use ``needle serve``: roles and permissions, accounts, sessions, API tokens.

In: names, passwords, cookie secrets and tokens. Out: a ``Principal`` (name and ``Role``) or a
refusal. ``PERMISSIONS`` is the one table of which role may do what; ``Accounts`` keeps users
(argon2id), sessions and tokens in the needle database.
"""

from __future__ import annotations

from needle.access.accounts import (
    LOCKOUT_FAILURES,
    LOCKOUT_SECONDS,
    SESSION_IDLE_SECONDS,
    SESSION_MAX_SECONDS,
    Accounts,
    Principal,
    TokenInfo,
    UserInfo,
)
from needle.access.ratelimit import RateLimiter
from needle.access.roles import PERMISSIONS, Role, roles_for

__all__ = [
    "LOCKOUT_FAILURES",
    "LOCKOUT_SECONDS",
    "PERMISSIONS",
    "SESSION_IDLE_SECONDS",
    "SESSION_MAX_SECONDS",
    "Accounts",
    "Principal",
    "RateLimiter",
    "Role",
    "TokenInfo",
    "UserInfo",
    "roles_for",
]
