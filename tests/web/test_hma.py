"""HMA 2.0 compatibility: the /h, /m and /c routes driven with HMA's request shapes.

Requests are made as HMA's clients make them (query parameters, JSON bodies, multipart files
under the field ``photo`` or ``video``) and the answers checked for HMA's status codes and JSON
shapes: keys and the types of their values. Media is synthesised and benign.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import image_bytes, synth_image

HEX = set("0123456789abcdef")
PHOTO_TYPES = {"pdq", "md5", "sha1", "sha256"}
VIDEO_TYPES = {"video_md5", "sha1", "sha256"}
ALL_TYPES = {"pdq", "video_md5", "md5", "sha1", "sha256"}
#: the start of an MP4 file (an ftyp box): bytes HMA's clients would send as a video
FAKE_VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 8


def _photo(seed: int = 1) -> bytes:
    return image_bytes(synth_image(seed), "PNG")


def _flip_bits(pdq: str, n: int) -> str:
    value = int(pdq, 16)
    for bit in range(n):
        value ^= 1 << (bit * 7)
    return f"{value:064x}"


def _is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= HEX


def _message(response: Any) -> str:
    body = response.json()
    assert set(body) >= {"message"}, body
    assert isinstance(body["message"], str)
    return str(body["message"])


@pytest.fixture
def api(client: TestClient, token_for: Callable[[str], str]) -> TestClient:
    """The test client, sending an api-role token as HMA's clients send theirs."""
    client.headers["Authorization"] = f"Bearer {token_for('api')}"
    return client


def _service(client: TestClient) -> Any:
    return client.app.state.service  # type: ignore[attr-defined]


def _rebuilt(client: TestClient) -> None:
    """The index rebuilds in the background after bank writes; a test waits for it here."""
    _service(client).rebuild_now()


def _make_bank(api: TestClient, name: str = "TEST_BANK", **body: object) -> None:
    response = api.post("/c/banks", json={"name": name, **body})
    assert response.status_code == 201, response.text


def _add_photo(api: TestClient, bank: str, data: bytes) -> dict[str, Any]:
    response = api.post(f"/c/bank/{bank}/content", files={"photo": ("p.png", data, "image/png")})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- hashing -----------------------------------------------------------------------------------


