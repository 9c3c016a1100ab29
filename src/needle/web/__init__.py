"""``needle serve``: the matching API, the HMA-compatible API and the review UI (FastAPI).

In: HTTP requests from people (session cookie) and machine clients (API tokens). Out: JSON
answers and server-rendered pages. Every route names the permission it needs
(``needle.web.auth.allow``); the work itself is done by ``needle.pipeline``, ``needle.match``
and ``needle.store`` through the shared ``Service``. Start it with ``needle serve``;
``create_app`` builds the application.
"""

from __future__ import annotations

from needle.web.settings import ServeSettings

__all__ = ["ServeSettings"]
