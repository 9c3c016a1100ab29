"""The review UI and its JSON API over a service with injected flagged records.

The pictures are benign synthesised ones; what makes them "flagged" is the priority and
matches written with them (``tests/review/flagged.py``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import image_bytes, synth_image
from needle.banks.model import BankEntry
from needle.review import QueueFilter, queue_items, review_item, set_user_blur
from needle.web.service import Service
from review.flagged import file_ids, flagged, store_flagged

Login = Callable[[TestClient, str], str]


@pytest.fixture
def items(service: Service, tmp_path: Path) -> dict[str, int]:
    """A job over tmp/evidence: a critical, a high and an unflagged picture, plus a record
    whose path lies outside the job's folder (as a damaged or forged row could)."""
    root = tmp_path / "evidence"
    root.mkdir()
    secret = tmp_path / "outside.jpg"
    secret.write_bytes(image_bytes(synth_image(99)))
    records = []
    for name, seed, priority in (("a", 1, "critical"), ("b", 2, "high"), ("c", 3, "none")):
        data = image_bytes(synth_image(seed, (640, 480)))
        (root / f"{name}.jpg").write_bytes(data)
        records.append(flagged(f"{root}/{name}.jpg", priority, data=data, with_provenance=True))
    records.append(flagged(str(secret), "medium"))
    ids = file_ids(service.store, store_flagged(service.store, [str(root)], records))
    return {Path(path).stem: file_id for path, file_id in ids.items()}


@pytest.fixture
def api_client(app) -> TestClient:  # type: ignore[no-untyped-def]
    """A client for the review JSON API."""
    with TestClient(app) as client:
        yield client


def thumbnail_at(service: Service, file_id: int, strength: int) -> bytes:
    from needle.review import BlurSettings, media_bytes, thumbnail

    data = media_bytes(service.store, review_item(service.store, file_id), None)
    return thumbnail(data, BlurSettings(strength, True))


def _detail(data: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


_INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
]


def _no_inline_code(html: str) -> None:
    for pattern in _INLINE:
        assert not pattern.search(html), pattern.pattern


def test_the_queue_orders_by_priority_and_hides_media(
    client: TestClient, login: Login, items: dict[str, int]
) -> None:
    login(client, "reviewer")
    page = client.get("/queue")
    assert page.status_code == 200
    html = page.text
    _no_inline_code(html)
    order = [int(n) for n in re.findall(r'data-media="/item/(\d+)/media"', html)]
    assert order == [items["a"], items["b"], items["outside"]]  # critical, high, medium
    assert "blur-s24" in html and "colour" not in re.findall(r'class="review ([^"]*)"', html)[0]
    assert "/static/review.js" in html and "Keyboard shortcuts" in html
    only_high = client.get("/queue", params={"priority": "high"}).text
    assert re.findall(r'data-media="/item/(\d+)/media"', only_high) == [str(items["b"])]
    assert client.get("/queue", params={"priority": "urgent"}).status_code == 400
    assert client.get("/queue", params={"job": "x"}).status_code == 400