def test_hash_post_photo_gives_a_signal_per_type(api: TestClient) -> None:
    data = _photo()
    response = api.post("/h/hash", files={"photo": ("a.png", data, "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PHOTO_TYPES
    assert _is_hex(body["pdq"], 64)
    assert body["md5"] == hashlib.md5(data).hexdigest()
    assert body["sha1"] == hashlib.sha1(data).hexdigest()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()


def test_hash_post_video_names_its_md5_video_md5(api: TestClient) -> None:
    response = api.post("/h/hash", files={"video": ("v.mp4", FAKE_VIDEO, "video/mp4")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == VIDEO_TYPES
    assert body["video_md5"] == hashlib.md5(FAKE_VIDEO).hexdigest()


def test_hash_types_narrows_and_refuses_unknown_types(api: TestClient) -> None:
    files = {"photo": ("a.png", _photo(), "image/png")}
    response = api.post("/h/hash?types=pdq", files=files)
    assert response.status_code == 200
    assert set(response.json()) == {"pdq"}
    response = api.post("/h/hash?types=vpdq", files=files)
    assert response.status_code == 400
    assert _message(response) == "signal type 'vpdq' doesn't exist or is disabled"
    response = api.post("/h/hash?types=,", files=files)
    assert response.status_code == 400
    assert _message(response) == "empty signal type selection"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "Missing multipart/form-data file upload"),
        (
            [("photo", ("a.png", b"1", "image/png")), ("photo", ("b.png", b"2", "image/png"))],
            "Only one file allowed per request",
        ),
        ({"audio": ("a.wav", b"RIFF", "audio/wav")}, "no such content_type: 'audio'"),
    ],
    ids=["no-file", "two-files", "unknown-field"],
)
def test_hash_post_refuses_what_hma_refuses(api: TestClient, files: Any, message: str) -> None:
    response = api.post("/h/hash", files=files) if files else api.post("/h/hash")
    assert response.status_code == 400
    assert _message(response) == message


def test_hash_post_undecodable_photo_is_400(api: TestClient) -> None:
    response = api.post("/h/hash", files={"photo": ("a.png", b"not an image", "image/png")})
    assert response.status_code == 400
    assert "pdq" in _message(response)


def test_hash_get_needs_url_and_an_allow_listed_host(api: TestClient) -> None:
    response = api.get("/h/hash")
    assert response.status_code == 400
    assert _message(response) == "url is required"
    response = api.get("/h/hash", params={"url": "https://media.example.org/a.png"})
    assert response.status_code == 403
    assert "--fetch-host" in _message(response)


def test_hash_get_hashes_fetched_media(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _photo(3)
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return FAKE_VIDEO if url.endswith(".mp4") else data

    monkeypatch.setattr(_service(api), "fetch", fetch)
    response = api.get("/h/hash", params={"url": "https://media.example.org/a.png"})
    assert response.status_code == 200
    assert set(response.json()) == PHOTO_TYPES
    response = api.get("/h/hash", params={"url": "https://media.example.org/v.mp4"})
    assert response.status_code == 200
    assert set(response.json()) == VIDEO_TYPES
    response = api.get(
        "/h/hash",
        params={"url": "https://media.example.org/x", "content_type": "photo", "types": "pdq"},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"pdq"}
    response = api.get(
        "/h/hash", params={"url": "https://media.example.org/x", "content_type": "text"}
    )
    assert response.status_code == 400
    assert _message(response) == "no such content_type: 'text'"
    assert len(fetched) == 3


# -- curation: banks ---------------------------------------------------------------------------


def test_bank_create_list_show(api: TestClient) -> None:
    response = api.post("/c/banks", json={"name": "TEST_BANK"})
    assert response.status_code == 201
    assert response.json() == {"name": "TEST_BANK", "matching_enabled_ratio": 1.0}
    response = api.post("/c/banks", json={"name": "HALF_BANK", "enabled_ratio": 0.5})
    assert response.json() == {"name": "HALF_BANK", "matching_enabled_ratio": 0.5}
    response = api.post("/c/banks", json={"name": "OFF_BANK", "enabled": False})
    assert response.json() == {"name": "OFF_BANK", "matching_enabled_ratio": 0.0}
    response = api.get("/c/banks")
    assert response.status_code == 200
    banks = response.json()
    assert isinstance(banks, list)
    assert {b["name"]: b["matching_enabled_ratio"] for b in banks} == {
        "TEST_BANK": 1.0,
        "HALF_BANK": 0.5,
        "OFF_BANK": 0.0,
    }
    for bank in banks:
        assert set(bank) == {"name", "matching_enabled_ratio"}
        assert isinstance(bank["matching_enabled_ratio"], float)
    response = api.get("/c/bank/HALF_BANK")
    assert response.status_code == 200
    assert response.json() == {"name": "HALF_BANK", "matching_enabled_ratio": 0.5}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "lower_case"}, 400, "Bank names must be UPPER_WITH_UNDERSCORE"),
        ({"name": "9STARTS_WITH_DIGIT"}, 400, "Bank names must be UPPER_WITH_UNDERSCORE"),
        ({"name": "HAS-DASH"}, 400, "Bank names must be UPPER_WITH_UNDERSCORE"),
        ({"enabled": True}, 400, "name is required"),
        ({"name": "RATIO", "enabled_ratio": "lots"}, 400, "Invalid float: 'lots'"),
        ({"name": "TAKEN"}, 403, "Bank already exists"),
    ],
    ids=["lower", "digit", "dash", "no-name", "bad-ratio", "exists"],
)
def test_bank_create_refusals(
    api: TestClient, body: dict[str, object], status: int, message: str
) -> None:
    _make_bank(api, "TAKEN")
    response = api.post("/c/banks", json=body)
    assert response.status_code == status
    assert _message(response) == message


def test_bank_unknown_is_404(api: TestClient) -> None:
    response = api.get("/c/bank/NO_SUCH_BANK")
    assert response.status_code == 404
    assert _message(response) == "bank 'NO_SUCH_BANK' not found"
    response = api.put("/c/bank/NO_SUCH_BANK", json={"enabled": False})
    assert response.status_code == 404
    assert _message(response) == "Bank not found"


