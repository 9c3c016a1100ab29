"""The generation guard over HTTP (``/v1/guard/*``, ``/v1/stamp``, ``/v1/trace``): each step's
answer, the ledger entries it leaves, stamped outputs traced back, limits and refusals.

The app runs in-process with a ledger key made per test; images are synthesised
(``conftest.synth_image``); the blocked prompt is a short clinical phrase.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import image_bytes, synth_image
from needle.banks.model import BankEntry
from needle.genguard import Ledger, generate_key, load_verifier
from needle.genguard.keys import KEY_FILE_ENV
from needle.media import DEFAULT_LIMITS
from needle.web.app import create_app
from needle.web.service import Service
from needle.web.settings import ServeSettings

pytest.importorskip("cv2", reason="stamping needs the provenance extra (OpenCV)")
pytest.importorskip("reedsolo", reason="stamping needs the genguard extra (reedsolo)")

MEDIA_LIMIT = 2 * 1024 * 1024
BLOCKED_PROMPT = "nude child"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.key"
    generate_key(path)
    return path


@pytest.fixture
def sets_root(tmp_path: Path) -> Path:
    root = tmp_path / "training-sets"
    root.mkdir()
    return root


@pytest.fixture
def web_settings(db_url: str, key_file: Path, sets_root: Path) -> ServeSettings:
    return ServeSettings(
        db_url=db_url,
        workers=1,
        warm_workers=False,
        index_refresh_seconds=0.2,
        limits=replace(DEFAULT_LIMITS, max_file_bytes=MEDIA_LIMIT),
        ledger_key_file=str(key_file),
        scan_roots=(str(sets_root.resolve()),),
    )


@pytest.fixture
def api(token_for: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('api')}"}


def png(seed: int, size: tuple[int, int] = (512, 512)) -> bytes:
    return image_bytes(synth_image(seed, size), "PNG")


def output_png(seed: int = 3) -> bytes:
    """A generated-looking output the watermark reads back from: the synthetic picture moved
    40 % toward grey. Its saturated rectangles, at 0 or 255, clip the mark's changes (about
    half of the random payloads then fail to read back); this one read 150 of 150."""
    image = synth_image(seed, (512, 512))
    soft = Image.blend(image, Image.new("RGB", image.size, (128, 128, 128)), 0.4)
    return image_bytes(soft, "PNG")


def bank_of(service: Service, name: str, data: bytes) -> None:
    """A bank holding the SHA-256 of ``data``, in the service's index."""
    service.store.create_bank(name)
    service.store.add_entries(name, [BankEntry("sha256", hashlib.sha256(data).hexdigest())])
    service.rebuild_now()


def entries(service: Service) -> list:  # type: ignore[type-arg]
    return list(Ledger(service.store.engine).entries())


