"""A classifier behind an HTTP endpoint the organisation runs or has access to.

Only used when configured: by default needle sends nothing anywhere. For each image it POSTs
either the file's bytes (``send = "bytes"``, ``application/octet-stream``) or its hash
(``send = "sha256"`` / ``"md5"``, a JSON body ``{"sha256": "..."}``) to ``url`` and maps numbers
in the JSON answer to scores by dotted paths::

    [classifiers.hotline]
    type = "http"
    url = "https://classifier.internal/v1/score"
    send = "sha256"
    scores = { csam = "result.csam_probability" }   # score name -> path in the JSON answer
    timeout = 5.0            # seconds per attempt, connection to last byte
    retries = 1              # more attempts after a timeout, a connection error, 429 or 5xx
    headers_from_env = { Authorization = "HOTLINE_TOKEN" }   # secrets stay out of the file

It never blocks or fails a scan: a timeout, an error status, an unreachable host or an answer
without the expected numbers makes that image's ``Classification`` unavailable, with the
reason. After ``max_failures`` failed images in a row the endpoint is not called for
``cooldown`` seconds (every image in that time is unavailable: "endpoint skipped ..."), so a
dead server costs a scan seconds, not hours. Requests of one batch run ``concurrency`` at a
time; each is bounded in total time even if the server trickles its answer.

The transport (``HttpRequest -> HttpResponse``) is injectable, as are the clock and sleep.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from needle.classify.base import Classification, Sample
from needle.errors import ConfigError

__all__ = [
    "HttpClassifier",
    "HttpConfig",
    "HttpPlugin",
    "HttpRequest",
    "HttpResponse",
    "Transport",
    "urllib_transport",
]

#: seconds one attempt may take, connection to last byte
DEFAULT_TIMEOUT = 5.0
#: further attempts after a transient failure (timeout, connection error, 429, 5xx)
DEFAULT_RETRIES = 1
#: seconds before the first retry; doubled for each further one
DEFAULT_BACKOFF = 0.5
#: failed images in a row after which the endpoint is skipped for a while
DEFAULT_MAX_FAILURES = 3
#: seconds the endpoint is skipped after that
DEFAULT_COOLDOWN = 60.0
#: requests in flight at once per classifier
DEFAULT_CONCURRENCY = 4
#: bytes of answer read at most; a classifier's JSON is small
MAX_RESPONSE_BYTES = 1 << 20
_SEND = ("bytes", "sha256", "md5")


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float
    method: str = "POST"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes


#: sends a request, returns the answer (any status); raises OSError/TimeoutError when none came
Transport = Callable[[HttpRequest], HttpResponse]


def urllib_transport(request: HttpRequest) -> HttpResponse:
    """The default transport: ``urllib`` with the request's timeout (per socket operation),
    answers read up to ``MAX_RESPONSE_BYTES``."""
    req = urllib.request.Request(
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with urllib.request.urlopen(req, timeout=request.timeout) as answer:
            return HttpResponse(answer.status, answer.read(MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_RESPONSE_BYTES)
        finally:
            exc.close()
        return HttpResponse(exc.code, body)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, OSError):
            raise reason from None
        raise OSError(str(reason)) from None


@dataclass(frozen=True)
class HttpConfig:
    url: str
    scores: Mapping[str, str]
    send: str = "bytes"
    headers: Mapping[str, str] = field(default_factory=dict)
    headers_from_env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_failures: int = DEFAULT_MAX_FAILURES
    cooldown: float = DEFAULT_COOLDOWN
    concurrency: int = DEFAULT_CONCURRENCY
    model_name: str | None = None
    version: str = "remote"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> HttpConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known - {"type", "enabled"}
        if unknown:
            raise ConfigError(
                f"unknown http classifier option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(known))}"
            )
        if "url" not in data or "scores" not in data:
            raise ConfigError("an http classifier needs `url` and `scores` (name -> JSON path)")
        url = str(data["url"])
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ConfigError(f"http classifier url must be http:// or https://, got {url!r}")
        scores = data["scores"]
        if (
            not isinstance(scores, Mapping)
            or not scores
            or not all(isinstance(v, str) and v for v in scores.values())
        ):
            raise ConfigError('http `scores` must map score names to JSON paths: { csam = "a.b" }')
        cfg = cls(
            url=url,
            scores={str(k): str(v) for k, v in scores.items()},
            send=str(data.get("send", "bytes")),
            headers={str(k): str(v) for k, v in dict(data.get("headers", {})).items()},
            headers_from_env={
                str(k): str(v) for k, v in dict(data.get("headers_from_env", {})).items()
            },
            timeout=float(data.get("timeout", DEFAULT_TIMEOUT)),
            retries=int(data.get("retries", DEFAULT_RETRIES)),
            backoff=float(data.get("backoff", DEFAULT_BACKOFF)),
            max_failures=int(data.get("max_failures", DEFAULT_MAX_FAILURES)),
            cooldown=float(data.get("cooldown", DEFAULT_COOLDOWN)),
            concurrency=int(data.get("concurrency", DEFAULT_CONCURRENCY)),
            model_name=data.get("model_name"),
            version=str(data.get("version", "remote")),
        )
        if cfg.send not in _SEND:
            raise ConfigError(f"http `send` must be one of {', '.join(_SEND)}")
        if cfg.timeout <= 0 or cfg.retries < 0 or cfg.backoff < 0 or cfg.concurrency < 1:
            raise ConfigError("http timeout and concurrency must be positive, retries >= 0")
        if cfg.max_failures < 1 or cfg.cooldown < 0:
            raise ConfigError("http max_failures must be >= 1 and cooldown >= 0")
        return cfg


class _Failure(Exception):
    """One image's request failed; ``transient`` failures are retried."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class HttpClassifier:
    """Scores from a remote endpoint; never raises for a failed or slow answer."""

    stage = 50

    def __init__(
        self,
        config: HttpConfig,
        *,
        name: str = "http",
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.name = name
        self.model = config.model_name or urlsplit(config.url).netloc
        self.version = config.version
        self.transport: Transport = transport or urllib_transport
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        self._open_until = 0.0
        self._pool: ThreadPoolExecutor | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock", None)
        state["_pool"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.config.concurrency, thread_name_prefix=f"needle-http-{self.name}"
            )
        futures = [self._pool.submit(self._one, sample) for sample in batch]
        return [self._collect(f) for f in futures]

    def _collect(self, future: Future[Classification]) -> Classification:
        # a request is bounded by its attempts; this wait is only a backstop
        cfg = self.config
        limit = (cfg.timeout + cfg.backoff * 2**cfg.retries) * (cfg.retries + 1) + 1.0
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            self._record(False, f"no answer within {limit:.1f} s")
            return self._unavailable(f"no answer within {limit:.1f} s")
        except Exception as exc:  # a bug in a transport must not stop the scan either
            self._record(False, f"{type(exc).__name__}: {exc}")
            return self._unavailable(f"{type(exc).__name__}: {exc}")

    def _unavailable(self, reason: str) -> Classification:
        return Classification(self.name, self.model, self.version, unavailable=reason)

    def _one(self, sample: Sample) -> Classification:
        skip = self._skipping()
        if skip:
            return self._unavailable(skip)
        try:
            request = self._request(sample)
        except _Failure as exc:
            return self._unavailable(exc.reason)  # nothing to send: not the endpoint's fault
        attempt = 0
        while True:
            try:
                scores = self._attempt(request)
            except _Failure as exc:
                if exc.transient and attempt < self.config.retries:
                    self.sleep(self.config.backoff * 2**attempt)
                    attempt += 1
                    continue
                self._record(False, exc.reason)
                tries = f" after {attempt + 1} attempts" if attempt else ""
                return self._unavailable(f"{exc.reason}{tries}")
            self._record(True, "")
            return Classification(self.name, self.model, self.version, scores=scores)

    def _skipping(self) -> str | None:
        with self._lock:
            if self._failures >= self.config.max_failures and self.clock() < self._open_until:
                return (
                    f"endpoint skipped: {self._failures} images in a row failed "
                    f"(last: {self._last_failure}); trying again after the "
                    f"{self.config.cooldown:g} s cooldown"
                )
            return None

    def _record(self, ok: bool, reason: str) -> None:
        with self._lock:
            if ok:
                self._failures = 0
                return
            self._failures += 1
            self._last_failure = reason
            if self._failures >= self.config.max_failures:
                self._open_until = self.clock() + self.config.cooldown

    def _request(self, sample: Sample) -> HttpRequest:
        cfg = self.config
        headers = dict(cfg.headers)
        for header, variable in cfg.headers_from_env.items():
            value = os.environ.get(variable)
            if value is None:
                raise _Failure(
                    f"environment variable {variable} (for {header}) is not set", transient=False
                )
            headers[header] = value
        if cfg.send == "bytes":
            body = sample.data if sample.data is not None else _jpeg(sample)
            headers.setdefault("Content-Type", "application/octet-stream")
        else:
            value = sample.sha256 if cfg.send == "sha256" else sample.md5
            if value is None and sample.data is not None:
                value = hashlib.new(cfg.send, sample.data).hexdigest()
            if value is None:
                raise _Failure(f"no {cfg.send} of this image to send", transient=False)
            body = json.dumps({cfg.send: value}).encode()
            headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept", "application/json")
        return HttpRequest(cfg.url, body, headers, cfg.timeout)

    def _attempt(self, request: HttpRequest) -> dict[str, float]:
        try:
            response = self.transport(request)
        except TimeoutError:
            raise _Failure(f"timed out after {request.timeout:g} s", transient=True) from None
        except OSError as exc:
            text = exc.strerror or str(exc) or type(exc).__name__
            if "timed out" in text:
                raise _Failure(f"timed out after {request.timeout:g} s", transient=True) from None
            raise _Failure(f"cannot reach {self.model}: {text}", transient=True) from None
        if response.status != 200:
            transient = response.status == 429 or response.status >= 500
            raise _Failure(f"HTTP {response.status} from {self.model}", transient=transient)
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Failure(f"answer is not JSON ({exc})", transient=False) from None
        return self._scores(data)

    def _scores(self, data: Any) -> dict[str, float]:
        scores: dict[str, float] = {}
        for name, path in self.config.scores.items():
            value = _lookup(data, path)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _Failure(f"answer has no number at {path!r} (for {name})", transient=False)
            if not 0.0 <= float(value) <= 1.0:
                raise _Failure(
                    f"answer's {path!r} = {value} is not a score between 0 and 1", transient=False
                )
            scores[name] = float(value)
        return scores


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, Mapping):
            if part not in data:
                return None
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _jpeg(sample: Sample) -> bytes:
    buffer = io.BytesIO()
    sample.image.image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class HttpPlugin:
    name = "http"
    summary = "a classifier behind an HTTP endpoint (image bytes or hash in, JSON scores out)"
    default = False
    threaded = False

    def build(
        self, options: Mapping[str, Any], *, name: str | None = None, base_dir: Path | None = None
    ) -> HttpClassifier:
        return HttpClassifier(HttpConfig.from_mapping(options), name=name or self.name)