def test_bank_update_renames_and_sets_the_ratio(api: TestClient) -> None:
    _make_bank(api, "OLD_NAME")
    _make_bank(api, "OTHER")
    response = api.put("/c/bank/OLD_NAME", json={"name": "NEW_NAME", "enabled_ratio": 0.25})
    assert response.status_code == 200
    assert response.json() == {"name": "NEW_NAME", "matching_enabled_ratio": 0.25}
    assert api.get("/c/bank/OLD_NAME").status_code == 404
    assert api.get("/c/bank/NEW_NAME").json()["matching_enabled_ratio"] == 0.25
    response = api.put("/c/bank/NEW_NAME", json={"enabled": True})
    assert response.json() == {"name": "NEW_NAME", "matching_enabled_ratio": 1.0}
    response = api.put("/c/bank/NEW_NAME", json={"name": "OTHER"})
    assert response.status_code == 403
    assert _message(response) == "Bank name already exists"
    response = api.put("/c/bank/NEW_NAME", json={"name": "bad name"})
    assert response.status_code == 400
    assert _message(response) == "Bank names must be UPPER_WITH_UNDERSCORE"


def test_bank_delete_answers_done_even_when_absent(api: TestClient) -> None:
    _make_bank(api, "DOOMED")
    response = api.delete("/c/bank/DOOMED")
    assert response.status_code == 200
    assert response.json() == {"message": "Done"}
    assert api.get("/c/bank/DOOMED").status_code == 404
    response = api.delete("/c/bank/DOOMED")
    assert response.status_code == 200
    assert response.json() == {"message": "Done"}


# -- curation: content -------------------------------------------------------------------------


def test_bank_add_content_and_get_it(api: TestClient) -> None:
    _make_bank(api)
    data = _photo(5)
    added = _add_photo(api, "TEST_BANK", data)
    assert set(added) == {"id", "signals"}
    assert isinstance(added["id"], int)
    assert set(added["signals"]) == PHOTO_TYPES
    assert added["signals"]["md5"] == hashlib.md5(data).hexdigest()
    response = api.get(f"/c/bank/TEST_BANK/content/{added['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": added["id"],
        "disable_until_ts": 1,
        "collab_metadata": {},
        "original_media_uri": None,
        "bank": {"name": "TEST_BANK", "matching_enabled_ratio": 1.0},
    }
    response = api.get(f"/c/bank/TEST_BANK/content/{added['id']}?include_signals=true")
    assert response.json()["signals"] == added["signals"]
    # the same photo again is the same content (a bank holds a hash once)
    assert _add_photo(api, "TEST_BANK", data)["id"] == added["id"]


def test_bank_content_not_found(api: TestClient) -> None:
    _make_bank(api)
    added = _add_photo(api, "TEST_BANK", _photo(6))
    for path, message in [
        ("/c/bank/TEST_BANK/content/999999", "content '999999' not found"),
        ("/c/bank/TEST_BANK/content/abc", "content 'abc' not found"),
        (f"/c/bank/NO_BANK/content/{added['id']}", "bank 'NO_BANK' not found"),
    ]:
        response = api.get(path)
        assert response.status_code == 404, path
        assert _message(response) == message
    _make_bank(api, "ANOTHER_BANK")
    assert api.get(f"/c/bank/ANOTHER_BANK/content/{added['id']}").status_code == 404


def test_bank_add_content_refusals(api: TestClient) -> None:
    _make_bank(api)
    response = api.post("/c/bank/TEST_BANK/content")
    assert response.status_code == 400
    assert _message(response) == "Neither `url` nor multipart file upload was received"
    response = api.post(
        "/c/bank/NO_BANK/content", files={"photo": ("p.png", _photo(), "image/png")}
    )
    assert response.status_code == 404
    assert _message(response) == "bank 'NO_BANK' not found"
    response = api.post(
        "/c/bank/TEST_BANK/content", params={"url": "https://media.example.org/a.png"}
    )
    assert response.status_code == 403
    assert "--fetch-host" in _message(response)


