"""The generation guard as a library, with a fake generator (no model, no torch) and scores
injected through the classifier protocol: prompts, inputs, outputs, training sets, the
ledger entries each step leaves, and the account flag."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from conftest import image_bytes, synth_image
from needle.assess import Priority
from needle.banks.model import Bank, BankEntry
from needle.classify.base import Box, Classification, Face, Sample
from needle.errors import ConfigError
from needle.genguard import Ledger, Signer
from needle.genguard.adapter import GuardedPipeline
from needle.genguard.guard import GenerationGuard, GenerationRequest
from needle.genguard.policy import GenerationPolicy, load_generation_policy
from needle.match import Matcher
from needle.pipeline.worker import ScanOptions
from needle.store import Store

pytest.importorskip("cv2", reason="stamping needs the provenance extra (OpenCV)")
pytest.importorskip("reedsolo", reason="stamping needs the genguard extra (reedsolo)")


class FakeClassifier:
    """Scores injected through the classifier protocol: explicit content with an apparent
    minor for every image ``flagged`` says yes to, nothing for the rest."""

    name, model, version, stage = "injected", "fake", "1", 10

    def __init__(self, flagged: Callable[[Sample], bool]) -> None:
        self.flagged = flagged
        self.seen = 0

    def classify(self, batch: Sequence[Sample], prior: object = None) -> list[Classification]:
        out = []
        for sample in batch:
            self.seen += 1
            if self.flagged(sample):
                face = Face(Box(0.1, 0.1, 0.3, 0.3), "fake", 1.0, 9.0, 3.0, 0.5, 0.97)
                scores = {"explicit": 0.95, "minor_likelihood": 0.97, "faces": 1}
                out.append(Classification("injected", "fake", "1", scores, faces=(face,)))
            else:
                out.append(Classification("injected", "fake", "1", {"explicit": 0.01}))
        return out


def red_corner(sample: Sample) -> bool:
    """The marker of a test image standing for flagged content: a pure red top-left pixel."""
    return sample.image.image.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def marked(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.putpixel((0, 0), (255, 0, 0))
    return image


class FakeGenerator:
    """A diffusers-style pipeline: ``pipe(prompt=...)`` returns an object with ``.images``."""

    def __init__(self, make: Callable[[int], Image.Image] | None = None) -> None:
        self.calls: list[dict[str, object]] = []
        self.make = make or (lambda n: synth_image(1000 + n, (512, 512)))

    def __call__(self, **kwargs: object) -> object:
        self.calls.append(kwargs)
        images = [self.make(len(self.calls))]
        return type("Output", (), {"images": images})()


@pytest.fixture
def guarded(db_url: str):  # type: ignore[no-untyped-def]
    with Store(db_url) as store:
        ledger = Ledger(store.engine)
        yield store, ledger, Signer.generate()


def make_guard(ledger: Ledger, signer: Signer, **kw: object) -> GenerationGuard:
    return GenerationGuard(ledger=ledger, signer=signer, **kw)  # type: ignore[arg-type]


def test_a_blocked_prompt_never_reaches_the_generator_and_is_recorded(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    generator = FakeGenerator()
    pipe = GuardedPipeline(generator, make_guard(ledger, signer))
    result = pipe("nude child", account="acct-1")
    assert result.blocked and not result.generated and generator.calls == []
    (decision,) = result.decisions
    assert decision.kind == "prompt" and decision.decision == "block" and not decision.proceed
    assert "text guard block" in decision.reasons[0] and "'child'" in decision.reasons[0]
    (entry,) = ledger.entries()
    assert entry.record.decision == "block" and entry.record.account == "acct-1"
    assert entry.record.prompt is None  # prompts are not kept by default: only the digest
    assert entry.record.prompt_sha256 == hashlib.sha256(b"nude child").hexdigest()


def test_an_allowed_prompt_is_generated_stamped_and_recorded(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    generator = FakeGenerator()
    policy = GenerationPolicy(keep_prompts=True)
    pipe = GuardedPipeline(generator, make_guard(ledger, signer, policy=policy))
    result = pipe("a lighthouse at dusk", account="acct-2", num_inference_steps=4)
    assert result.generated and len(result.outputs) == 1 and not result.blocked
    assert generator.calls[0]["num_inference_steps"] == 4
    kinds = [(e.record.kind, e.record.decision) for e in ledger.entries()]
    assert kinds == [("prompt", "allow"), ("output", "allow")]
    output = list(ledger.entries())[-1].record
    stamped = result.outputs[0]
    assert output.output_sha256 == hashlib.sha256(stamped.data).hexdigest()
    assert output.payload == stamped.payload and output.prompt == "a lighthouse at dusk"
    assert len(output.pdq) >= 2  # the whole image and its sub-regions


def test_an_adult_word_in_the_negative_prompt_of_a_sexual_prompt_is_blocked(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    guard = make_guard(ledger, signer)
    steer = guard.check_prompt(GenerationRequest.new("a", "nude person", "adult, mature"))
    assert steer.decision == "block" and "steers the generator toward minors" in steer.reasons[-1]
    # the negative prompt is not blocked for what it names, and adult words alone are fine
    assert guard.check_prompt(GenerationRequest.new("a", "a cat", "nude child")).decision == "allow"
    assert guard.check_prompt(GenerationRequest.new("a", "a portrait", "adult")).decision == "allow"
    off = make_guard(ledger, signer, policy=GenerationPolicy(negative_adult_rule=False))
    assert off.check_prompt(GenerationRequest.new("a", "nude person", "adult")).decision == "allow"


def test_an_input_matching_a_bank_stops_the_request_before_the_generator(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    known = image_bytes(synth_image(7, (400, 300)))
    bank = Bank("known", [BankEntry("sha256", hashlib.sha256(known).hexdigest())])
    generator = FakeGenerator()
    pipe = GuardedPipeline(generator, make_guard(ledger, signer, matcher=Matcher([bank])))
    result = pipe("a garden in spring", account="acct-3", image=known, strength=0.6)
    assert generator.calls == [] and result.blocked
    inputs = result.decisions[-1]
    assert inputs.kind == "input" and inputs.decision == "block"
    assert inputs.images[0].priority == Priority.CRITICAL and inputs.images[0].matches
    assert "known" in " ".join(inputs.reasons)
    # the same request with a benign upload goes through
    benign = image_bytes(synth_image(8, (400, 300)))
    assert pipe("a garden in spring", account="acct-3", image=benign).generated


def test_an_input_whose_injected_scores_cross_policy_is_stopped(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    classifier = FakeClassifier(red_corner)
    generator = FakeGenerator()
    guard = make_guard(ledger, signer, classifiers=[classifier])
    pipe = GuardedPipeline(generator, guard)
    flagged = marked(synth_image(9, (300, 300)))
    result = pipe("a portrait", account="acct-4", image=[synth_image(10), flagged])
    assert generator.calls == [] and classifier.seen == 2
    decision = result.decisions[-1]
    assert decision.decision == "block" and decision.images[1].priority >= Priority.HIGH
    assert all(r.startswith("input 2:") for r in decision.reasons)


def test_an_unreadable_upload_is_blocked_with_its_reason(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    decision = make_guard(ledger, signer).check_inputs(
        [b"not an image"], GenerationRequest.new("x")
    )
    assert decision.decision == "block" and "cannot read the image" in decision.reasons[0]


def test_a_flagged_output_is_withheld_recorded_and_never_stamped(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    generator = FakeGenerator(lambda n: marked(synth_image(n, (512, 512))))
    guard = make_guard(ledger, signer, classifiers=[FakeClassifier(red_corner)])
    result = GuardedPipeline(generator, guard)("a beach", account="acct-5")
    assert result.generated and result.outputs == () and result.withheld == 1
    output = list(ledger.entries())[-1].record
    assert (output.kind, output.decision, output.payload) == ("output", "block", None)
    assert output.pdq and "explicit" in " ".join(output.reasons)


def test_repeated_blocked_requests_flag_the_account(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, signer = guarded
    guard = make_guard(ledger, signer, policy=GenerationPolicy(flag_after=3))
    flags = [
        guard.check_prompt(GenerationRequest.new("acct-6", "nude child")).account_flagged
        for _ in range(3)
    ]
    assert flags == [False, False, True]
    assert not guard.check_prompt(GenerationRequest.new("acct-7", "nude child")).account_flagged
    (activity, *_) = ledger.blocked_accounts(datetime.now(UTC) - timedelta(hours=1), 2)
    assert (activity.account, activity.blocked) == ("acct-6", 3)
    later = datetime.now(UTC) + timedelta(hours=25)
    assert ledger.blocked_accounts(later) == []


def test_a_training_set_with_one_banked_image_among_200_is_refused(guarded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, ledger, signer = guarded
    folder = tmp_path / "lora-set"
    folder.mkdir()
    for i in range(200):
        (folder / f"{i:03d}.jpg").write_bytes(image_bytes(synth_image(i, (64, 64))))
    banked = (folder / "137.jpg").read_bytes()
    bank = Bank("known", [BankEntry("md5", hashlib.md5(banked).hexdigest())])
    guard = make_guard(ledger, signer, matcher=Matcher([bank]))
    request = GenerationRequest.new("trainer-1")
    decision = guard.check_training_set(folder, request, store=store, workers=0)
    report = decision.training
    assert report is not None and report.refused and report.files == 200
    assert decision.decision == "block" and not decision.proceed
    assert [f.path.rsplit("/", 1)[-1] for f in report.findings] == ["137.jpg"]
    assert report.findings[0].banks == ("known",) and "137.jpg" in decision.reasons[0]
    assert list(ledger.entries())[-1].record.kind == "training-set"
    clean = guard.check_training_set(folder, request, store=store, workers=0, options=ScanOptions())
    assert clean.training is not None and clean.training.job_id != report.job_id
    (folder / "137.jpg").unlink()
    ok = guard.check_training_set(folder, request, store=store, workers=0)
    assert ok.decision == "allow" and ok.training is not None and ok.training.files == 199


def test_policy_file_sets_decisions_and_rejects_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[genguard]\nkeep_prompts = true\noutput_block = "medium"\noutput_review = "low"\n'
        'flag_after = 5\n[textguard]\nsexual_only = "block"\n'
    )
    policy = load_generation_policy(path)
    assert policy.keep_prompts and policy.flag_after == 5
    assert policy.image_decision(Priority.MEDIUM, "output") == "block"
    assert policy.image_decision(Priority.LOW, "output") == "review"
    assert policy.textguard.sexual_only == "block" and policy.source == str(path)
    for bad, message in [
        ("[genguard]\nkeep_prompt = true\n", "unknown setting"),
        ('[genguard]\noutput_block = "severe"\n', "unknown priority"),
        ("[genguard]\nflag_after = 0\n", "at least 1"),
        ('[genguard]\nkeep_prompts = "yes"\n', "true or false"),
    ]:
        path.write_text(bad)
        with pytest.raises(ConfigError, match=message):
            load_generation_policy(path)


def test_a_ledger_without_a_key_is_refused(guarded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, _ = guarded
    with pytest.raises(ConfigError, match="signing key"):
        GenerationGuard(ledger=ledger)
