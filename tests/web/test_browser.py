"""The review UI in a real browser: Debian's Chromium, driven by Playwright, against a real
``needle serve`` started here over a prepared SQLite database.

The pictures are benign synthesised ones; what makes them "flagged" is the priority and bank
match injected with their records. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, image_bytes, synth_image
from needle.access import Accounts
from needle.audit import AuditLog
from needle.store import Store
from review.flagged import file_ids, flagged, store_flagged

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Served:
    url: str
    db_url: str
    ids: dict[str, int]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120  # start-up wait, not an assertion about speed
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"needle serve exited ({server.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"needle serve did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "evidence"
    root.mkdir()
    records = []
    for name, seed, priority in (("first", 11, "critical"), ("second", 12, "high")):
        data = image_bytes(synth_image(seed, (480, 360)))
        (root / f"{name}.jpg").write_bytes(data)
        records.append(flagged(f"{root}/{name}.jpg", priority, data=data))
    db_url = f"sqlite:///{tmp_path / 'needle.db'}"
    with Store(db_url) as store:
        ids = {
            Path(p).stem: i
            for p, i in file_ids(store, store_flagged(store, [str(root)], records)).items()
        }
        Accounts(store.engine).add_user("rita", "reviewer", PASSWORD)
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "needle", "serve", "--port", str(port), "--db", db_url,
             "--workers", "1"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, log)
        yield Served(url, db_url, ids)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def sync_api():  # type: ignore[no-untyped-def]
    """Playwright's sync API, or a skip saying how to get the browser (before any set-up)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"the browser test needs Debian's Chromium at {CHROMIUM}: `make test` installs it "
            "(apt-get install chromium, when run as root)"
        )
    return pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")


def _filter(page, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).filter"))


def test_review_in_a_browser(sync_api, served: Served) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    csp_errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on(
                "console",
                lambda m: (
                    csp_errors.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            page.goto(f"{served.url}/login")
            page.fill("input[name=name]", "rita")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{served.url}/queue")

            # the queue: most urgent first, every picture blurred and grey by the style sheet
            first = "ol.queue li.card:first-child figure.media img"
            page.wait_for_function(
                "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0 }",
                arg=first,
            )
            assert page.locator("ol.queue li.card").count() == 2
            assert page.locator("ol.queue li.card .badge").first.inner_text().lower() == "critical"
            for index in range(2):
                style = _filter(page, f"ol.queue li.card:nth-child({index + 1}) figure.media img")
                assert "blur(" in style and "grayscale(1)" in style, style
            page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

            # the first item: press and hold to reveal, let go to blur again
            page.click("ol.queue li.card:first-child a.open")
            page.wait_for_url(f"{served.url}/item/{served.ids['first']}*")
            picture = ".picture figure.media"
            assert "blur(" in _filter(page, f"{picture} img")
            hold = page.locator(f"{picture} .reveal-hold")
            box = hold.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.wait_for_selector(f"{picture}.revealed", timeout=30_000)
            assert _filter(page, f"{picture} img") == "none"
            assert page.eval_on_selector(f"{picture} img", "el => el.src").startswith("blob:")
            page.screenshot(path=str(ARTIFACTS / "item-revealed.png"), full_page=True)
            page.mouse.up()
            page.wait_for_selector(f"{picture}:not(.revealed)")
            assert "blur(" in _filter(page, f"{picture} img")
            assert "/thumb" in page.eval_on_selector(f"{picture} img", "el => el.src")
            page.screenshot(path=str(ARTIFACTS / "item-blurred-again.png"), full_page=True)

            # the per-item toggle stays revealed until pressed again, or until the reviewer
            # switches away (here: the window loses focus)
            page.click(f"{picture} .reveal-toggle")
            page.wait_for_selector(f"{picture}.revealed", timeout=30_000)
            page.evaluate("window.dispatchEvent(new Event('blur'))")
            page.wait_for_selector(f"{picture}:not(.revealed)")
            assert "/thumb" in page.eval_on_selector(f"{picture} img", "el => el.src")

            # decide from the keyboard: 3 chooses "not abuse", Enter records it
            page.keyboard.press("3")
            assert page.is_checked(".decision-form input[value=not-abuse]")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{served.url}/item/{served.ids['second']}*")
            page.screenshot(path=str(ARTIFACTS / "next-item.png"), full_page=True)
        finally:
            browser.close()
    assert not csp_errors, csp_errors

    with Store(served.db_url) as store:
        log = AuditLog(store.engine)
        target = f"file:{served.ids['first']}"
        reveals = [e for e in log.entries(action="reveal") if e.target == target]
        assert len(reveals) == 2  # the hold and the toggle: one request each
        decisions = [e for e in log.entries(action="decision") if e.target == target]
        assert reveals and reveals[0].actor == "rita" and reveals[0].detail.get("shown") is True
        assert decisions and decisions[0].detail.get("decision") == "not-abuse"
        assert not log.verify()