def test_bank_add_content_by_url_with_metadata(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_bank(api)
    data = _photo(7)

    async def fetch(url: str) -> bytes:
        return data

    monkeypatch.setattr(_service(api), "fetch", fetch)
    metadata = {"content_id": "case-1", "content_uri": "https://media.example.org/a.png"}
    response = api.post(
        "/c/bank/TEST_BANK/content",
        params={"url": "https://media.example.org/a.png"},
        json={"metadata": metadata},
    )
    assert response.status_code == 200
    added = response.json()
    assert set(added["signals"]) == PHOTO_TYPES
    body = api.get(f"/c/bank/TEST_BANK/content/{added['id']}").json()
    assert body["original_media_uri"] == metadata["content_uri"]
    response = api.post(
        "/c/bank/TEST_BANK/content",
        params={"url": "https://media.example.org/a.png"},
        json={"metadata": {"colour": "blue"}},
    )
    assert response.status_code == 400
    assert _message(response).startswith("Invalid metadata")


def test_bank_add_signal(api: TestClient) -> None:
    _make_bank(api)
    pdq = _flip_bits("f" * 64, 20)
    md5 = hashlib.md5(b"a benign video").hexdigest()
    response = api.post("/c/bank/TEST_BANK/signal", json={"pdq": pdq, "video_md5": md5.upper()})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "signals"}
    assert body["signals"] == {"pdq": pdq, "video_md5": md5}
    shown = api.get(f"/c/bank/TEST_BANK/content/{body['id']}?include_signals=true").json()
    assert shown["signals"] == {"pdq": pdq, "video_md5": md5}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tmk": "00"}, "No such signal type tmk"),
        ({"pdq": "xyz"}, "Invalid pdq signal: "),
        ({"video_md5": "0" * 31}, "Invalid video_md5 signal: "),
        ({}, "No signals given"),
        (["pdq"], "this endpoint expects a json object payload"),
    ],
    ids=["unknown-type", "bad-pdq", "bad-md5", "empty", "not-object"],
)
def test_bank_add_signal_refusals(api: TestClient, body: object, message: str) -> None:
    _make_bank(api)
    response = api.post("/c/bank/TEST_BANK/signal", json=body)
    assert response.status_code == 400
    assert _message(response).startswith(message)


def test_bank_add_signal_unknown_bank_is_404(api: TestClient) -> None:
    response = api.post("/c/bank/NO_BANK/signal", json={"pdq": "0" * 64})
    assert response.status_code == 404


def test_bank_delete_content(api: TestClient) -> None:
    _make_bank(api)
    added = _add_photo(api, "TEST_BANK", _photo(8))
    response = api.delete(f"/c/bank/TEST_BANK/content/{added['id']}")
    assert response.status_code == 200
    assert response.json() == {"deleted": len(PHOTO_TYPES)}
    assert api.get(f"/c/bank/TEST_BANK/content/{added['id']}").status_code == 404
    assert api.delete(f"/c/bank/TEST_BANK/content/{added['id']}").json() == {"deleted": 0}


# -- matching ----------------------------------------------------------------------------------


def test_raw_lookup(api: TestClient) -> None:
    _make_bank(api)
    added = _add_photo(api, "TEST_BANK", _photo(9))
    _rebuilt(api)
    pdq = added["signals"]["pdq"]
    response = api.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq})
    assert response.status_code == 200
    assert response.json() == {"matches": [added["id"]]}
    near = _flip_bits(pdq, 3)
    response = api.get(
        "/m/raw_lookup",
        params={"signal_type": "pdq", "signal": near, "include_distance": "true"},
    )
    assert response.json() == {"matches": [{"bank_content_id": added["id"], "distance": "3"}]}
    response = api.get(
        "/m/raw_lookup",
        params={"signal_type": "md5", "signal": added["signals"]["md5"], "banks": "OTHER"},
    )
    assert response.json() == {"matches": []}
    response = api.get(
        "/m/raw_lookup", params={"signal_type": "sha256", "signal": added["signals"]["sha256"]}
    )
    assert response.json() == {"matches": [added["id"]]}
    response = api.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": "0" * 64})
    assert response.json() == {"matches": []}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"signal_type": "pdq"}, "signal is required"),
        ({"signal": "0" * 64}, "signal_type is required"),
        ({"signal_type": "tmk", "signal": "00"}, "No such SignalType 'tmk'"),
        ({"signal_type": "pdq", "signal": "nothex"}, "invalid signal: "),
        (
            {"signal_type": "pdq", "signal": "0" * 64, "include_distance": "maybe"},
            "invalid boolean parameter - prefer true/false",
        ),
    ],
    ids=["no-signal", "no-type", "unknown-type", "bad-value", "bad-bool"],
)
def test_raw_lookup_refusals(api: TestClient, params: dict[str, str], message: str) -> None:
    response = api.get("/m/raw_lookup", params=params)
    assert response.status_code == 400
    assert _message(response).startswith(message)