def test_a_blocked_prompt_says_do_not_generate_and_is_recorded(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    body = {"account": "acct-1", "prompt": BLOCKED_PROMPT, "detail": {"model": "test-model"}}
    answer = client.post("/v1/guard/prompt", json=body, headers=api)
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["proceed"] is False and decision["decision"] == "block"
    assert decision["kind"] == "prompt" and decision["account"] == "acct-1"
    assert "text guard block" in decision["reasons"][0] and decision["request_id"]
    (entry,) = entries(service)
    assert entry.seq == decision["ledger_seq"] and entry.record.decision == "block"
    assert entry.record.request_id == decision["request_id"]
    assert entry.record.detail["model"] == "test-model"
    assert entry.record.prompt is None  # the default policy keeps the digest only
    assert entry.record.prompt_sha256 == hashlib.sha256(BLOCKED_PROMPT.encode()).hexdigest()

    allowed = client.post(
        "/v1/guard/prompt",
        json={"account": "acct-1", "prompt": "a lighthouse at dusk", "request_id": "req-7"},
        headers=api,
    ).json()
    assert allowed["proceed"] is True and allowed["request_id"] == "req-7"


def test_three_blocked_prompts_flag_the_account(client: TestClient, api: dict[str, str]) -> None:
    flags = [
        client.post(
            "/v1/guard/prompt", json={"account": "acct-2", "prompt": BLOCKED_PROMPT}, headers=api
        ).json()["account_flagged"]
        for _ in range(3)
    ]
    assert flags == [False, False, True]
    client.post(
        "/v1/guard/prompt", json={"account": "acct-3", "prompt": BLOCKED_PROMPT}, headers=api
    )
    listed = client.get("/v1/guard/accounts", headers=api).json()
    assert listed["at_least"] == 3 and listed["hours"] == 24
    assert [(a["account"], a["blocked"]) for a in listed["accounts"]] == [("acct-2", 3)]
    every = client.get("/v1/guard/accounts", params={"at_least": 1}, headers=api).json()
    assert [a["account"] for a in every["accounts"]] == ["acct-2", "acct-3"]


def test_the_review_ui_shows_flagged_accounts(
    client: TestClient, api: dict[str, str], login: Callable[[TestClient, str], str]
) -> None:
    login(client, "reviewer")
    assert "No account is flagged" in client.get("/generation/accounts").text
    for _ in range(3):
        client.post(
            "/v1/guard/prompt", json={"account": "acct-9", "prompt": BLOCKED_PROMPT}, headers=api
        )
    page = client.get("/generation/accounts")
    assert page.status_code == 200 and "acct-9" in page.text
    assert "No account is flagged" not in page.text
    assert 'href="/generation/accounts"' in client.get("/queue").text


def test_an_uploaded_input_in_a_bank_is_blocked(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    known = png(7, (320, 240))
    bank_of(service, "known", known)
    files = [
        ("image", ("a.png", png(8, (320, 240)), "image/png")),
        ("image", ("b.png", known, "image/png")),
    ]
    answer = client.post(
        "/v1/guard/input",
        files=files,
        data={"account": "acct-4", "request_id": "req-4"},
        headers=api,
    )
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["proceed"] is False and decision["decision"] == "block"
    first, second = decision["images"]
    assert first["decision"] == "allow" and second["priority"] == "critical"
    assert second["matches"][0]["bank"] == "known"
    assert all(reason.startswith("input 2:") for reason in decision["reasons"])
    assert entries(service)[-1].record.kind == "input"
    benign = client.post(
        "/v1/guard/input",
        files=[("image", ("a.png", png(9, (320, 240)), "image/png"))],
        data={"account": "acct-4"},
        headers=api,
    ).json()
    assert benign["proceed"] is True


def test_an_allowed_output_comes_back_stamped_and_traces_to_its_entry(
    client: TestClient, api: dict[str, str], service: Service, key_file: Path
) -> None:
    form = {"account": "acct-5", "request_id": "req-5", "prompt": "a lighthouse at dusk"}
    files = {"image": ("out.png", output_png(), "image/png")}
    answer = client.post("/v1/guard/output", files=files, data=form, headers=api)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-needle-decision"] == "allow"
    stamped = answer.content
    assert answer.headers["x-needle-sha256"] == hashlib.sha256(stamped).hexdigest()
    payload = answer.headers["x-needle-payload"]
    assert len(payload) == 12 and int(payload, 16) >= 0
    with Image.open(io.BytesIO(stamped)) as image:
        assert image.format == "PNG" and image.size == (512, 512)
    seq = int(answer.headers["x-needle-ledger-seq"])
    recorded = entries(service)[-1]
    assert recorded.seq == seq and recorded.record.payload == int(payload, 16)

    traced = client.post(
        "/v1/trace", files={"image": ("found.png", stamped, "image/png")}, headers=api
    )
    assert traced.status_code == 200, traced.text
    (hit,) = traced.json()["hits"]
    assert hit["seq"] == seq and hit["account"] == "acct-5" and hit["request_id"] == "req-5"
    assert hit["methods"][:2] == ["sha256", "watermark"]
    assert hit["prompt"] is None  # the policy keeps no prompts: none is shown
    # a re-encoded copy: another file, the same mark
    copy = image_bytes(Image.open(io.BytesIO(stamped)).convert("RGB"), "JPEG", quality=90)
    again = client.post("/v1/trace", files={"image": ("copy.jpg", copy, "image/jpeg")}, headers=api)
    (hit,) = again.json()["hits"]
    assert hit["seq"] == seq and "watermark" in hit["methods"] and "sha256" not in hit["methods"]
    audit = [e.action for e in service.audit.entries()]
    assert audit.count("genguard-trace") == 2
    public = load_verifier(key_file.with_name(key_file.name + ".pub"))
    assert Ledger(service.store.engine).verify(public).intact


def test_a_withheld_output_is_json_and_never_stamped(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    flagged = png(12)
    bank_of(service, "known", flagged)
    files = {"image": ("out.png", flagged, "image/png")}
    answer = client.post("/v1/guard/output", files=files, data={"account": "acct-6"}, headers=api)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    decision = answer.json()
    assert decision["proceed"] is False and decision["decision"] == "block"
    record = entries(service)[-1].record
    assert (record.kind, record.decision, record.payload) == ("output", "block", None)
    # stamp=false: the decision only, nothing stamped nor recorded for an allowed output
    before = len(entries(service))
    plain = client.post(
        "/v1/guard/output",
        files={"image": ("out.png", png(13), "image/png")},
        data={"account": "acct-6", "stamp": "false"},
        headers=api,
    )
    assert plain.json()["proceed"] is True and len(entries(service)) == before


def test_stamp_alone_records_without_checking(
    client: TestClient, api: dict[str, str], service: Service
) -> None:
    files = {"image": ("out.png", png(14), "image/png")}
    form = {"account": "acct-7", "format": "jpeg"}
    answer = client.post("/v1/stamp", files=files, data=form, headers=api)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["x-needle-decision"] == "unchecked"
    (entry,) = entries(service)
    assert entry.record.output_sha256 == answer.headers["x-needle-sha256"]


def test_who_may_call_and_what_is_refused(
    client: TestClient, api: dict[str, str], token_for: Callable[[str], str]
) -> None:
    body = {"account": "a", "prompt": "a cat"}
    assert client.post("/v1/guard/prompt", json=body).status_code == 401
    analyst = {"Authorization": f"Bearer {token_for('analyst')}"}
    refused = client.post("/v1/guard/prompt", json=body, headers=analyst)
    assert refused.status_code == 403 and "genguard" in refused.json()["message"]
    big = {"image": ("big.png", b"\0" * (MEDIA_LIMIT + 100_000), "image/png")}
    over = client.post("/v1/guard/output", files=big, data={"account": "a"}, headers=api)
    assert over.status_code == 413 and "limit" in over.json()["message"]
    unnamed = client.post(
        "/v1/guard/output", files={"image": ("a.png", png(1), "image/png")}, headers=api
    )
    assert unnamed.status_code == 400 and "account" in unnamed.json()["message"]


def test_training_sets_only_inside_the_allowed_folders(
    client: TestClient, api: dict[str, str], service: Service, sets_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    refused = client.post(
        "/v1/guard/training-set", json={"path": str(outside), "account": "t"}, headers=api
    )
    assert refused.status_code == 403 and "outside the folders" in refused.json()["message"]
    folder = sets_root / "lora-1"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(png(20 + i, (64, 64)))
    bank_of(service, "known", (folder / "1.png").read_bytes())
    answer = client.post(
        "/v1/guard/training-set", json={"path": str(folder), "account": "t"}, headers=api
    )
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["proceed"] is False and decision["training_set"]["files"] == 3
    (finding,) = decision["training_set"]["findings"]
    assert finding["path"].endswith("1.png") and finding["banks"] == ["known"]
    assert entries(service)[-1].record.kind == "training-set"


def test_without_a_ledger_key_the_routes_say_how_to_start(
    web_settings: ServeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    settings = replace(web_settings, ledger_key_file=None)
    running = Service(settings)
    running.start()
    try:
        token = running.accounts.create_token("svc", "api")
        with TestClient(create_app(settings, service=running)) as client:
            answer = client.post(
                "/v1/guard/prompt",
                json={"account": "a", "prompt": "a cat"},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        running.stop()
    assert answer.status_code == 503 and "Retry-After" not in answer.headers
    assert "--key" in answer.json()["message"] and KEY_FILE_ENV in answer.json()["message"]


def test_the_sidecar_runs_the_configured_classifiers(web_settings: ServeSettings) -> None:
    """``--classifier`` names load once when the guard starts; an unknown one says so."""
    pytest.importorskip("onnxruntime", reason="needs the classify extra")
    pytest.importorskip("dlib", reason="needs the classify extra")
    wrong = replace(web_settings, genguard_classifiers=("no-such-model",))
    with TestClient(create_app(wrong)) as client:
        headers = bearer(client)
        answer = client.post(
            "/v1/guard/prompt", json={"account": "a", "prompt": "a cat"}, headers=headers
        )
        assert answer.status_code == 503 and "no-such-model" in answer.json()["message"]
    models = replace(web_settings, genguard_classifiers=("nudenet", "age"))
    with TestClient(create_app(models)) as client:
        headers = bearer(client)
        answer = client.post(
            "/v1/guard/output",
            files={"image": ("out.png", output_png(), "image/png")},
            data={"account": "a", "request_id": "r-1", "stamp": "false"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        checked = answer.json()["images"][0]
        assert "nudenet 320n" in checked["classified_by"] and checked["decision"] == "allow"


def bearer(client: TestClient) -> dict[str, str]:
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    name = f"sidecar-{len(service.accounts.tokens())}"
    return {"Authorization": f"Bearer {service.accounts.create_token(name, 'api')}"}
