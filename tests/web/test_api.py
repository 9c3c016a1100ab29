"""The native JSON API (``/v1``): answers' shapes, errors as JSON, limits, banks and lookups.

Every image is synthesised (``conftest.synth_image``). Waiting for the bank index to pick a
change up is a polling loop with a generous bound, never a timed assertion.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import image_bytes, synth_image
from needle.banks.model import BankEntry
from needle.media import DEFAULT_LIMITS, decode_image
from needle.signals import compute_signals
from needle.store import Store
from needle.store.quarantine import new_key
from needle.web.app import create_app
from needle.web.service import Service
from needle.web.settings import ServeSettings

MEDIA_LIMIT = 2 * 1024 * 1024
IMPORT_LIMIT = 1024 * 1024
#: how long a bank change may take to reach the index before a test gives up (the service
#: looks every 0.2 s in these tests; the bound only stops a broken build from hanging)
PATIENCE = 60.0


@pytest.fixture
def web_settings(tmp_path: Path, db_url: str) -> ServeSettings:
    return ServeSettings(
        db_url=db_url,
        workers=1,
        warm_workers=False,
        index_refresh_seconds=0.2,
        limits=replace(DEFAULT_LIMITS, max_file_bytes=MEDIA_LIMIT),
        max_import_bytes=IMPORT_LIMIT,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(token_for: Callable[[str], str]) -> dict[str, str]:
    return bearer(token_for("api"))


@pytest.fixture
def admin(token_for: Callable[[str], str]) -> dict[str, str]:
    return bearer(token_for("admin"))


def jpeg(seed: int = 1) -> bytes:
    return image_bytes(synth_image(seed))


def pdq_of(data: bytes) -> str:
    return compute_signals(data, decode_image(data))["pdq"].value


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def lookup(client: TestClient, headers: dict[str, str], kind: str, value: str) -> list[dict]:
    answer = client.get(
        "/v1/lookup", params={"signal_type": kind, "signal": value}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    matches: list[dict] = answer.json()["matches"]
    return matches


# -- status ---------------------------------------------------------------------------------


def test_status_says_version_index_workers_and_uptime(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    service.store.create_bank("known")
    service.store.add_entries("known", [BankEntry("md5", "0" * 32)])
    service.rebuild_now()
    body = client.get("/v1/status", headers=api).json()
    assert body["version"]
    assert body["index"]["entries"] == 1 and body["index"]["banks"] == 1
    assert body["index"]["built_at"] and body["index"]["build_seconds"] >= 0
    assert body["workers"] == 1 and body["quarantine"] is False
    assert body["uptime_seconds"] >= 0 and body["jobs_running"] == 0


def test_anonymous_callers_get_401_json(client: TestClient) -> None:
    for answer in (
        client.get("/v1/status"),
        client.get("/v1/lookup", params={"signal_type": "md5", "signal": "0" * 32}),
        client.post("/v1/scan", files={"file": ("a.jpg", b"x")}),
    ):
        assert answer.status_code == 401 and answer.json()["message"]


def test_roles_are_held_to_their_permissions(
    client: TestClient, token_for: Callable[[str], str]
) -> None:
    api, analyst, reviewer = (bearer(token_for(r)) for r in ("api", "analyst", "reviewer"))
    assert client.get("/v1/banks", headers=api).status_code == 403
    assert client.get("/v1/banks", headers=analyst).status_code == 200
    assert client.post("/v1/banks", json={"name": "x"}, headers=analyst).status_code == 403
    refused = client.get("/v1/lookup", params={"signal_type": "md5", "signal": "0" * 32},
                         headers=reviewer)  # fmt: skip
    assert refused.status_code == 403 and "scan" in refused.json()["message"]


# -- scanning an upload ---------------------------------------------------------------------


def test_scan_answers_signals_matches_priority_and_reasons(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    data = jpeg(3)
    service.store.create_bank("known", pdq_threshold=31)
    service.store.add_entries("known", [BankEntry("pdq", pdq_of(data), ("test-label",))])
    service.rebuild_now()
    answer = client.post("/v1/scan", files={"file": ("dir/photo.jpg", data)}, headers=api)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == "photo.jpg" and body["size"] == len(data)
    assert body["stages"] == ["hash"] and body["error"] is None
    assert {s["type"] for s in body["signals"]} == {"md5", "sha1", "sha256", "pdq"}
    pdq = next(s for s in body["signals"] if s["type"] == "pdq")
    assert pdq["quality"] > 0 and len(pdq["value"]) == 64
    (match,) = body["matches"]
    assert match["bank"] == "known" and match["distance"] == 0 and match["threshold"] == 31
    assert match["transform"] == "original" and match["labels"] == ["test-label"]
    assert body["priority"] and body["reasons"] and body["reasons"][0]["kind"] == "match"
    assert body["classifications"] == [] and body["provenance"] is None and "recorded" not in body


def test_unreadable_media_is_a_record_with_a_reason(
    client: TestClient, api: dict[str, str]
) -> None:
    answer = client.post("/v1/scan", files={"file": ("x.jpg", b"not an image at all")}, headers=api)
    assert answer.status_code == 200
    body = answer.json()
    assert body["error"] and body["error_reason"]
    assert {s["type"] for s in body["signals"]} == {"md5", "sha1", "sha256"}


def test_scan_stages_are_checked_and_run(client: TestClient, api: dict[str, str]) -> None:
    bad = client.post("/v1/scan?stages=hash,colour", files={"file": ("a.jpg", jpeg())}, headers=api)
    assert bad.status_code == 400
    assert "colour" in bad.json()["message"] and "provenance" in bad.json()["message"]
    answer = client.post(
        "/v1/scan?stages=provenance,textguard", files={"file": ("beach.jpg", jpeg())}, headers=api
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stages"] == ["hash", "provenance", "textguard"]
    assert body["provenance"]["ai_generated"] == "unknown"
    assert [g["source"] for g in body["textguard"]] == ["file name"]


def test_scan_without_a_file_field_is_400(client: TestClient, api: dict[str, str]) -> None:
    answer = client.post("/v1/scan", files={"media": ("a.jpg", jpeg())}, headers=api)
    assert answer.status_code == 400 and "'file'" in answer.json()["message"]
    assert client.post("/v1/scan", content=b"raw", headers=api).status_code == 400


def test_oversized_uploads_are_413_whether_declared_or_not(
    client: TestClient, api: dict[str, str]
) -> None:
    big = b"\0" * (MEDIA_LIMIT + 1)
    declared = client.post("/v1/scan", files={"file": ("big.bin", big)}, headers=api)
    assert declared.status_code == 413 and "limit" in declared.json()["message"]
    # just under the body limit but over the file limit: counted while read
    assert declared.headers["content-type"].startswith("application/json")

    def chunks() -> Iterator[bytes]:
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        yield boundary
        for _ in range(8):
            yield b"\0" * (MEDIA_LIMIT // 4)
        yield b"\r\n--b--\r\n"

    streamed = client.post(
        "/v1/scan",
        content=chunks(),
        headers={**api, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413 and "limit" in streamed.json()["message"]


def test_a_file_just_over_its_limit_within_the_body_allowance_is_413(
    client: TestClient, api: dict[str, str]
) -> None:
    answer = client.post(
        "/v1/scan", files={"file": ("a.bin", b"\0" * (MEDIA_LIMIT + 10))}, headers=api
    )
    assert answer.status_code == 413
    assert f"{MEDIA_LIMIT:,}" in answer.json()["message"]


def test_recorded_uploads_enter_a_job_of_uploads(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    data = jpeg(5)
    answer = client.post("/v1/scan?record=1", files={"file": ("five.jpg", data)}, headers=api)
    assert answer.status_code == 200, answer.text
    recorded = answer.json()["recorded"]
    sha256 = next(s["value"] for s in answer.json()["signals"] if s["type"] == "sha256")
    assert recorded["path"] == f"upload:{sha256}/five.jpg" and recorded["new"] is True
    assert recorded["quarantined"] is False
    again = client.post("/v1/scan?record=1", files={"file": ("five.jpg", data)}, headers=api)
    assert again.json()["recorded"] == {**recorded, "new": False}
    (stored,) = list(service.store.iter_records(recorded["job"]))
    assert stored.path == recorded["path"] and stored.sha256 == sha256


def test_recorded_uploads_are_sealed_in_the_quarantine(
    tmp_path: Path, web_settings: ServeSettings, token_for: Callable[[str], str]
) -> None:
    key = tmp_path / "key"
    key.write_text(new_key())
    settings = replace(
        web_settings, quarantine_dir=str(tmp_path / "q"), quarantine_key_file=str(key)
    )
    running = Service(settings)
    running.start()
    try:
        token = running.accounts.create_token("q-api", "api")
        with TestClient(create_app(settings, service=running)) as client:
            data = jpeg(6)
            answer = client.post(
                "/v1/scan?record=1", files={"file": ("six.jpg", data)}, headers=bearer(token)
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["recorded"]["quarantined"] is True
            assert client.get("/v1/status", headers=bearer(token)).json()["quarantine"] is True
        assert running.quarantine is not None
        sha256 = answer.json()["recorded"]["path"].split(":")[1].split("/")[0]
        assert running.quarantine.get(sha256) == data
    finally:
        running.stop()


def test_embedded_prompts_never_leave_in_a_scan_answer(
    testdata: Path, client: TestClient, api: dict[str, str]
) -> None:
    files = sorted((testdata / "provenance" / "generators" / "AUTOMATIC1111").glob("*.png"))
    assert files
    for png in files:
        answer = client.post(
            "/v1/scan?stages=provenance,textguard",
            files={"file": (png.name, png.read_bytes())},
            headers=api,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["provenance"]["has_prompt"] is True
        assert "prompt" not in body["provenance"] and "negative_prompt" not in body["provenance"]
        assert [g["source"] for g in body["textguard"]] == ["file name", "embedded prompt"]
        assert "embedded_prompt" not in answer.text


def test_a_signed_in_browser_needs_the_csrf_token_for_uploads(
    client: TestClient, login: Callable[[TestClient, str], str]
) -> None:
    csrf = login(client, "analyst")
    refused = client.post("/v1/scan", files={"file": ("a.jpg", jpeg())})
    assert refused.status_code == 403
    by_field = client.post("/v1/scan", files={"file": ("a.jpg", jpeg())}, data={"csrf": csrf})
    assert by_field.status_code == 200, by_field.text
    by_header = client.post(
        "/v1/scan", files={"file": ("a.jpg", jpeg())}, headers={"X-CSRF-Token": csrf}
    )
    assert by_header.status_code == 200


# -- lookups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("pdq", "f" * 63, "64 hex digits"),
        ("pdq", "g" * 64, "not hexadecimal"),
        ("md5", "0" * 31, "32 hex digits"),
        ("sha1", "0" * 41, "40 hex digits"),
        ("sha256", "z" * 64, "not hexadecimal"),
        ("colour", "0" * 32, "unknown signal_type"),
    ],
)
def test_lookup_checks_the_hash(
    client: TestClient, api: dict[str, str], kind: str, value: str, words: str
) -> None:
    answer = client.get("/v1/lookup", params={"signal_type": kind, "signal": value}, headers=api)
    assert answer.status_code == 400 and words in answer.json()["message"]


def test_lookup_without_parameters_is_a_json_error(client: TestClient, api: dict[str, str]) -> None:
    answer = client.get("/v1/lookup", headers=api)
    assert answer.status_code == 422 and "signal" in answer.json()["message"]


def test_lookup_finds_exact_and_near_pdq_entries(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    service.store.create_bank("near", pdq_threshold=10)
    service.store.add_entries(
        "near", [BankEntry("pdq", "f" * 64, ("a",)), BankEntry("md5", "ab" * 16, ("b",))]
    )
    service.rebuild_now()
    (near,) = lookup(client, api, "pdq", "F" * 63 + "0")  # 4 bits away; upper case is fine
    assert (near["bank"], near["distance"], near["threshold"]) == ("near", 4, 10)
    assert near["value"] == "f" * 64 and near["labels"] == ["a"]
    assert near["transform"] == "original"
    assert lookup(client, api, "pdq", "f" * 60 + "0000") == []  # 16 bits: over 10
    (exact,) = lookup(client, api, "md5", "AB" * 16)
    assert (exact["distance"], exact["labels"]) == (0, ["b"])
    assert lookup(client, api, "sha1", "0" * 40) == []


# -- banks ----------------------------------------------------------------------------------


def test_bank_create_list_get_and_delete(
    client: TestClient, admin: dict[str, str], service: Service
) -> None:
    made = client.post(
        "/v1/banks", json={"name": "partner", "pdq_threshold": 20, "description": "d"},
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json() == {
        "name": "partner", "pdq_threshold": 20, "description": "d", "entries": 0,
        "by_signal_type": {},
    }  # fmt: skip
    again = client.post("/v1/banks", json={"name": "partner"}, headers=admin)
    assert again.status_code == 409 and "exists" in again.json()["message"]
    bad = client.post("/v1/banks", json={"name": "x", "pdq_threshold": 300}, headers=admin)
    assert bad.status_code == 422 and "pdq_threshold" in bad.json()["message"]
    listed = client.get("/v1/banks", headers=admin).json()["banks"]
    assert [b["name"] for b in listed] == ["partner"]
    assert client.get("/v1/banks/partner", headers=admin).json()["pdq_threshold"] == 20
    missing = client.get("/v1/banks/nope", headers=admin)
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert client.delete("/v1/banks/partner", headers=admin).json() == {"deleted": "partner"}
    assert client.delete("/v1/banks/partner", headers=admin).status_code == 404
    actions = [e.action for e in service.audit.entries()]
    assert "bank-create" in actions and "bank-delete" in actions


def test_a_bank_imported_through_the_api_is_found_by_lookups(
    client: TestClient, admin: dict[str, str], api: dict[str, str], service: Service
) -> None:
    values = [f"{n:032x}" for n in range(1, 201)]
    text = "# a test list\n" + "\n".join(values) + "\nnot-a-hash\n"
    answer = client.post(
        "/v1/banks/imported/import",
        files={"file": ("list.txt", text.encode())},
        data={"signal_type": "md5", "pdq_threshold": "25"},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["created"] is True and body["format"] == "text"
    assert (body["read"], body["added"], body["skipped"]) == (200, 200, 1)
    assert body["problems"] and "line 202" in body["problems"][0]
    assert eventually(lambda: bool(lookup(client, api, "md5", values[-1])))
    assert client.get("/v1/banks/imported", headers=admin).json()["pdq_threshold"] == 25
    twice = client.post(
        "/v1/banks/imported/import", files={"file": ("list.txt", text.encode())},
        data={"signal_type": "md5"}, headers=admin,
    ).json()  # fmt: skip
    assert (twice["created"], twice["added"], twice["already_in_bank"]) == (False, 0, 200)
    (entry,) = [e for e in service.audit.entries() if e.action == "bank-import"][:1]
    assert entry.target == "imported" and entry.actor == "admin-token"
    client.delete("/v1/banks/imported", headers=admin)
    assert eventually(lambda: not lookup(client, api, "md5", values[-1]))


def test_a_bank_written_by_another_process_is_found_without_a_restart(
    client: TestClient, api: dict[str, str], db_url: str
) -> None:
    value = "c0ffee" + "0" * 58
    assert lookup(client, api, "pdq", value) == []
    # as `needle bank import` would, while the service runs
    with Store(db_url) as elsewhere, elsewhere.bank_import("elsewhere") as batch:
        batch.add([BankEntry("pdq", value, ("other",))])
    assert eventually(lambda: bool(lookup(client, api, "pdq", value)))
    (match,) = lookup(client, api, "pdq", value)
    assert match["bank"] == "elsewhere" and match["labels"] == ["other"]


def test_import_errors_are_400_and_leave_no_bank(
    client: TestClient, admin: dict[str, str], service: Service
) -> None:
    unknown = client.post(
        "/v1/banks/b/import", files={"file": ("x.txt", b"00")}, data={"format": "nope"},
        headers=admin,
    )  # fmt: skip
    assert unknown.status_code == 400 and "unknown format" in unknown.json()["message"]
    empty = client.post(
        "/v1/banks/b/import", files={"file": ("x.txt", b"zzz\nyyy\n")},
        data={"signal_type": "md5"}, headers=admin,
    )  # fmt: skip
    assert empty.status_code == 400 and "nothing imported" in empty.json()["message"]
    threshold = client.post(
        "/v1/banks/b/import", files={"file": ("x.txt", b"00")},
        data={"pdq_threshold": "high"}, headers=admin,
    )  # fmt: skip
    assert threshold.status_code == 400
    assert not service.store.has_bank("b")
    big = client.post(
        "/v1/banks/b/import", files={"file": ("x.txt", b"0" * (IMPORT_LIMIT + 1))}, headers=admin
    )
    assert big.status_code == 413 and not service.store.has_bank("b")


def test_entries_are_checked_and_added(
    client: TestClient, admin: dict[str, str], api: dict[str, str]
) -> None:
    entries = [
        {"signal_type": "pdq", "value": "A" * 64, "labels": ["x"]},
        {"signal_type": "sha256", "value": "b" * 64},
    ]
    answer = client.post("/v1/banks/added/entries", json=entries, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "bank": "added", "created": True, "given": 2, "added": 2, "already_in_bank": 0
    }  # fmt: skip
    assert eventually(lambda: bool(lookup(client, api, "sha256", "b" * 64)))
    (hit,) = lookup(client, api, "pdq", "a" * 64)
    assert hit["labels"] == ["x"]
    bad = client.post(
        "/v1/banks/added/entries", json=[*entries, {"signal_type": "md5", "value": "zz"}],
        headers=admin,
    )  # fmt: skip
    assert bad.status_code == 400 and bad.json()["message"].startswith("entry 2:")
    assert client.post("/v1/banks/added/entries", json=[], headers=admin).status_code == 400
    assert client.post("/v1/banks/added/entries", json={"a": 1}, headers=admin).status_code == 422
    huge = [{"signal_type": "md5", "value": "0" * 32, "labels": ["l" * 150] * 40}] * 2000
    too_big = client.post("/v1/banks/added/entries", json=huge, headers=admin)
    assert too_big.status_code == 413 and too_big.json()["message"]


def test_bank_writes_by_cookie_need_the_csrf_token(
    client: TestClient, login: Callable[[TestClient, str], str]
) -> None:
    csrf = login(client, "admin")
    assert client.post("/v1/banks", json={"name": "c"}).status_code == 403
    made = client.post("/v1/banks", json={"name": "c"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert client.get("/v1/banks").status_code == 200


def test_the_openapi_description_lists_the_native_api(
    client: TestClient, api: dict[str, str]
) -> None:
    paths = client.get("/openapi.json", headers=api).json()["paths"]
    for path in ("/v1/status", "/v1/scan", "/v1/lookup", "/v1/banks/{name}/import", "/v1/jobs"):
        assert path in paths, path
    upload = paths["/v1/scan"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["required"] == ["file"]
    entries = paths["/v1/banks/{name}/entries"]["post"]["requestBody"]["content"]
    assert entries["application/json"]["schema"]["items"]["properties"]["signal_type"]


def test_an_oversized_upload_from_a_browser_is_413_before_its_csrf_field_is_read(
    client: TestClient, login: Callable[[TestClient, str], str]
) -> None:
    csrf = login(client, "analyst")
    answer = client.post(
        "/v1/scan", files={"file": ("a.bin", b"\0" * (MEDIA_LIMIT + 100_000))}, data={"csrf": csrf}
    )
    assert answer.status_code == 413 and "limit" in answer.json()["message"]