def test_video_md5_is_needle_md5(api: TestClient) -> None:
    """A video_md5 added through HMA matches needle's md5, and the other way round."""
    _make_bank(api)
    md5 = hashlib.md5(FAKE_VIDEO).hexdigest()
    added = api.post("/c/bank/TEST_BANK/signal", json={"video_md5": md5}).json()
    _rebuilt(api)
    for kind in ("video_md5", "md5"):
        response = api.get("/m/raw_lookup", params={"signal_type": kind, "signal": md5})
        assert response.json() == {"matches": [added["id"]]}, kind
    response = api.post("/m/lookup", files={"video": ("v.mp4", FAKE_VIDEO, "video/mp4")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == VIDEO_TYPES
    assert body["video_md5"] == {"TEST_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}


def test_entries_imported_by_needle_are_contents_too(api: TestClient) -> None:
    from needle.banks.model import BankEntry

    service = _service(api)
    service.store.create_bank("imported-list")
    md5 = hashlib.md5(b"a listed file").hexdigest()
    service.store.add_entries("imported-list", [BankEntry("md5", md5, ("label",))])
    _rebuilt(api)
    response = api.get("/m/raw_lookup", params={"signal_type": "md5", "signal": md5})
    (content_id,) = response.json()["matches"]
    response = api.get(f"/c/bank/imported-list/content/{content_id}?include_signals=true")
    assert response.status_code == 200
    assert response.json()["signals"] == {"md5": md5}


def test_lookup_get_by_signal(api: TestClient) -> None:
    _make_bank(api)
    added = _add_photo(api, "TEST_BANK", _photo(10))
    _rebuilt(api)
    response = api.get(
        "/m/lookup", params={"signal_type": "pdq", "signal": _flip_bits(added["signals"]["pdq"], 2)}
    )
    assert response.status_code == 200
    assert response.json() == {"TEST_BANK": [{"bank_content_id": added["id"], "distance": "2"}]}
    response = api.get(
        "/m/lookup",
        params={"signal_type": "pdq", "signal": added["signals"]["pdq"], "banks": "ELSEWHERE"},
    )
    assert response.json() == {}
    response = api.get("/m/lookup", params={"signal_type": "pdq"})
    assert response.status_code == 400
    assert _message(response) == "Either url or both signal and signal_type are required"
    response = api.get("/m/lookup", params={"url": "https://media.example.org/a.png"})
    assert response.status_code == 403
    assert "--fetch-host" in _message(response)


def test_lookup_post_photo_by_type_then_bank(api: TestClient) -> None:
    _make_bank(api)
    _make_bank(api, "SECOND_BANK")
    data = _photo(11)
    first = _add_photo(api, "TEST_BANK", data)
    second = _add_photo(api, "SECOND_BANK", data)
    _rebuilt(api)
    response = api.post("/m/lookup", files={"photo": ("p.png", data, "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PHOTO_TYPES
    for kind in PHOTO_TYPES:
        assert body[kind] == {
            "TEST_BANK": [{"bank_content_id": first["id"], "distance": "0"}],
            "SECOND_BANK": [{"bank_content_id": second["id"], "distance": "0"}],
        }, kind
    response = api.post(
        "/m/lookup?banks=SECOND_BANK&types=pdq", files={"photo": ("p.png", data, "image/png")}
    )
    assert response.json() == {
        "pdq": {"SECOND_BANK": [{"bank_content_id": second["id"], "distance": "0"}]}
    }
    response = api.post("/m/lookup", files={"photo": ("p.png", _photo(12), "image/png")})
    assert all(matches == {} for matches in response.json().values())


def test_lookup_url_with_fetch_allowed(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    _make_bank(api)
    data = _photo(13)
    added = _add_photo(api, "TEST_BANK", data)
    _rebuilt(api)

    async def fetch(url: str) -> bytes:
        return data

    monkeypatch.setattr(_service(api), "fetch", fetch)
    response = api.get("/m/lookup", params={"url": "https://media.example.org/a.png"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PHOTO_TYPES
    assert body["pdq"] == {"TEST_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}
    response = api.get(
        "/m/lookup", params={"url": "https://media.example.org/a.png", "signal_type": "pdq"}
    )
    assert response.json() == {"TEST_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}


def test_lookup_leaves_out_disabled_banks_unless_bypassed(api: TestClient) -> None:
    _make_bank(api, "OFF_BANK", enabled_ratio=0.0)
    added = api.post("/c/bank/OFF_BANK/signal", json={"md5": "a" * 32}).json()
    _rebuilt(api)
    params = {"signal_type": "md5", "signal": "a" * 32, "seed": "content-1"}
    assert api.get("/m/lookup", params=params).json() == {}
    response = api.get("/m/lookup", params={**params, "bypass_coinflip": "true"})
    assert response.json() == {"OFF_BANK": [{"bank_content_id": added["id"], "distance": "0"}]}
    # raw_lookup does not look at the switch, as in HMA
    response = api.get("/m/raw_lookup", params={"signal_type": "md5", "signal": "a" * 32})
    assert response.json() == {"matches": [added["id"]]}


def test_index_status(api: TestClient) -> None:
    _make_bank(api)
    _add_photo(api, "TEST_BANK", _photo(14))
    _rebuilt(api)
    response = api.get("/m/index/status")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ALL_TYPES
    for status in body.values():
        assert set(status) == {"present", "built_to", "size"}
        assert status["present"] is True
        assert isinstance(status["built_to"], int) and status["built_to"] > 0
        assert isinstance(status["size"], int)
    assert body["pdq"]["size"] == 1
    assert body["md5"]["size"] == body["video_md5"]["size"] == 1
    response = api.get("/m/index/status", params={"signal_type": "pdq"})
    assert set(response.json()) == {"pdq"}
    response = api.get("/m/index/status", params={"signal_type": "tmk"})
    assert response.status_code == 400
    assert _message(response) == "No such signal type 'tmk'"


def test_compare(api: TestClient) -> None:
    pdq = _flip_bits("0" * 64, 0)
    response = api.post(
        "/m/compare",
        json={
            "pdq": [pdq, _flip_bits(pdq, 9)],
            "video_md5": ["a" * 32, "A" * 32],
            "sha1": ["a" * 40, "b" * 40],
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "pdq": [True, {"distance": 9}],
        "video_md5": [True, {}],
        "sha1": [False, {}],
    }
    far = api.post("/m/compare", json={"pdq": [pdq, _flip_bits(pdq, 36)]}).json()
    assert far == {"pdq": [False, {"distance": 36}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (["pdq"], "Request input was not a dict"),
        ({"pdq": "0" * 64}, "Comparison hashes for pdq was not a list"),
        ({"pdq": ["0" * 64]}, "Comparison hash list length must be exactly 2"),
        ({"tmk": ["00", "00"]}, "No such SignalType 'tmk'"),
        ({"pdq": ["0" * 64, "nothex"]}, "Invalid pdq hash: "),
    ],
    ids=["not-dict", "not-list", "one-hash", "unknown-type", "bad-hash"],
)
def test_compare_refusals(api: TestClient, body: object, message: str) -> None:
    response = api.post("/m/compare", json=body)
    assert response.status_code == 400
    assert _message(response).startswith(message)


# -- who may ask -------------------------------------------------------------------------------


def test_hma_needs_a_token_of_the_right_role(
    client: TestClient, token_for: Callable[[str], str]
) -> None:
    response = client.get("/c/banks")
    assert response.status_code == 401
    _message(response)
    for role, status in [("reviewer", 403), ("analyst", 403), ("admin", 200), ("api", 200)]:
        response = client.get("/c/banks", headers={"Authorization": f"Bearer {token_for(role)}"})
        assert response.status_code == status, role
    response = client.get("/m/index/status", headers={"X-API-Key": token_for("api")})
    assert response.status_code == 200


def test_bank_writes_are_audited(api: TestClient) -> None:
    _make_bank(api, "AUDITED")
    api.post("/c/bank/AUDITED/signal", json={"md5": "b" * 32})
    api.delete("/c/bank/AUDITED")
    actions = [e.action for e in _service(api).audit.entries()]
    assert {"hma.bank.create", "hma.bank.signal.add", "hma.bank.delete"} <= set(actions)


def test_a_signed_in_admin_needs_the_csrf_token_to_write(
    client: TestClient, login: Callable[[TestClient, str], str]
) -> None:
    csrf = login(client, "admin")
    assert client.get("/c/banks").status_code == 200
    response = client.post("/c/banks", json={"name": "BY_HAND"})
    assert response.status_code == 403
    response = client.post("/c/banks", json={"name": "BY_HAND"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
