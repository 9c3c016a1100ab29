"""``needle genguard`` run in-process: flagged accounts, training-set checks and their exit
codes, and ``serve`` refusing to start without a ledger key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import image_bytes, run_cli, synth_image
from needle.banks.model import BankEntry
from needle.genguard import Ledger, Signer, generate_key
from needle.genguard.guard import GenerationGuard, GenerationRequest
from needle.genguard.keys import KEY_FILE_ENV
from needle.store import Store

BLOCKED_PROMPT = "nude child"


@pytest.fixture(autouse=True)
def no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def test_accounts_lists_an_account_after_three_blocked_prompts(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    with Store(db_url) as store:
        guard = GenerationGuard(ledger=Ledger(store.engine), signer=Signer.generate())
        for account, times in (("acct-1", 3), ("acct-2", 1)):
            for _ in range(times):
                guard.check_prompt(GenerationRequest.new(account, BLOCKED_PROMPT))
        guard.check_prompt(GenerationRequest.new("acct-3", "a lighthouse at dusk"))
    code, out, err = run_cli(capsys, "genguard", "accounts", "--db", db_url, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["at_least"] == 3 and answer["hours"] == 24
    assert [(a["account"], a["blocked"]) for a in answer["accounts"]] == [("acct-1", 3)]
    code, out, _ = run_cli(capsys, "genguard", "accounts", "--db", db_url, "--at-least", "1")
    assert code == 0 and "acct-1" in out and "acct-2" in out and "acct-3" not in out
    code, out, _ = run_cli(capsys, "genguard", "accounts", "--db", db_url, "--at-least", "4")
    assert code == 0 and "no accounts with 4+ blocked requests in the last 24 h" in out


def test_check_training_set_exit_codes_and_the_ledger(
    capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "lora-set"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i:02d}.jpg").write_bytes(image_bytes(synth_image(i, (64, 64))))
    banked = (folder / "02.jpg").read_bytes()
    with Store(db_url) as store:
        store.create_bank("known")
        store.add_entries("known", [BankEntry("md5", hashlib.md5(banked).hexdigest())])
        store.create_bank("empty")
    key = tmp_path / "ledger.key"
    generate_key(key)
    args = ("genguard", "check-training-set", str(folder), "--account", "trainer-1")
    common = ("--db", db_url, "--workers", "0")

    code, out, err = run_cli(capsys, *args, *common, "--key", str(key))
    assert code == 1, err
    flat = " ".join(out.split())
    assert "REFUSED" in flat and "4 files" in flat and "02.jpg" in flat and "known" in flat

    code, out, err = run_cli(capsys, *args, *common, "--bank", "empty", "--json")
    assert code == 0, err
    decision = json.loads(out)
    assert decision["proceed"] is True and decision["training_set"]["files"] == 4

    with Store(db_url) as store:
        recorded = [e.record for e in Ledger(store.engine).entries()]
    # the first run was signed and recorded; the second had no key and recorded nothing
    assert [(r.kind, r.decision, r.account) for r in recorded] == [
        ("training-set", "block", "trainer-1")
    ]


def test_serve_teaches_the_order_and_needs_a_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run_cli(capsys, "genguard", "serve", "--help")
    flat = " ".join(out.split())
    assert code == 0
    order = ["/v1/guard/prompt", "/v1/guard/input", "/v1/guard/output", "/v1/trace"]
    assert [flat.index(route) for route in order] == sorted(flat.index(r) for r in order)
    code, _, err = run_cli(capsys, "genguard", "serve", "--db", str(tmp_path / "n.db"))
    assert code == 3 and "no ledger key" in err and KEY_FILE_ENV in err
