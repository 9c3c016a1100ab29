"""Sign-in attempts per client address, in memory: a sliding window.

The account lock-out (``needle.access.accounts``) stops guessing one account's password; this
stops one address from trying many accounts. ``LOGIN_ATTEMPTS`` tries per ``LOGIN_WINDOW``
seconds per address; the answer past that is 429 with a Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["LOGIN_ATTEMPTS", "LOGIN_WINDOW", "RateLimiter"]

LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = 60.0
#: addresses remembered at most (the oldest are forgotten first): memory stays bounded
MAX_KEYS = 10_000


class RateLimiter:
    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window: float = LOGIN_WINDOW) -> None:
        self.attempts = attempts
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: float | None = None) -> float:
        """Count one attempt by ``key``; 0 when allowed, else seconds until one is allowed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self._seen[key] = times  # re-inserted last: dict order is recency
            if len(times) >= self.attempts:
                return max(0.001, times[0] + self.window - now)
            times.append(now)
            while len(self._seen) > MAX_KEYS:
                del self._seen[next(iter(self._seen))]
            return 0.0
