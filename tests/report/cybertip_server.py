"""A local stand-in for the CyberTipline Reporting API, for tests: nothing leaves the machine.

It runs ``http.server`` in a thread on 127.0.0.1 and implements the documented flow (status,
submit, upload, fileinfo, finish, retract) with HTTP basic auth. Every XML it receives is
validated against needle's ``cybertip.xsd``, so an element out of order is an error answer
(responseCode 4000), as the real service's schema check would give. ``fail`` makes a step
answer badly: ``{"upload": "code"}`` (responseCode 1000), ``"500"`` (HTTP 500) or ``"401"``.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from needle.errors import ReportError
from needle.report.cybertip.xml import validate

USERNAME = "usr123"
PASSWORD = "pswd123"


@dataclass
class Report:
    report_id: str
    xml: str
    files: dict[str, bytes] = field(default_factory=dict)
    file_details: dict[str, str] = field(default_factory=dict)
    state: str = "open"


@dataclass
class Service:
    """What the server saw, and which step should fail."""

    fail: dict[str, str] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    next_id: int = 1000


def _answer(code: int, description: str, **ids: str) -> bytes:
    extra = "".join(f"<{k}>{v}</{k}>" for k, v in ids.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><reportResponse><responseCode>{code}'
        f"</responseCode><responseDescription>{description}</responseDescription>{extra}"
        "</reportResponse>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    service: Service

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.service.authorizations.append(header)
        expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        return header == f"Basic {expected}"

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        step = self.path.rsplit("/", 1)[-1]
        body = self._body() if method == "POST" else b""
        self.service.calls.append(step)
        failure = self.service.fail.get(step)
        if failure == "401" or not self._authorised():
            self._send(401, b"")
            return
        if failure == "500":
            self._send(500, b"<html>Internal Server Error</html>")
            return
        if failure == "code":
            self._send(200, _answer(1000, "Server error (injected by the test)"))
            return
        handler = getattr(self, f"_{step}", None)
        if handler is None:
            self._send(404, b"")
            return
        self._send(200, handler(body))

    def _status(self, body: bytes) -> bytes:
        return _answer(0, "Remote User : usr123, Remote Ip : 127.0.0.1")

    def _submit(self, body: bytes) -> bytes:
        xml = body.decode("utf-8")
        try:
            validate(xml)
        except ReportError as exc:
            return _answer(4000, f"Invalid XML: {exc}")
        self.service.next_id += 1
        report_id = str(self.service.next_id)
        self.service.reports[report_id] = Report(report_id, xml)
        return _answer(0, "Success", reportId=report_id)

    def _open(self, report_id: str | None) -> Report | None:
        report = self.service.reports.get(report_id or "")
        return report if report is not None and report.state == "open" else None

    def _upload(self, body: bytes) -> bytes:
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = part.get_payload(decode=True) or b""
        report = self._open(fields.get("id", b"").decode())
        if report is None or "file" not in fields:
            return _answer(3000, "No open report of that id, or no file")
        file_id = f"{len(report.files) + 1:032x}"
        report.files[file_id] = fields["file"]
        return _answer(0, "Success", reportId=report.report_id, fileId=file_id)

    def _fileinfo(self, body: bytes) -> bytes:
        xml = body.decode("utf-8")
        try:
            validate(xml)
        except ReportError as exc:
            return _answer(4000, f"Invalid XML: {exc}")
        report_id = re.search(r"<reportId>(\d+)</reportId>", xml)
        file_id = re.search(r"<fileId>([^<]+)</fileId>", xml)
        report = self._open(report_id.group(1) if report_id else None)
        if report is None or file_id is None or file_id.group(1) not in report.files:
            return _answer(3000, "No such report or file")
        report.file_details[file_id.group(1)] = xml
        return _answer(0, "Success", reportId=report.report_id)

    def _form_report(self, body: bytes) -> Report | None:
        ids = parse_qs(body.decode()).get("id", [""])
        return self._open(ids[0])

    def _finish(self, body: bytes) -> bytes:
        report = self._form_report(body)
        if report is None:
            return _answer(3000, "No open report of that id")
        report.state = "finished"
        files = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        return (
            f"<reportDoneResponse><responseCode>0</responseCode><reportId>{report.report_id}"
            f"</reportId><files>{files}</files></reportDoneResponse>"
        ).encode()

    def _retract(self, body: bytes) -> bytes:
        report = self._form_report(body)
        if report is None:
            return _answer(3000, "No open report of that id")
        report.state = "retracted"
        return _answer(0, "Success", reportId=report.report_id)


@contextmanager
def running_service() -> Iterator[tuple[str, Service]]:
    """A fresh service on a free port: (base URL, what it records)."""
    service = Service()
    handler = type("Handler", (_Handler,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ispws", service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
