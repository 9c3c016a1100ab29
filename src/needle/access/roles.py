"""Who may do what: four roles and the table of permissions each route asks for.

A route of ``needle serve`` names one permission (``needle.web.auth.allow``); this table is the
only place that says which roles hold it. The authorisation-matrix test drives every route as
every role from this table, so a route without a rule, or a rule that lets the wrong role in,
fails it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PERMISSIONS", "Role", "roles_for"]


class Role(StrEnum):
    """``admin``: users, banks, settings, audit. ``analyst``: jobs, reports, reading banks.
    ``reviewer``: the review queue and decisions. ``api``: scanning, lookups and the
    HMA-compatible endpoints only (machine clients)."""

    ADMIN = "admin"
    ANALYST = "analyst"
    REVIEWER = "reviewer"
    API = "api"


_ALL = frozenset(Role)

#: permission -> the roles that hold it
PERMISSIONS: dict[str, frozenset[Role]] = {
    # every HMA 2.0 route (hashing, matching, curation), for HMA's machine clients
    "hma": frozenset({Role.ADMIN, Role.API}),
    # POST /v1/scan, GET /v1/lookup
    "scan": frozenset({Role.ADMIN, Role.ANALYST, Role.API}),
    "banks.read": frozenset({Role.ADMIN, Role.ANALYST}),
    "banks.write": frozenset({Role.ADMIN}),
    "jobs": frozenset({Role.ADMIN, Role.ANALYST}),
    # the queue, items, thumbnails, media, decisions and cases: the people who look
    "review": frozenset({Role.REVIEWER}),
    "reports": frozenset({Role.ANALYST}),
    "audit": frozenset({Role.ADMIN}),
    "users": frozenset({Role.ADMIN}),
    "settings": frozenset({Role.ADMIN}),
    # the generation guard's sidecar (/v1/guard/*, /v1/stamp, /v1/trace): a generation
    # service's own calls, and an administrator's look at flagged accounts and traces
    "genguard": frozenset({Role.ADMIN, Role.API}),
    # the page of generation-service accounts flagged for repeated blocked requests
    "genguard.accounts": frozenset({Role.ADMIN, Role.ANALYST, Role.REVIEWER}),
    # /v1/status, the API documentation, one's own account page
    "status": _ALL,
}


def roles_for(permission: str) -> frozenset[Role]:
    """The roles holding ``permission``; an unknown name is a programming error."""
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"no permission named {permission!r} in needle.access.PERMISSIONS") from None
