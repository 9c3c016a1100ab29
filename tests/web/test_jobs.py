"""Scan jobs through the API (``/v1/jobs``): allowed folders only, progress, one job per
paths, cancel and resume (also after the service lost track of a job, as after a restart).

A job that must stay running while a test looks at it runs a scanner the test holds
(``JobManager(scan=...)``); every other job runs the real ``run_scan`` over synthesised images.
Waiting is a polling loop with a generous bound, never a timed assertion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import image_bytes, synth_image
from needle.banks.model import BankEntry
from needle.media import decode_image
from needle.pipeline.scan import ScanProgress, ScanResult
from needle.signals import compute_signals
from needle.store.schema import JobRow
from needle.web.app import create_app
from needle.web.jobs import JobManager
from needle.web.service import Service
from needle.web.settings import ServeSettings

PATIENCE = 120.0


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    return folder


@pytest.fixture
def web_settings(tmp_path: Path, db_url: str, allowed: Path) -> ServeSettings:
    return ServeSettings(
        db_url=db_url,
        workers=1,
        warm_workers=False,
        index_refresh_seconds=0.2,
        scan_roots=(str(allowed),),
    )


@pytest.fixture
def analyst(token_for: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('analyst')}"}


def photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for seed in range(n):
        path = folder / f"p{seed:02d}.jpg"
        path.write_bytes(image_bytes(synth_image(100 + seed)))
        made.append(path)
    return made


def wait_for(client: TestClient, headers: dict[str, str], job_id: int, *states: str) -> dict:
    deadline = time.monotonic() + PATIENCE
    while True:
        body: dict = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if body["state"] in states or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


class HeldScan:
    """A scanner that reports progress until the job is cancelled (as ``run_scan`` stops:
    its progress callback raises at the next batch)."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, paths: list[str], *, progress: Callable[[ScanProgress], None],
                 **_: Any) -> ScanResult:  # fmt: skip
        self.started.set()
        n = 0
        while True:
            n += 1
            progress(ScanProgress(n, n, 0, 0, 0, True))
            time.sleep(0.01)


