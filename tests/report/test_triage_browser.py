"""The triage report in a real browser: Debian's Chromium, driven by Playwright, opens the
HTML file from disk with every network request blocked and counted (there must be none), and
the counts it shows match the store. A screenshot goes to ``test-artifacts/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT
from needle.report.triage import write_triage_report
from needle.store import Store
from report.triage_data import FILES, triage_job

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


@pytest.fixture
def sync_api():  # type: ignore[no-untyped-def]
    """Playwright's sync API, or a skip saying how to get the browser (before any set-up)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"the browser test needs Debian's Chromium at {CHROMIUM}: `make test` installs it "
            "(apt-get install chromium, when run as root)"
        )
    return pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")


def test_the_report_opens_offline_and_shows_the_stores_counts(  # type: ignore[no-untyped-def]
    sync_api, tmp_path: Path
) -> None:
    with Store(f"sqlite:///{tmp_path / 'needle.db'}") as store:
        job_id, _ = triage_job(store, tmp_path / "evidence")
        report = write_triage_report(
            store, tmp_path / "out", job=job_id, with_thumbnails=True, thumbnails=4
        )
        expected = store.summary(job_id)
    page_url = Path(report.html).resolve().as_uri()
    control_url = (tmp_path / "control.html").resolve().as_uri()
    requests: list[str] = []

    def block(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url in (page_url, control_url):
            route.continue_()
            return
        requests.append(route.request.url)
        route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1600})
            context.route("**/*", block)
            page = context.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(page_url)
            page.wait_for_load_state("load")

            def count(element_id: str) -> int:
                return int(page.inner_text(f"#{element_id}"))

            assert count("count-files") == expected.files == len(FILES)
            assert count("count-known") == expected.matched_files
            assert count("count-new") == expected.files - expected.matched_files
            assert count("count-errors") == expected.errors
            for priority, n in expected.priorities.items():
                assert count(f"count-priority-{priority}") == n
            for bank, n in expected.matches_by_bank.items():
                assert count(f"count-bank-{bank}") == n
            for reason, n in expected.errors_by_reason.items():
                assert count(f"count-error-{reason}") == n
            assert page.locator("svg rect").count() > 0
            images = page.locator("img.thumb")
            assert images.count() == 4
            # each thumbnail decoded (a data: URI, nothing fetched)
            assert all(
                images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
                for i in range(4)
            )
            page.screenshot(path=str(ARTIFACTS / "triage-report.png"), full_page=True)
            assert requests == [], requests  # the report asked for nothing at all
            assert failed == []

            # the blocking counts what it blocks: a page that asks for something is caught
            control = tmp_path / "control.html"
            control.write_text(
                '<img src="http://127.0.0.1:9/x.png"><link rel=stylesheet href="y.css">'
            )
            page.goto(control.resolve().as_uri())
            page.wait_for_load_state("load")
            assert len(requests) == 2, requests
        finally:
            browser.close()
