"""What every request of ``needle serve`` shares: the database, the bank index, the worker
processes, accounts, the audit log, and the generation guard when it is configured.

The bank index is built once at start and rebuilt in a background thread when banks change
(here, or in another process: ``Store.bank_generation`` is polled), then swapped in whole, so a
lookup always sees one consistent index and never waits for a rebuild. CPU work on uploads
(decoding, hashing, models) runs in worker processes (``needle.pipeline.onefile``); matching
runs in a thread. The event loop only moves bytes.

The generation guard (``needle.genguard``, the ``/v1/guard/*`` routes) is built on first use
from the settings (policy, ledger key, C2PA credentials), with the ledger in this service's
database; each use gets it with the bank index current at that moment.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from fastapi import Request

from needle.access import Accounts, Principal, RateLimiter
from needle.audit import AuditLog
from needle.errors import ConfigError, NeedleError, OptionalDependencyError, PluginError
from needle.jsonvalue import JSONObject
from needle.match import Match, Matcher
from needle.pipeline.onefile import OneFilePool
from needle.pipeline.pool import THREAD_VARIABLES
from needle.pipeline.scan import assess_record
from needle.pipeline.worker import ScanOptions
from needle.signals import Signal
from needle.store import FileRecord, ScanRecord, Store
from needle.store.quarantine import Quarantine, load_key
from needle.web.settings import ServeSettings

if TYPE_CHECKING:  # the generation guard's modules load when it is first used
    from needle.genguard.guard import GenerationGuard
    from needle.genguard.ledger import AccountActivity

T = TypeVar("T")

__all__ = [
    "FetchRefused",
    "FlaggedAccounts",
    "GuardNotConfigured",
    "IndexStatus",
    "Overloaded",
    "Service",
    "audit",
    "client_ip",
    "get_service",
]


class FetchRefused(NeedleError):
    """A ``url=`` the operator has not allowed (answered 403)."""


class Overloaded(NeedleError):
    """Too many uploads being examined at once (answered 503 with Retry-After)."""


@dataclass(frozen=True)
class FlaggedAccounts:
    """What the flagged-accounts page shows: the accounts, the window and the bar."""

    accounts: tuple[AccountActivity, ...]
    hours: float
    at_least: int


class GuardNotConfigured(NeedleError):
    """The generation guard is off (no ledger key) or its settings cannot be read: answered
    503, without Retry-After (asking again will not help until an operator acts)."""


@dataclass(frozen=True)
class IndexStatus:
    entries: int
    banks: int
    built_at: datetime | None
    build_seconds: float
    generation: str

    def to_dict(self) -> JSONObject:
        return {
            "entries": self.entries,
            "banks": self.banks,
            "built_at": self.built_at.isoformat() if self.built_at else None,
            "build_seconds": round(self.build_seconds, 3),
        }


class Service:
    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.store = Store(settings.db_url)
        self.accounts = Accounts(self.store.engine)
        self.audit = AuditLog(self.store.engine)
        self.login_limiter = RateLimiter()
        self.quarantine: Quarantine | None = None
        if settings.quarantine_dir:
            self.quarantine = Quarantine(
                settings.quarantine_dir, load_key(settings.quarantine_key_file)
            )
        self._matcher = Matcher([])
        self._inline_match = self.store.engine.dialect.name == "sqlite"
        self._status = IndexStatus(0, 0, None, 0.0, "")
        self._rebuild = threading.Event()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self._pool: OneFilePool | None = None
        self._pending = 0
        self._tokens: dict[str, tuple[float, Principal | None]] = {}
        self._tokens_lock = threading.Lock()
        self._guard: GenerationGuard | None = None
        self._guard_lock = threading.Lock()

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Build the index and start the workers (before the first request is answered)."""
        self._build_index()
        if self.settings.warm_workers:
            self._workers().warm()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="needle-index", daemon=True
        )
        self._refresher.start()

    def _workers(self) -> OneFilePool:
        if self._pool is None:
            # as a scan's workers: one thread each for the numerical libraries, set before the
            # worker processes start (PDQ ran 6x slower with OpenBLAS threads on 2 cores)
            for variable in THREAD_VARIABLES:
                os.environ.setdefault(variable, "1")
            self._pool = OneFilePool(self.settings.workers)
        return self._pool

    def stop(self) -> None:
        self._stop.set()
        self._rebuild.set()
        if self._refresher is not None:
            self._refresher.join(timeout=30)
        if self._pool is not None:
            self._pool.close()
        self.store.close()

    # -- the bank index ------------------------------------------------------------------------

    def _build_index(self) -> None:
        started = time.perf_counter()
        generation = self.store.bank_generation()
        banks = [self.store.load_bank_columns(name) for name in self.store.bank_names()]
        matcher = Matcher(banks)
        self._matcher = matcher
        self._status = IndexStatus(
            len(matcher), len(banks), datetime.now(UTC), time.perf_counter() - started, generation
        )

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            self._rebuild.wait(self.settings.index_refresh_seconds)
            if self._stop.is_set():
                return
            forced = self._rebuild.is_set()
            self._rebuild.clear()
            try:
                if forced or self.store.bank_generation() != self._status.generation:
                    self._build_index()
            except Exception:  # the old index keeps serving; tried again soon
                time.sleep(self.settings.index_refresh_seconds)

    def banks_changed(self) -> None:
        """Rebuild the index soon (in the background; lookups keep the current one meanwhile)."""
        self._rebuild.set()

    def rebuild_now(self) -> None:
        """Rebuild the index before returning (tests, and after an import through the API)."""
        self._build_index()

    def matcher(self) -> Matcher:
        return self._matcher

    def index_status(self) -> IndexStatus:
        return self._status

    async def quick_read(self, read: Callable[..., T], *args: object) -> T:
        """A short indexed read on the lookup path: in the event loop on SQLite (cheaper than
        a thread hop), in a thread on a database server (a network round trip)."""
        if self._inline_match:
            return read(*args)
        return await asyncio.to_thread(read, *args)

    async def match(self, signals: Mapping[str, Signal]) -> list[Match]:
        """Matches of ``signals``. On SQLite in the event loop: a lookup takes about 0.1 ms
        (0.4 ms with a hit, whose labels are read from the file), less than a thread hop; on
        a database server a hit's labels are a network round trip, so off the loop."""
        matcher = self._matcher
        if self._inline_match:
            return matcher.match(dict(signals))
        return await asyncio.to_thread(matcher.match, dict(signals))

    # -- examining uploads ---------------------------------------------------------------------

    async def offload(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a thread, counted with the uploads being examined: past
        ``max_pending_scans`` at once, ``Overloaded`` (503) rather than an ever longer queue."""
        if self._pending >= self.settings.max_pending_scans:
            raise Overloaded(f"{self._pending} uploads are being examined: try again shortly")
        self._pending += 1
        try:
            return await asyncio.to_thread(work, *args)
        finally:
            self._pending -= 1

    async def _run(self, data: bytes, name: str, options: ScanOptions) -> FileRecord:
        return await self.offload(self._workers().run, data, name, options)

    async def examine(
        self,
        data: bytes,
        name: str,
        *,
        classify: bool = False,
        provenance: bool = False,
        textguard: bool = False,
    ) -> ScanRecord:
        """One upload through the scan's stages, matched against the banks and assessed."""
        options = ScanOptions(
            limits=self.settings.limits,
            classify=classify,
            provenance=provenance,
            textguard=textguard,
        )
        record = await self._run(data, name, options)
        matches = await self.match(record.signals)
        return assess_record(record, matches)

    async def signals_of(self, data: bytes, name: str) -> dict[str, Signal]:
        record = await self._run(data, name, ScanOptions(limits=self.settings.limits))
        return dict(record.signals)

    # -- the generation guard ------------------------------------------------------------------

    def generation_guard(self) -> GenerationGuard:
        """The guard, built on first use; with the current bank index (a shallow copy when
        the index was rebuilt since: a request in flight keeps the one it started with).

        Blocking (it may read the policy and key files): call it from a thread.
        ``GuardNotConfigured`` when no ledger key is set or a setting cannot be read.
        """
        with self._guard_lock:
            guard = self._guard or self._build_guard()
            if guard.matcher is not self._matcher:
                guard = copy.copy(guard)
                guard.matcher = self._matcher
            self._guard = guard
            return guard

    def _build_guard(self) -> GenerationGuard:
        from needle.genguard.guard import GenerationGuard
        from needle.genguard.keys import KEY_FILE_ENV, load_signer
        from needle.genguard.ledger import Ledger
        from needle.genguard.policy import load_generation_policy

        settings = self.settings
        key_file = settings.ledger_key_file or os.environ.get(KEY_FILE_ENV)
        if not key_file:
            raise GuardNotConfigured(
                "the generation guard is off: start with needle genguard serve --key FILE, or "
                f"set ${KEY_FILE_ENV} (make a key with: needle ledger keygen FILE)"
            )
        try:
            if bool(settings.c2pa_cert) != bool(settings.c2pa_key):
                raise ConfigError("C2PA signing needs both --c2pa-cert and --c2pa-key")
            manifest_signer = None
            if settings.c2pa_cert and settings.c2pa_key:
                from needle.genguard.manifest import ManifestSigner

                manifest_signer = ManifestSigner(Path(settings.c2pa_cert), Path(settings.c2pa_key))
            classifiers = []
            if settings.genguard_classifiers:
                from needle.classify import load_classifiers

                classifiers = load_classifiers(list(settings.genguard_classifiers), load=True)
            return GenerationGuard(
                policy=load_generation_policy(settings.genguard_policy),
                classifiers=classifiers,
                ledger=Ledger(self.store.engine),
                signer=load_signer(key_file),
                matcher=self._matcher,
                manifest_signer=manifest_signer,
                limits=settings.limits,
            )
        except (ConfigError, OptionalDependencyError, PluginError) as exc:
            raise GuardNotConfigured(f"the generation guard cannot start: {exc}") from None

    def flagged_accounts(self, hours: float | None = None) -> FlaggedAccounts:
        """Accounts with at least the policy's ``flag_after`` blocked generation requests in
        the last ``hours`` (default: the policy's window). Needs no ledger key: it only reads."""
        from needle.genguard.ledger import Ledger
        from needle.genguard.policy import load_generation_policy

        policy = load_generation_policy(self.settings.genguard_policy)
        window = hours or policy.flag_window_hours
        since = datetime.now(UTC) - timedelta(hours=window)
        found = Ledger(self.store.engine).blocked_accounts(since, policy.flag_after)
        return FlaggedAccounts(tuple(found), window, policy.flag_after)

    # -- machine clients' tokens -----------------------------------------------------------------

    def token_principal(self, secret: str) -> Principal | None:
        """Who a token is, cached for ``token_cache_seconds`` (lookups must not each write)."""
        now = time.monotonic()
        with self._tokens_lock:
            cached = self._tokens.get(secret)
        if cached is not None and now - cached[0] < self.settings.token_cache_seconds:
            return cached[1]
        principal = self.accounts.verify_token(secret)
        with self._tokens_lock:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[secret] = (now, principal)
        return principal

    def forget_tokens(self) -> None:
        """Drop cached token checks (after a revocation through the service)."""
        with self._tokens_lock:
            self._tokens.clear()

    # -- fetching url= media ---------------------------------------------------------------------

    async def fetch(self, url: str) -> bytes:
        """The bytes at ``url``, only from an allow-listed host, within the size limit."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not self.settings.fetch_hosts:
            raise FetchRefused(
                "this service fetches no URLs: media must be uploaded. An operator can allow "
                "hosts with: needle serve --fetch-host HOST (repeat for more)"
            )
        if parts.scheme not in ("http", "https") or host not in self.settings.fetch_hosts:
            raise FetchRefused(
                f"host {host or '(none)'!r} is not allowed; allowed: "
                f"{', '.join(self.settings.fetch_hosts)} (needle serve --fetch-host)"
            )
        return await asyncio.to_thread(self._download, url)

    def _download(self, url: str) -> bytes:
        import httpx

        limit = self.settings.fetch_max_bytes
        with httpx.stream(
            "GET", url, timeout=self.settings.fetch_timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise NeedleError(f"fetching {url} gave HTTP {response.status_code}")
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise NeedleError(f"{url} is over the fetch limit of {limit:,} bytes")
                chunks.append(chunk)
        return b"".join(chunks)


def client_ip(request: Request) -> str:
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host[:64]


async def audit(
    service: Service,
    who: Principal,
    request: Request,
    action: str,
    target: str = "",
    detail: JSONObject | None = None,
    **fields: str | int | bool,
) -> None:
    """Append one row to the audit log for ``who`` doing ``action`` (off the event loop)."""
    data: JSONObject = {**(detail or {}), **fields}
    await asyncio.to_thread(
        service.audit.append, who.name, who.role.value, action, target, client_ip(request), data
    )


async def get_service(request: Request) -> Service:
    """The FastAPI dependency: the service of the app answering this request (a coroutine:
    FastAPI runs a plain function in a thread, a hop per request that lookups cannot afford)."""
    service: Service = request.app.state.service
    return service
