"""The reports pages: analysts preview and send CyberTipline reports, export VICS, read triage.

The CyberTipline is the local stand-in (``tests/report/cybertip_server.py``); the items are
benign synthesised pictures whose decisions were recorded (``tests/report/cybertip_seed.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

pytest.importorskip("xmlschema", reason="reports need the report extra")

from needle.audit import AuditLog
from needle.review import case_details
from needle.store.schema import JobRow
from needle.web.service import Service
from needle.web.settings import ServeSettings
from report.cybertip_seed import Seeded, seed, write_config
from report.cybertip_server import PASSWORD, USERNAME, running_service
from report.cybertip_server import Service as Stand_in

Login = Callable[[TestClient, str], str]


@pytest.fixture
def stand_in() -> Iterator[tuple[str, Stand_in]]:
    with running_service() as found:
        yield found


@pytest.fixture
def web_settings(tmp_path: Path, db_url: str, stand_in: tuple[str, Stand_in]) -> ServeSettings:
    config = write_config(tmp_path / "reports.toml", base_url=stand_in[0])
    return ServeSettings(
        db_url=db_url,
        workers=1,
        warm_workers=False,
        index_refresh_seconds=0.2,
        report_config=str(config),
    )


@pytest.fixture
def seeded(service: Service, tmp_path: Path) -> Seeded:
    return seed(service.store, tmp_path)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEEDLE_NCMEC_USERNAME", USERNAME)
    monkeypatch.setenv("NEEDLE_NCMEC_PASSWORD", PASSWORD)


def _actions(service: Service) -> list[str]:
    return [entry.action for entry in AuditLog(service.store.engine).entries(limit=None)]


def test_the_reports_page_lists_cases_and_says_sending_is_off_without_credentials(
    client: TestClient, login: Login, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEEDLE_NCMEC_USERNAME", raising=False)
    login(client, "analyst")
    page = client.get("/reports")
    assert page.status_code == 200
    assert "acct-1" in page.text and "u-100" in page.text
    assert "in no case" in page.text  # item c
    assert "Sending is off" in page.text and "NEEDLE_NCMEC_USERNAME" in page.text
    assert "/reports/triage/" in page.text


def test_reviewers_and_admins_have_no_reports(
    client: TestClient, login: Login, seeded: Seeded
) -> None:
    for role in ("reviewer", "admin"):
        client.cookies.clear()
        login(client, role)
        assert client.get("/reports").status_code == 403
        assert client.get("/reports/vics").status_code == 403


def test_account_details_are_saved_and_audited(
    client: TestClient, login: Login, seeded: Seeded, service: Service
) -> None:
    csrf = login(client, "analyst")
    page = client.get("/reports/ncmec/case/acct-1")
    assert page.status_code == 200 and 'value="user100"' in page.text
    answer = client.post(
        "/reports/ncmec/case/acct-1/account",
        data={"csrf": csrf, "esp_user_id": "u-100", "screen_name": " renamed ", "email": ""},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert case_details(service.store, "acct-1") == {
        "esp_user_id": "u-100",
        "screen_name": "renamed",
    }
    assert "case-details" in _actions(service)
    refused = client.post("/reports/ncmec/case/acct-1/account", data={"screen_name": "x"})
    assert refused.status_code == 403  # no CSRF token


def test_preview_shows_schema_checked_xml_and_sends_nothing(
    client: TestClient,
    login: Login,
    seeded: Seeded,
    service: Service,
    stand_in: tuple[str, Stand_in],
) -> None:
    csrf = login(client, "analyst")
    page = client.post("/reports/ncmec/case/acct-1/preview", data={"csrf": csrf})
    assert page.status_code == 200
    assert "&lt;report" in page.text and "&lt;generativeAi" in page.text
    assert page.text.count("fileDetails: item") == 2  # a and b; d is not abuse
    assert stand_in[1].calls == []
    assert "report-preview" in _actions(service)


def test_send_needs_the_confirmation_and_credentials(
    client: TestClient, login: Login, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEEDLE_NCMEC_USERNAME", raising=False)
    monkeypatch.delenv("NEEDLE_NCMEC_PASSWORD", raising=False)
    csrf = login(client, "analyst")
    unconfirmed = client.post("/reports/ncmec/case/acct-1/send", data={"csrf": csrf})
    assert unconfirmed.status_code == 400
    refused = client.post("/reports/ncmec/case/acct-1/send", data={"csrf": csrf, "confirm": "send"})
    assert refused.status_code == 409 and "NEEDLE_NCMEC_USERNAME" in refused.text


def test_a_sent_report_is_finished_and_its_steps_are_shown(
    client: TestClient,
    login: Login,
    seeded: Seeded,
    service: Service,
    stand_in: tuple[str, Stand_in],
    credentials: None,
) -> None:
    csrf = login(client, "analyst")
    answer = client.post(
        "/reports/ncmec/case/acct-1/send",
        data={"csrf": csrf, "confirm": "send"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "finished" in page.text and "upload" in page.text
    (report,) = stand_in[1].reports.values()
    assert report.state == "finished" and len(report.files) == 2
    assert "report-submit" in _actions(service)


def test_a_failed_upload_is_retracted_and_shown_to_the_sender(
    client: TestClient,
    login: Login,
    seeded: Seeded,
    service: Service,
    stand_in: tuple[str, Stand_in],
    credentials: None,
) -> None:
    stand_in[1].fail["upload"] = "500"
    csrf = login(client, "analyst")
    answer = client.post(
        "/reports/ncmec/case/acct-1/send",
        data={"csrf": csrf, "confirm": "send"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "retracted" in page.text and "It failed" in page.text
    (report,) = stand_in[1].reports.values()
    assert report.state == "retracted"
    actions = _actions(service)
    assert "report-retract" in actions and "report-failed" in actions
    listed = client.get("/reports")
    assert re.search(r"status-retracted", listed.text)


def test_vics_download_carries_categories_and_is_audited(
    client: TestClient, login: Login, seeded: Seeded, service: Service
) -> None:
    login(client, "analyst")
    answer = client.get("/reports/vics", params={"version": "2.0"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment")
    document = json.loads(answer.text)
    categories = sorted(media["Category"] for media in document["value"])
    assert categories == [0, 1, 1, 3]  # d not abuse; a and c real; b AI-generated
    assert "export" in _actions(service)
    bad = client.get("/reports/vics", params={"version": "9"})
    assert bad.status_code == 400


def test_the_triage_report_is_served_self_contained(
    client: TestClient, login: Login, seeded: Seeded, service: Service
) -> None:
    login(client, "analyst")
    with service.store.engine.connect() as connection:
        job = connection.execute(sa.select(sa.func.max(JobRow.id))).scalar_one()
    page = client.get(f"/reports/triage/{job}/html")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in page.text and "<img" not in page.text
    rows = client.get(f"/reports/triage/{job}/csv").text.strip().splitlines()
    assert len(rows) == 1 + 4
    assert client.get(f"/reports/triage/{job}/pdf").status_code == 404
    assert client.get("/reports/triage/999/html").status_code == 404
