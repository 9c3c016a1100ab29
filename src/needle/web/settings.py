"""How ``needle serve`` runs: one frozen value, built by the CLI (or a test) and read by all."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from needle.media import DEFAULT_LIMITS, Limits
from needle.store import DEFAULT_DB

__all__ = ["ServeSettings"]


def _default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


@dataclass(frozen=True)
class ServeSettings:
    """Defaults are the documented ones (``docs/serve.md``).

    ``fetch_hosts``: hosts whose media ``url=`` parameters may fetch; empty (the default)
    means nothing is fetched and such requests are answered 403.
    ``https``: the service is reached over HTTPS (directly or behind a proxy): cookies are
    marked Secure. ``index_refresh_seconds``: how often the bank index looks for banks changed
    by another process (``needle bank import`` while serving).
    """

    db_url: str = DEFAULT_DB
    workers: int = field(default_factory=_default_workers)
    limits: Limits = DEFAULT_LIMITS
    quarantine_dir: str | None = None
    quarantine_key_file: str | None = None
    fetch_hosts: tuple[str, ...] = ()
    fetch_max_bytes: int = 50 * 1024 * 1024
    fetch_timeout: float = 10.0
    https: bool = False
    index_refresh_seconds: float = 2.0
    #: a machine client's token is checked against the database at most this often; a
    #: revocation through the service applies at once, one made by the CLI within this time
    token_cache_seconds: float = 2.0
    #: requests examining uploads at once, beyond which /v1/scan and /h/hash answer 503
    max_pending_scans: int = 64
    #: start the worker processes before answering (off in tests: they start on first use)
    warm_workers: bool = True
    #: folders whose files scan jobs (``POST /v1/jobs``) may read; empty: no job is allowed
    scan_roots: tuple[str, ...] = ()
    #: largest hash-list file ``POST /v1/banks/{name}/import`` takes (4 GiB; bigger ones:
    #: ``needle bank import``, which the running service picks up too)
    max_import_bytes: int = 4 * 1024 * 1024 * 1024
    #: a TOML file with the ``[ncmec]`` (CyberTipline) and ``[vics]`` tables the reports
    #: pages use (``docs/reports.md``); None: previews with defaults, sending off
    report_config: str | None = None
    #: the generation guard (``/v1/guard/*``, ``/v1/stamp``, ``/v1/trace``;
    #: ``docs/genguard.md``): a TOML file with its ``[genguard]`` policy; None: the defaults
    genguard_policy: str | None = None
    #: the ledger's Ed25519 private key (``needle ledger keygen``); None: the file named by
    #: ``$NEEDLE_LEDGER_KEY_FILE``. Neither: the generation guard is off, and its routes answer
    #: 503 saying how to turn it on
    ledger_key_file: str | None = None
    #: C2PA credentials for stamped outputs: the certificate chain (PEM, end-entity first) and
    #: its ES256 (P-256) private key (PKCS#8 PEM); both or neither. Neither: no manifest
    c2pa_cert: str | None = None
    c2pa_key: str | None = None
    #: classifiers the generation guard runs on uploaded inputs and outputs (plugin names, as
    #: ``needle classify --classifier``, e.g. ``nudenet`` and ``age``); empty: bank matches and
    #: the assessment's rules only. Loaded once, when the guard starts
    genguard_classifiers: tuple[str, ...] = ()