def test_a_reviewer_may_only_tighten_the_blur(
    client: TestClient, login: Login, items: dict[str, int], service: Service
) -> None:
    csrf = login(client, "reviewer")
    set_user_blur(service.store, "reviewer-user", 39, True)
    assert "blur-s40" in client.get("/queue").text  # rounded up, never down
    looser = client.post("/queue/blur", data={"strength_px": "8", "greyscale": "1", "csrf": csrf})
    assert looser.status_code == 400 and "only be stronger" in looser.text
    colour = client.post("/queue/blur", data={"strength_px": "48", "csrf": csrf})
    assert colour.status_code == 400 and "greyscale" in colour.text
    done = client.post(
        "/queue/blur",
        data={"strength_px": "48", "greyscale": "1", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "blur-s48" in client.get("/queue").text
    assert service.audit.entries(action="blur-setting")[-1].detail == {
        "strength_px": 48,
        "greyscale": True,
    }
    tight = client.get(f"/item/{items['a']}/thumb").content
    assert _detail(tight) < _detail(thumbnail_at(service, items["a"], 8))


def test_the_item_page_shows_reasons_and_evidence_and_is_audited(
    client: TestClient, login: Login, items: dict[str, int], service: Service
) -> None:
    login(client, "reviewer")
    page = client.get(f"/item/{items['a']}")
    assert page.status_code == 200
    html = page.text
    _no_inline_code(html)
    assert html.index("Why it is here") < html.index("Evidence")
    assert "known material: md5 matches bank test-bank" in html
    assert "test-bank" in html and "test-detector" in html
    assert "metadata names test-generator" in html  # provenance evidence
    for label in ("abuse – real", "abuse – AI-generated", "not abuse", "escalate"):
        assert label in html
    assert "needs second review" in html
    assert f'data-next="/item/{items["b"]}' in html
    views = service.audit.entries(action="view")
    assert [(v.actor, v.target) for v in views] == [("reviewer-user", f"file:{items['a']}")]
    assert client.get("/item/999999").status_code == 404


def test_thumbnails_are_small_grey_and_blurred(
    client: TestClient, login: Login, items: dict[str, int], tmp_path: Path
) -> None:
    login(client, "reviewer")
    answer = client.get(f"/item/{items['a']}/thumb")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store"
    thumb = Image.open(io.BytesIO(answer.content))
    assert max(thumb.size) <= 256 and thumb.mode == "L"
    original = Image.open(tmp_path / "evidence" / "a.jpg").convert("L").resize(thumb.size)
    assert _detail(answer.content) < _detail(image_bytes(original)) / 4
    pixels = np.asarray(thumb, dtype=np.float32)
    assert pixels.var() < np.asarray(original, dtype=np.float32).var()


def test_media_is_unblurred_only_on_reveal_never_cached_and_audited(
    client: TestClient, login: Login, items: dict[str, int], service: Service
) -> None:
    login(client, "reviewer")
    assert service.audit.entries(action="reveal") == []
    answer = client.get(f"/item/{items['b']}/media")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "image/jpeg"
    shown = Image.open(io.BytesIO(answer.content))
    assert shown.size == (640, 480) and shown.mode == "RGB"
    reveals = service.audit.entries(action="reveal")
    assert [(r.target, r.detail.get("shown")) for r in reveals] == [(f"file:{items['b']}", True)]
    assert reveals[0].ip


def test_a_reviewer_cannot_read_a_file_outside_the_job_roots(
    client: TestClient, login: Login, items: dict[str, int], service: Service, tmp_path: Path
) -> None:
    login(client, "reviewer")
    secret = (tmp_path / "outside.jpg").read_bytes()
    for route in ("media", "thumb"):
        answer = client.get(f"/item/{items['outside']}/{route}")
        assert answer.status_code == 422
        assert "outside the folders" in answer.text
        assert secret[:64] not in answer.content
    refused = service.audit.entries(action="reveal")
    assert refused[-1].detail.get("shown") is False


def test_decisions_are_recorded_audited_and_lead_to_the_next_item(
    client: TestClient, login: Login, items: dict[str, int], service: Service
) -> None:
    csrf = login(client, "reviewer")
    form = {"decision": "abuse-ai", "note": "generated, per metadata", "csrf": csrf}
    answer = client.post(f"/item/{items['a']}/decision", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/item/{items['b']}")
    current = review_item(service.store, items["a"]).decision
    assert current is not None and current.decision == "abuse-ai"
    assert current.user == "reviewer-user" and current.note == "generated, per metadata"
    audited = service.audit.entries(action="decision")
    assert [(a.target, a.detail["decision"]) for a in audited] == [
        (f"file:{items['a']}", "abuse-ai")
    ]
    # the open queue no longer shows it
    assert items["a"] not in {
        i.file_id for i in queue_items(service.store, QueueFilter(decision="open"))
    }
    no_csrf = client.post(f"/item/{items['b']}/decision", data={"decision": "not-abuse"})
    assert no_csrf.status_code == 403
    wrong = client.post(f"/item/{items['b']}/decision", data={"decision": "maybe", "csrf": csrf})
    assert wrong.status_code == 400
    last = client.post(
        f"/item/{items['outside']}/decision",
        data={"decision": "second-review", "csrf": csrf},
        follow_redirects=False,
    )
    assert last.headers["location"] == "/queue"
    page = client.get(f"/item/{items['a']}").text
    assert "abuse – AI-generated" in page and "generated, per metadata" in page


def test_cases(client: TestClient, login: Login, items: dict[str, int], service: Service) -> None:
    csrf = login(client, "reviewer")
    for name in ("b", "a"):
        answer = client.post(
            f"/item/{items[name]}/case",
            data={"name": "account 42/x", "csrf": csrf},
            follow_redirects=False,
        )
        assert answer.status_code == 303
    listing = client.get("/cases").text
    assert "account 42/x" in listing
    case = client.get("/cases/account 42/x")
    assert case.status_code == 200
    assert re.findall(r'data-media="/item/(\d+)/media"', case.text) == [
        str(items["a"]),
        str(items["b"]),
    ]
    assert "account 42/x" in client.get(f"/item/{items['a']}").text
    client.post(
        f"/item/{items['a']}/case",
        data={"name": "account 42/x", "action": "remove", "csrf": csrf},
    )
    assert review_item(service.store, items["a"]).cases == ()
    assert [e.action for e in service.audit.entries() if e.action.startswith("case")] == [
        "case-add",
        "case-add",
        "case-remove",
    ]
    assert client.get("/cases/nothing-here").status_code == 404


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("analyst", "/queue", 403),
        ("admin", "/item/1/media", 403),
        ("analyst", "/item/1/thumb", 403),
        ("reviewer", "/jobs", 403),
        ("reviewer", "/banks", 403),
        ("api", "/queue", 403),
    ],
)
def test_only_the_right_role_gets_in(
    client: TestClient, login: Login, items: dict[str, int], role: str, path: str, status: int
) -> None:
    login(client, role)
    assert client.get(path, follow_redirects=False).status_code == status


def test_nobody_signed_in_is_sent_to_sign_in(client: TestClient, items: dict[str, int]) -> None:
    for path in ("/queue", f"/item/{items['a']}", f"/item/{items['a']}/media", "/jobs", "/banks"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_job_and_bank_pages(
    client: TestClient, login: Login, items: dict[str, int], service: Service
) -> None:
    service.store.create_bank("test-bank", description="benign test hashes")
    service.store.add_entries("test-bank", [BankEntry("md5", "0" * 32, ("test",))])
    login(client, "analyst")
    job_id = review_item(service.store, items["a"]).job_id
    jobs = client.get("/jobs")
    assert jobs.status_code == 200 and f"/jobs/{job_id}" in jobs.text
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    _no_inline_code(page.text)
    assert f'data-poll="/v1/jobs/{job_id}"' in page.text
    assert re.search(r'data-field="files">4<', page.text)
    assert re.search(r'data-field="priorities.critical">1<', page.text)
    assert "Review this job" not in page.text  # analysts do not review
    assert client.get("/jobs/99999").status_code == 404
    banks = client.get("/banks")
    assert banks.status_code == 200 and "/banks/test-bank" in banks.text
    bank = client.get("/banks/test-bank")
    assert bank.status_code == 200 and "0" * 32 in bank.text
    assert re.search(r"files matched</dt><dd>1<", bank.text)
    assert client.get("/banks/none-such").status_code == 404


def test_the_json_review_api(
    api_client: TestClient,
    login: Login,
    token_for: Callable[[str], str],
    items: dict[str, int],
    service: Service,
) -> None:
    csrf = login(api_client, "reviewer")
    listed = api_client.get("/v1/review/items", params={"decision": "all"}).json()
    assert [i["id"] for i in listed["items"]] == [items["a"], items["b"], items["outside"]]
    assert listed["total"] == 3 and listed["items"][0]["priority"] == "critical"
    one = api_client.get(f"/v1/review/items/{items['a']}").json()
    assert one["record"]["matches"][0]["bank"] == "test-bank"
    assert "embedded_prompt" not in str(one) and "prompt" not in one["record"]
    assert api_client.get("/v1/review/items/999999").status_code == 404
    refused = api_client.post(
        f"/v1/review/items/{items['a']}/decision", json={"decision": "escalate"}
    )
    assert refused.status_code == 403  # a browser session needs the CSRF header
    made = api_client.post(
        f"/v1/review/items/{items['a']}/decision",
        json={"decision": "escalate", "note": "senior please"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 200 and made.json()["decision"]["label"] == "escalate"
    bad = api_client.post(
        f"/v1/review/items/{items['a']}/decision",
        json={"decision": "unsure"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 400 and "unknown decision" in bad.json()["message"]
    token = token_for("reviewer")
    api_client.cookies.clear()
    by_token = api_client.post(
        f"/v1/review/items/{items['b']}/decision",
        json={"decision": "not-abuse"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert by_token.status_code == 200
    actions = [(e.action, e.detail.get("via")) for e in service.audit.entries()]
    assert ("view", "api") in actions and actions.count(("decision", "api")) == 2
    analyst = token_for("analyst")
    assert api_client.get("/v1/review/items", headers={"X-API-Key": analyst}).status_code == 403
