"""A client for the CyberTipline Reporting API: one method per documented endpoint.

The flow (NCMEC's documentation, "Endpoints"): ``GET /status`` (the login works), ``POST
/submit`` (the report XML; the answer opens a report and gives its ``reportId``), per file
``POST /upload`` (multipart: ``id`` = reportId, ``file``; answers a ``fileId``) and ``POST
/fileinfo`` (the file's ``fileDetails`` XML), then ``POST /finish`` (``id``); ``POST
/retract`` (``id``) withdraws an open report. Every call uses HTTP basic auth and answers an
XML ``reportResponse`` whose ``responseCode`` 0 means success.

In: a base URL, ``Credentials``, an optional httpx transport (tests pass one, or point the
base URL at a local server). Out: ``Response``s; every call is also handed to ``on_step`` as a
``Step`` (what was asked, what came back, never the credentials), and anything but success
raises ``CybertipError`` carrying that step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from needle._optional import import_optional
from needle.errors import ReportError
from needle.jsonvalue import JSONObject
from needle.report.cybertip.config import Credentials
from needle.report.cybertip.xml import Response, parse_response

if TYPE_CHECKING:
    import httpx

__all__ = ["CybertipClient", "CybertipError", "Step"]

XML_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Step:
    """One call: the endpoint, what it concerned (``subject``: a file's name), the HTTP status,
    the answer's code, text and ids. Stored in the submission's log."""

    step: str
    http_status: int | None
    response_code: int | None
    description: str
    at: datetime
    report_id: str | None = None
    file_id: str | None = None
    subject: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and self.response_code == 0

    def to_dict(self) -> JSONObject:
        return {
            "step": self.step,
            "http_status": self.http_status,
            "response_code": self.response_code,
            "description": self.description,
            "at": self.at.isoformat(),
            "report_id": self.report_id,
            "file_id": self.file_id,
            "subject": self.subject,
        }

    @classmethod
    def from_dict(cls, data: JSONObject) -> Step:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        def number(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            str(data.get("step", "")),
            number("http_status"),
            number("response_code"),
            str(data.get("description", "")),
            datetime.fromisoformat(str(data["at"])) if data.get("at") else datetime.now(UTC),
            text("report_id"),
            text("file_id"),
            text("subject"),
        )


class CybertipError(ReportError):
    """A call did not succeed: refused login, a server error, a non-zero ``responseCode``, or
    no answer at all. ``step`` is the failed call as logged."""

    def __init__(self, message: str, step: Step) -> None:
        super().__init__(message)
        self.step = step


def _explain(step: Step) -> str:
    if step.http_status is None:
        return f"{step.step}: no answer from the service: {step.description}"
    if step.http_status == 401:
        return (
            f"{step.step}: the service refused the login (HTTP 401): check the NCMEC "
            "username and password"
        )
    if step.http_status != 200:
        return f"{step.step}: HTTP {step.http_status}: {step.description or 'no description'}"
    return f"{step.step}: responseCode {step.response_code}: {step.description or 'no description'}"


class CybertipClient:
    """Calls to one CyberTipline service. Use as a context manager (closes its connections)."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        httpx_module = import_optional("httpx", "report")
        self._http: httpx.Client = httpx_module.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx_module.BasicAuth(credentials.username, credentials.password),
            transport=transport,
            timeout=timeout,
        )
        self._httpx = httpx_module
        self._on_step = on_step
        #: what never goes into a step (the status answer names the user, as NCMEC's does)
        self._secrets = tuple(s for s in (credentials.password, credentials.username) if s)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def __enter__(self) -> CybertipClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, step: str, method: str, path: str, subject: str | None = None,
              **request: object) -> Response:  # fmt: skip
        try:
            answer = self._http.request(method, path, **request)  # type: ignore[arg-type]
        except self._httpx.HTTPError as exc:
            logged = Step(step, None, None, self._redact(f"{type(exc).__name__}: {exc}"),
                          datetime.now(UTC), subject=subject)  # fmt: skip
            self._log(logged)
            raise CybertipError(_explain(logged), logged) from None
        response = parse_response(answer.status_code, answer.content)
        if answer.status_code != 200 and response.response_code is None:
            response = Response(answer.status_code, None, answer.reason_phrase or "")
        logged = Step(
            step, response.http_status, response.response_code,
            self._redact(response.description), datetime.now(UTC), response.report_id,
            response.file_id, subject,
        )  # fmt: skip
        self._log(logged)
        if not response.ok:
            raise CybertipError(_explain(logged), logged)
        return response

    def _log(self, step: Step) -> None:
        if self._on_step is not None:
            self._on_step(step)

    def status(self) -> Response:
        """Check that the service answers and accepts the login."""
        return self._call("status", "GET", "/status")

    def submit(self, report_xml: str) -> str:
        """Open a report; its ``reportId``."""
        answer = self._call(
            "submit", "POST", "/submit", content=report_xml.encode("utf-8"),
            headers={"Content-Type": XML_TYPE},
        )  # fmt: skip
        if not answer.report_id:
            raise CybertipError("submit: the answer gave no reportId", self._last("submit", answer))
        return answer.report_id

    def upload(self, report_id: str, name: str, data: bytes) -> str:
        """Upload one file's bytes to the open report; its ``fileId``."""
        answer = self._call(
            "upload", "POST", "/upload", subject=name, data={"id": report_id},
            files={"file": (name, data, "application/octet-stream")},
        )  # fmt: skip
        if not answer.file_id:
            raise CybertipError("upload: the answer gave no fileId", self._last("upload", answer))
        return answer.file_id

    def fileinfo(self, details_xml: str, subject: str | None = None) -> Response:
        """Send one uploaded file's ``fileDetails``."""
        return self._call(
            "fileinfo", "POST", "/fileinfo", subject=subject,
            content=details_xml.encode("utf-8"), headers={"Content-Type": XML_TYPE},
        )  # fmt: skip

    def finish(self, report_id: str) -> Response:
        """Close the report: NCMEC receives it."""
        return self._call("finish", "POST", "/finish", data={"id": report_id})

    def retract(self, report_id: str) -> Response:
        """Withdraw an open report."""
        return self._call("retract", "POST", "/retract", data={"id": report_id})

    def _last(self, step: str, answer: Response) -> Step:
        return Step(step, answer.http_status, answer.response_code, answer.description,
                    datetime.now(UTC), answer.report_id, answer.file_id)  # fmt: skip
