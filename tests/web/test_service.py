"""The shared service: the bank index follows bank changes without a restart; url= fetching
is refused unless the operator allowed the host."""

from __future__ import annotations

import asyncio
import time

import pytest

from needle.banks.model import BankEntry
from needle.signals import Signal
from needle.store import Store
from needle.web.service import FetchRefused, Service

PDQ = "f" * 64


def _wait_for(condition, bound: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until true or ``bound`` seconds pass (a bound, not a timing check)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_index_follows_banks_changed_by_another_process(service: Service, db_url: str) -> None:
    assert service.index_status().entries == 0
    with Store(db_url) as other:  # a second connection: what `needle bank import` would do
        other.create_bank("DEMO")
        other.add_entries("DEMO", [BankEntry("pdq", PDQ)])
    assert _wait_for(lambda: service.index_status().entries == 1)
    hits = service.matcher().match({"pdq": Signal("pdq", PDQ[:-1] + "0", 100)})
    assert [(m.bank, m.distance) for m in hits] == [("DEMO", 4)]
    with Store(db_url) as other:
        other.delete_bank("DEMO")
    assert _wait_for(lambda: service.index_status().entries == 0)
    status = service.index_status().to_dict()
    assert status["banks"] == 0 and status["built_at"] and status["build_seconds"] >= 0


def test_banks_changed_rebuilds_soon(service: Service) -> None:
    service.store.create_bank("NOW")
    service.store.add_entries("NOW", [BankEntry("md5", "0" * 32)])
    service.banks_changed()
    assert _wait_for(lambda: service.index_status().entries == 1)


def test_urls_are_not_fetched_unless_allowed(service: Service) -> None:
    with pytest.raises(FetchRefused, match="--fetch-host"):
        asyncio.run(service.fetch("http://127.0.0.1:1/x.jpg"))


def test_only_allow_listed_hosts_are_fetched(web_settings) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    service = Service(replace(web_settings, fetch_hosts=("media.example",)))
    try:
        for url in ("http://other.example/x.jpg", "file:///etc/passwd", "ftp://media.example/x"):
            with pytest.raises(FetchRefused, match="not allowed"):
                asyncio.run(service.fetch(url))
    finally:
        service.store.close()


def test_examine_runs_in_a_worker_and_matches(service: Service) -> None:
    from conftest import image_bytes, synth_image

    data = image_bytes(synth_image(3))
    first = asyncio.run(service.examine(data, "upload.jpg"))
    assert first.file.error is None and "pdq" in first.file.signals
    service.store.create_bank("SEEN")
    service.store.add_entries("SEEN", [BankEntry("md5", first.file.signals["md5"].value)])
    service.rebuild_now()
    again = asyncio.run(service.examine(data, "upload.jpg"))
    assert [m.bank for m in again.matches] == ["SEEN"]
    assert again.assessment.priority.value != "none"
    broken = asyncio.run(service.examine(b"\xff\xd8not a jpeg", "broken.jpg"))
    assert broken.file.error_reason is not None
