"""Sending CyberTipline reports to a local stand-in of the service (``cybertip_server``).

The whole flow runs over real HTTP on 127.0.0.1: status, submit, upload, fileinfo, finish;
and every way it can fail after a report was opened (a non-zero responseCode, HTTP 500, a
file that cannot be read) ends with the report retracted, the submission marked and audited,
and an error naming the submission. A refused login (401) fails before anything is opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from needle.audit import AuditLog
from needle.errors import SubmissionFailed
from needle.report.cybertip import (
    Credentials,
    CybertipClient,
    CybertipError,
    ReportPlan,
    load_config,
    plan_reports,
    send_report,
    submission,
    to_xml,
)
from needle.report.cybertip.build import build_report
from needle.store import Store
from report.cybertip_seed import REVIEWER, Seeded, seed, write_config
from report.cybertip_server import PASSWORD, USERNAME, Service, running_service

LOGIN = Credentials(USERNAME, PASSWORD)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened


@pytest.fixture
def seeded(store: Store, tmp_path: Path) -> Seeded:
    return seed(store, tmp_path)


@pytest.fixture
def service() -> Iterator[tuple[str, Service]]:
    with running_service() as running:
        yield running


def _plan(store: Store) -> ReportPlan:
    (plan,) = plan_reports(store, case="acct-1")
    return plan


def _config(tmp_path: Path, url: str):  # type: ignore[no-untyped-def]
    return load_config(write_config(tmp_path / "ncmec.toml", url))


def test_the_whole_flow_finishes_and_is_kept(
    store: Store, seeded: Seeded, service: tuple[str, Service], tmp_path: Path
) -> None:
    url, server = service
    plan = _plan(store)
    done = send_report(store, plan, _config(tmp_path, url), LOGIN, REVIEWER)
    assert done.status == "finished" and done.report_id is not None
    assert done.finished_at is not None and done.error is None
    steps = [s.step for s in done.log]
    assert steps == ["status", "submit", "upload", "fileinfo", "upload", "fileinfo", "finish"]
    assert all(s.ok for s in done.log)
    report = server.reports[done.report_id]
    assert report.state == "finished"
    assert sorted(report.files.values()) == sorted([seeded.data["a"], seeded.data["b"]])
    assert len(report.file_details) == 2
    kept = json.dumps([s.to_dict() for s in submission(store, done.id).log])
    (entry,) = AuditLog(store.engine).entries(action="report-submit")
    assert entry.target == f"submission:{done.id}" and entry.detail["report_id"] == done.report_id
    for text in (kept, json.dumps(entry.detail)):
        assert PASSWORD not in text and USERNAME not in text


@pytest.mark.parametrize(
    ("step", "how", "expected"),
    [
        ("upload", "code", "upload: responseCode 1000"),
        ("fileinfo", "500", "fileinfo: HTTP 500"),
        ("finish", "code", "finish: responseCode 1000"),
    ],
)
def test_a_failure_after_submit_retracts_the_report(
    store: Store,
    seeded: Seeded,
    service: tuple[str, Service],
    tmp_path: Path,
    step: str,
    how: str,
    expected: str,
) -> None:
    url, server = service
    server.fail[step] = how
    with pytest.raises(SubmissionFailed) as failed:
        send_report(store, _plan(store), _config(tmp_path, url), LOGIN, REVIEWER)
    kept = submission(store, failed.value.submission_id)
    assert f"submission {kept.id}" in str(failed.value) and expected in str(failed.value)
    assert kept.status == "retracted" and kept.error and expected in kept.error
    assert kept.report_id is not None and server.reports[kept.report_id].state == "retracted"
    assert kept.log[-1].step == "retract" and kept.log[-1].ok
    assert [s.step for s in kept.log if not s.ok] == [step]
    audit = AuditLog(store.engine)
    assert [e.target for e in audit.entries(action="report-retract")] == [f"submission:{kept.id}"]
    (entry,) = audit.entries(action="report-failed")
    assert entry.detail["status"] == "retracted"


def test_an_unreadable_file_retracts_and_names_the_file(
    store: Store, seeded: Seeded, service: tuple[str, Service], tmp_path: Path
) -> None:
    url, server = service
    (seeded.folder / "b.jpg").unlink()
    with pytest.raises(SubmissionFailed, match=r"b\.jpg") as failed:
        send_report(store, _plan(store), _config(tmp_path, url), LOGIN, REVIEWER)
    kept = submission(store, failed.value.submission_id)
    assert kept.status == "retracted" and "b.jpg" in (kept.error or "")
    assert kept.report_id is not None and server.reports[kept.report_id].state == "retracted"
    assert len(server.reports[kept.report_id].files) == 1  # a went up before b failed


@pytest.mark.parametrize(
    ("step", "how", "expected"),
    [("status", "401", "refused the login"), ("submit", "code", "submit: responseCode 1000")],
)
def test_a_failure_before_a_report_is_open_fails_without_retracting(
    store: Store,
    seeded: Seeded,
    service: tuple[str, Service],
    tmp_path: Path,
    step: str,
    how: str,
    expected: str,
) -> None:
    url, server = service
    server.fail[step] = how
    with pytest.raises(SubmissionFailed, match=expected) as failed:
        send_report(store, _plan(store), _config(tmp_path, url), LOGIN, REVIEWER)
    kept = submission(store, failed.value.submission_id)
    assert kept.status == "failed" and kept.report_id is None
    assert "retract" not in server.calls and not server.reports
    assert AuditLog(store.engine).entries(action="report-retract") == []
    assert len(AuditLog(store.engine).entries(action="report-failed")) == 1


def test_a_wrong_password_is_refused(
    store: Store, seeded: Seeded, service: tuple[str, Service], tmp_path: Path
) -> None:
    url, server = service
    with pytest.raises(SubmissionFailed, match="HTTP 401"):
        send_report(store, _plan(store), _config(tmp_path, url), Credentials(USERNAME, "no"),
                    REVIEWER)  # fmt: skip
    assert server.calls == ["status"]


def test_a_failed_retraction_is_kept_too(
    store: Store, seeded: Seeded, service: tuple[str, Service], tmp_path: Path
) -> None:
    url, server = service
    server.fail.update(upload="500", retract="500")
    with pytest.raises(SubmissionFailed, match=r"retracting report \d+ failed too") as failed:
        send_report(store, _plan(store), _config(tmp_path, url), LOGIN, REVIEWER)
    kept = submission(store, failed.value.submission_id)
    assert kept.status == "failed" and "retract: HTTP 500" in (kept.error or "")


def test_the_service_refuses_xml_out_of_schema_order(
    store: Store, seeded: Seeded, service: tuple[str, Service], tmp_path: Path
) -> None:
    url, _ = service
    xml = to_xml(build_report(_plan(store), _config(tmp_path, url)))
    summary = xml[xml.index("  <incidentSummary>") : xml.index("  <reporter>")]
    swapped = xml.replace(summary, "").replace("</reporter>\n", "</reporter>\n" + summary)
    with CybertipClient(url, LOGIN) as client, pytest.raises(CybertipError, match="4000"):
        client.submit(swapped)


def test_an_injected_transport_and_no_answer() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        return httpx.Response(
            200, content=b"<reportResponse><responseCode>0</responseCode>"
            b"<responseDescription>ok</responseDescription></reportResponse>",
        )  # fmt: skip

    steps = []
    with CybertipClient("https://service.invalid/ispws", LOGIN,
                        transport=httpx.MockTransport(answer), on_step=steps.append) as client:  # fmt: skip
        assert client.status().ok
    assert steps[0].description == "ok"

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(unreachable)
    client = CybertipClient("https://service.invalid/ispws", LOGIN, transport=transport)
    with client, pytest.raises(CybertipError, match="no answer from the service"):
        client.status()
