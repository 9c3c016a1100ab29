"""The HTTP classifier against a local fake server (127.0.0.1, a thread) and injected
transports: a failing, slow or confused endpoint makes scores unavailable, never an error."""

from __future__ import annotations

import hashlib
import json
import pickle
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from classify.helpers import synth_sample
from needle.assess import Priority, assess
from needle.classify import load_classifiers, run_classifiers
from needle.classify.http import HttpClassifier, HttpConfig, HttpRequest, HttpResponse
from needle.errors import ConfigError


class FakeServer:
    """Answers by path; records what it was sent. ``/slow`` waits until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()
        self.slow_finished = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests.append((self.path, dict(self.headers), body))
                if self.path == "/slow":
                    owner.release.wait(30)
                    owner.slow_finished.set()
                    self._answer(200, b'{"result": {"csam": 0.5}}')
                elif self.path == "/ok":
                    self._answer(200, b'{"result": {"csam": 0.7, "list": [0.1, 0.2]}}')
                elif self.path == "/bad-json":
                    self._answer(200, b"<html>gateway</html>")
                elif self.path == "/missing":
                    self._answer(200, b'{"result": {}}')
                elif self.path == "/range":
                    self._answer(200, b'{"result": {"csam": 1.7}}')
                elif self.path == "/error":
                    self._answer(503, b"busy")
                else:
                    self._answer(404, b"no")

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout tests)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        fake.server.shutdown()
        fake.server.server_close()


def classifier(url: str, **options: Any) -> HttpClassifier:
    config = HttpConfig.from_mapping({"url": url, "scores": {"csam": "result.csam"}, **options})
    return HttpClassifier(config, name="hotline", sleep=lambda s: None)


def test_scores_from_the_json_answer(server: FakeServer) -> None:
    c = classifier(server.url + "/ok", scores={"csam": "result.csam", "second": "result.list.1"})
    sample = synth_sample(1)
    (result,) = c.classify([sample])
    assert result.unavailable is None
    assert result.scores == {"csam": 0.7, "second": 0.2}
    assert (result.classifier, result.model, result.version) == (
        "hotline",
        server.url[7:],
        "remote",
    )
    ((path, headers, body),) = server.requests
    assert path == "/ok"
    assert body == sample.data  # the file's own bytes, unchanged
    assert headers["Content-Type"] == "application/octet-stream"


def test_sends_only_the_hash_when_asked(server: FakeServer) -> None:
    sample = synth_sample(2)
    assert sample.data is not None
    (result,) = classifier(server.url + "/ok", send="sha256").classify([sample])
    assert result.scores["csam"] == 0.7
    ((_, headers, body),) = server.requests
    assert json.loads(body) == {"sha256": hashlib.sha256(sample.data).hexdigest()}
    assert headers["Content-Type"] == "application/json"


def test_a_slow_endpoint_times_out_without_waiting_for_it(server: FakeServer) -> None:
    c = classifier(server.url + "/slow", timeout=0.2, retries=0)
    (result,) = c.classify([synth_sample(3)])
    assert result.unavailable == "timed out after 0.2 s"
    # the answer came back while the server was still holding the request
    assert not server.slow_finished.is_set()
    server.release.set()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/bad-json", "answer is not JSON"),
        ("/missing", "answer has no number at 'result.csam' (for csam)"),
        ("/range", "answer's 'result.csam' = 1.7 is not a score between 0 and 1"),
        ("/nothing-here", "HTTP 404 from"),
    ],
)
def test_confusing_answers_are_unavailable_with_the_reason(
    server: FakeServer, path: str, reason: str
) -> None:
    (result,) = classifier(server.url + path).classify([synth_sample(4)])
    assert result.unavailable is not None and reason in result.unavailable
    assert result.scores == {}
    assert server.paths() == [path]  # not retried: asking again would not help


def test_server_errors_are_retried_then_given_up(server: FakeServer) -> None:
    (result,) = classifier(server.url + "/error", retries=2).classify([synth_sample(5)])
    assert result.unavailable is not None
    assert result.unavailable.startswith("HTTP 503") and "after 3 attempts" in result.unavailable
    assert server.paths() == ["/error"] * 3


def test_unreachable_endpoint() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (result,) = classifier(f"http://127.0.0.1:{port}/x", retries=0).classify([synth_sample(6)])
    assert result.unavailable is not None and result.unavailable.startswith("cannot reach")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_dead_endpoint_is_skipped_for_a_while() -> None:
    calls: list[HttpRequest] = []

    def down(request: HttpRequest) -> HttpResponse:
        calls.append(request)
        raise ConnectionRefusedError(111, "Connection refused")

    clock = Clock()
    config = HttpConfig.from_mapping(
        {
            "url": "http://hotline.invalid/",
            "scores": {"csam": "csam"},
            "retries": 0,
            "max_failures": 2,
            "cooldown": 60,
            "concurrency": 1,
        }
    )
    c = HttpClassifier(config, transport=down, clock=clock, sleep=lambda s: None)
    results = c.classify([synth_sample(i) for i in range(5)])
    assert len(calls) == 2
    assert [r.unavailable.split(":")[0] for r in results if r.unavailable] == [
        "cannot reach hotline.invalid",
        "cannot reach hotline.invalid",
        "endpoint skipped",
        "endpoint skipped",
        "endpoint skipped",
    ]
    assert "2 images in a row failed" in (results[2].unavailable or "")
    clock.now += 61
    answers = [HttpResponse(200, b'{"csam": 0.1}')]
    c.transport = lambda request: answers[0]
    (again,) = c.classify([synth_sample(9)])
    assert again.scores == {"csam": 0.1}


def test_retry_backoff_uses_the_injected_sleep() -> None:
    slept: list[float] = []
    attempts: Iterator[HttpResponse | Exception] = iter(
        [TimeoutError(), TimeoutError(), HttpResponse(200, b'{"csam": 0.3}')]
    )

    def flaky(request: HttpRequest) -> HttpResponse:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    config = HttpConfig.from_mapping(
        {"url": "http://x.invalid/", "scores": {"csam": "csam"}, "retries": 2, "backoff": 0.5}
    )
    c = HttpClassifier(config, transport=flaky, sleep=slept.append)
    (result,) = c.classify([synth_sample(1)])
    assert result.scores == {"csam": 0.3}
    assert slept == [0.5, 1.0]


def test_a_broken_transport_does_not_raise() -> None:
    def broken(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("bug in a custom transport")

    config = HttpConfig.from_mapping({"url": "http://x.invalid/", "scores": {"csam": "csam"}})
    (result,) = HttpClassifier(config, transport=broken).classify([synth_sample(1)])
    assert result.unavailable == "RuntimeError: bug in a custom transport"


def test_headers_from_the_environment(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    c = classifier(server.url + "/ok", headers_from_env={"Authorization": "NEEDLE_TEST_TOKEN"})
    monkeypatch.delenv("NEEDLE_TEST_TOKEN", raising=False)
    (result,) = c.classify([synth_sample(1)])
    assert result.unavailable == (
        "environment variable NEEDLE_TEST_TOKEN (for Authorization) is not set"
    )
    assert server.requests == []
    monkeypatch.setenv("NEEDLE_TEST_TOKEN", "Bearer abc")
    (result,) = c.classify([synth_sample(1)])
    assert result.scores["csam"] == 0.7
    assert server.requests[0][1]["Authorization"] == "Bearer abc"


def test_nothing_to_send() -> None:
    from dataclasses import replace

    sample = replace(synth_sample(1), data=None)
    config = HttpConfig.from_mapping(
        {"url": "http://x.invalid/", "scores": {"csam": "csam"}, "send": "md5"}
    )
    (result,) = HttpClassifier(config).classify([sample])
    assert result.unavailable == "no md5 of this image to send"


def test_scan_goes_on_and_the_assessment_says_why(server: FakeServer) -> None:
    built = load_classifiers(
        ["hotline"],
        {
            "hotline": {
                "type": "http",
                "url": server.url + "/error",
                "scores": {"csam": "csam"},
                "retries": 0,
            }
        },
    )
    results = run_classifiers(built, [synth_sample(i) for i in range(3)])
    assert all(r[0].unavailable == f"HTTP 503 from {server.url[7:]}" for r in results)
    assessment = assess(classifications=results[0])
    assert assessment.priority is Priority.LOW
    assert assessment.reasons[0].kind == "unavailable"
    assert assessment.reasons[0].text == (
        f"hotline ({server.url[7:]}) did not run: HTTP 503 from {server.url[7:]}"
    )


def test_pickles_for_worker_processes(server: FakeServer) -> None:
    config = HttpConfig.from_mapping({"url": server.url + "/ok", "scores": {"csam": "result.csam"}})
    c = HttpClassifier(config)
    c.classify([synth_sample(1)])
    clone = pickle.loads(pickle.dumps(c))
    (result,) = clone.classify([synth_sample(2)])
    assert result.scores["csam"] == 0.7
    c.close()
    clone.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scores": {"a": "b"}}, "needs `url` and `scores`"),
        ({"url": "ftp://x/", "scores": {"a": "b"}}, "must be http:// or https://"),
        ({"url": "http://x/", "scores": {}}, "must map score names to JSON paths"),
        ({"url": "http://x/", "scores": {"a": "b"}, "send": "pixels"}, "`send` must be one of"),
        ({"url": "http://x/", "scores": {"a": "b"}, "timeout": 0}, "must be positive"),
        ({"url": "http://x/", "scores": {"a": "b"}, "proxy": "y"}, "unknown http classifier"),
    ],
)
def test_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        HttpConfig.from_mapping(options)
    assert message in str(info.value)