def test_without_scan_roots_every_job_is_refused(
    web_settings: ServeSettings, allowed: Path
) -> None:
    settings = replace(web_settings, scan_roots=())
    running = Service(settings)
    running.start()
    try:
        token = running.accounts.create_token("a", "analyst")
        with TestClient(create_app(settings, service=running)) as client:
            answer = client.post(
                "/v1/jobs", json={"paths": [str(allowed)]},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
        assert answer.status_code == 403 and "--scan-root" in answer.json()["message"]
    finally:
        running.stop()


def test_paths_outside_the_roots_are_refused(
    client: TestClient, analyst: dict[str, str], allowed: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    photos(outside, 1)
    (allowed / "link").symlink_to(outside)
    (allowed / "inside").mkdir()

    def start(path: str) -> tuple[int, str]:
        answer = client.post("/v1/jobs", json={"paths": [path]}, headers=analyst)
        return answer.status_code, answer.json().get("message", "")

    for refused in (
        str(outside),
        f"{allowed}/../outside",
        str(allowed / "link"),
        f"{allowed}/inside/../../outside",
        f"{allowed}x",  # a sibling whose name starts like the root
        "/",
    ):
        status, message = start(refused)
        assert status == 403 and "outside the folders" in message, refused
    assert start("allowed/inside") == (400, "paths must be absolute: 'allowed/inside'")
    status, message = start(str(allowed / "missing"))
    assert status == 400 and "no such file" in message
    assert client.post("/v1/jobs", json={"paths": []}, headers=analyst).status_code == 422
    bad_stage = client.post(
        "/v1/jobs", json={"paths": [str(allowed)], "stages": ["hash", "x"]}, headers=analyst
    )
    assert bad_stage.status_code == 400 and "unknown stage" in bad_stage.json()["message"]


def test_a_job_scans_a_folder_end_to_end(
    client: TestClient, analyst: dict[str, str], allowed: Path, service: Service
) -> None:
    made = photos(allowed / "case", 6)
    (allowed / "case" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    data = made[0].read_bytes()
    pdq = compute_signals(data, decode_image(data))["pdq"].value
    service.store.create_bank("known")
    service.store.add_entries("known", [BankEntry("pdq", pdq, ("listed",))])
    service.rebuild_now()

    answer = client.post(
        "/v1/jobs",
        json={"paths": [str(allowed / "case")], "stages": ["hash", "textguard"]},
        headers=analyst,
    )
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["kind"] == "scan" and started["roots"] == [str(allowed / "case")]
    assert started["stages"] == ["hash", "textguard"] and started["banks"] == ["known"]
    body = wait_for(client, analyst, started["id"], "complete", "failed")
    assert body["state"] == "complete", body
    assert body["status"] == "complete" and body["finished_at"]
    assert body["progress"]["done"] == 7 and body["progress"]["matched"] == 1
    summary = body["summary"]
    assert (summary["files"], summary["errors"], summary["matched_files"]) == (7, 1, 1)
    assert summary["matches_by_bank"] == {"known": 1}
    records = list(service.store.iter_records(started["id"]))
    assert len(records) == 7 and all(r.textguard for r in records)
    listed = client.get("/v1/jobs", headers=analyst).json()["jobs"]
    assert [j["id"] for j in listed] == [started["id"]]
    assert [e.action for e in service.audit.entries()].count("job-start") == 1


def test_one_job_per_paths_then_cancel_and_resume_after_a_restart(
    app: FastAPI, client: TestClient, analyst: dict[str, str], allowed: Path, service: Service
) -> None:
    photos(allowed / "case", 5)
    held = HeldScan()
    app.state.jobs = JobManager(service, scan=held)
    request = {"paths": [str(allowed / "case")], "stages": ["hash"]}
    first = client.post("/v1/jobs", json=request, headers=analyst)
    assert first.status_code == 202, first.text
    job_id = first.json()["id"]
    assert held.started.wait(PATIENCE)
    running = wait_for(client, analyst, job_id, "running")
    assert running["progress"] is not None
    assert client.get("/v1/status", headers=analyst).json()["jobs_running"] == 1
    twice = client.post("/v1/jobs", json=request, headers=analyst)
    assert twice.status_code == 409 and f"job {job_id}" in twice.json()["message"]
    again = client.post("/v1/jobs", json={**request, "new": True}, headers=analyst)
    assert again.status_code == 409

    cancelled = client.post(f"/v1/jobs/{job_id}/cancel", headers=analyst)
    assert cancelled.status_code == 202
    assert cancelled.json()["state"] in ("cancelling", "cancelled")
    body = wait_for(client, analyst, job_id, "cancelled")
    assert body["state"] == "cancelled" and body["status"] == "running"  # resumable
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=analyst).status_code == 409

    app.state.jobs = JobManager(service)  # as after a restart: nothing known of the job
    assert client.get(f"/v1/jobs/{job_id}", headers=analyst).json()["state"] == "interrupted"
    resumed = client.post(f"/v1/jobs/{job_id}/resume", headers=analyst)
    assert resumed.status_code == 202, resumed.text
    body = wait_for(client, analyst, job_id, "complete", "failed")
    assert body["state"] == "complete", body
    assert body["resumed"] is True and body["summary"]["files"] == 5
    assert client.post(f"/v1/jobs/{job_id}/resume", headers=analyst).status_code == 409
    assert len(client.get("/v1/jobs", headers=analyst).json()["jobs"]) == 1


def test_a_job_running_in_another_process_is_409(
    app: FastAPI, client: TestClient, analyst: dict[str, str], allowed: Path, service: Service
) -> None:
    photos(allowed / "case", 2)
    held = HeldScan()
    app.state.jobs = JobManager(service, scan=held)
    request = {"paths": [str(allowed / "case")]}
    job_id = client.post("/v1/jobs", json=request, headers=analyst).json()["id"]
    assert held.started.wait(PATIENCE)
    client.post(f"/v1/jobs/{job_id}/cancel", headers=analyst)
    assert wait_for(client, analyst, job_id, "cancelled")["state"] == "cancelled"
    app.state.jobs = JobManager(service)
    with service.store.engine.begin() as connection:  # a live scan on another machine owns it
        connection.execute(
            sa.update(JobRow)
            .where(JobRow.id == job_id)
            .values(owner="elsewhere 4242 -", heartbeat_at=sa.func.current_timestamp())
        )
    assert client.get(f"/v1/jobs/{job_id}", headers=analyst).json()["state"] in (
        "running-elsewhere",
        "interrupted",  # SQLite's CURRENT_TIMESTAMP has no zone: read back as UTC, it may lag
    )
    answer = client.post("/v1/jobs", json=request, headers=analyst)
    assert answer.status_code == 409 and "another process" in answer.json()["message"]
    assert client.post(f"/v1/jobs/{job_id}/resume", headers=analyst).status_code == 409


def test_unknown_jobs_and_other_roles(
    client: TestClient,
    analyst: dict[str, str],
    token_for: Callable[[str], str],
    allowed: Path,
) -> None:
    assert client.get("/v1/jobs/999", headers=analyst).status_code == 404
    assert client.post("/v1/jobs/999/cancel", headers=analyst).status_code == 404
    assert client.post("/v1/jobs/999/resume", headers=analyst).status_code == 404
    for role in ("reviewer", "api"):
        headers = {"Authorization": f"Bearer {token_for(role)}"}
        refused = client.post("/v1/jobs", json={"paths": [str(allowed)]}, headers=headers)
        assert (
            refused.status_code == 403
            and client.get("/v1/jobs", headers=headers).status_code == 403
        )


def test_the_uploads_job_is_listed_but_not_resumable(
    client: TestClient, analyst: dict[str, str]
) -> None:
    recorded = client.post(
        "/v1/scan?record=1",
        files={"file": ("one.jpg", image_bytes(synth_image(9)))},
        headers=analyst,
    )
    assert recorded.status_code == 200, recorded.text
    job_id = recorded.json()["recorded"]["job"]
    (listed,) = client.get("/v1/jobs", headers=analyst).json()["jobs"]
    assert (listed["id"], listed["kind"], listed["state"]) == (job_id, "uploads", "open")
    assert client.get(f"/v1/jobs/{job_id}", headers=analyst).json()["summary"]["files"] == 1
    refused = client.post(f"/v1/jobs/{job_id}/resume", headers=analyst)
    assert refused.status_code == 400 and "uploads" in refused.json()["message"]
