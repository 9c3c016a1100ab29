"""Stamping and trace-back end to end: a fake generator's output is stamped and recorded, then
found again after JPEG re-encoding, a 10 % crop, halving and a screenshot-like border, each
with its evidence; unrelated images trace to nothing; the watermark payload survives JPEG and
error correction refuses noise; the hash index is cached and rebuilt when the ledger changes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from conftest import image_bytes, run_cli, synth_image
from needle.genguard import Ledger, Signer
from needle.genguard.adapter import GuardedPipeline
from needle.genguard.guard import GenerationGuard
from needle.genguard.policy import GenerationPolicy
from needle.genguard.stamp import embed_payload, new_payload, read_payload, stamp_image
from needle.genguard.trace import TraceIndex, default_cache, trace_image
from needle.store import Store

pytest.importorskip("cv2", reason="stamping needs the provenance extra (OpenCV)")
pytest.importorskip("reedsolo", reason="stamping needs the genguard extra (reedsolo)")


def picture(seed: int) -> Image.Image:
    return synth_image(seed, (1024, 1024))


def _png(image: Image.Image) -> bytes:
    return image_bytes(image, "PNG")


def _crop_corner(image: Image.Image) -> bytes:
    keep = round(image.width * 0.9**0.5)
    return _png(image.crop((0, 0, keep, keep)))


def _crop_side(image: Image.Image) -> bytes:
    return _png(image.crop((round(image.width * 0.1), 0, image.width, image.height)))


EDITS: dict[str, Callable[[Image.Image], bytes]] = {
    "jpeg-85": lambda im: image_bytes(im, "JPEG", quality=85),
    "crop-10-corner": _crop_corner,
    "crop-10-side": _crop_side,
    "half": lambda im: _png(im.resize((im.width // 2, im.height // 2))),
    "png-border-20": lambda im: _png(ImageOps.expand(im, 20, fill=(240, 240, 240))),
}


def generator(**kwargs: object) -> list[Image.Image]:
    return [picture(int(str(kwargs["prompt"]).rsplit(" ", 1)[-1]))]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Three outputs of a fake generator, stamped and recorded in a SQLite ledger."""
    db = tmp_path_factory.mktemp("trace") / "needle.db"
    with Store(f"sqlite:///{db}") as store:
        guard = GenerationGuard(
            ledger=Ledger(store.engine),
            signer=Signer.generate(),
            policy=GenerationPolicy(keep_prompts=True),
        )
        pipe = GuardedPipeline(generator, guard)
        made = [
            pipe(f"a quiet harbour, study {seed}", account=f"acct-{seed}") for seed in (3, 4, 5)
        ]
        yield store, Ledger(store.engine), made


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_stamped_output_is_traced_after_each_edit(recorded, edit: str) -> None:  # type: ignore[no-untyped-def]
    _, ledger, made = recorded
    index = TraceIndex.build(ledger)
    for generation in made:
        (stamped,) = generation.outputs
        original = Image.open(io.BytesIO(stamped.data)).convert("RGB")
        result = trace_image(EDITS[edit](original), ledger, index)
        assert result.hits, f"{edit}: not traced"
        best = result.hits[0]
        assert best.entry.record.request_id == generation.request.request_id
        assert best.entry.record.account == generation.request.account
        assert best.entry.record.prompt == generation.request.prompt
        assert best.evidence and len(best.methods) == len(best.evidence)
        wrong = [
            h for h in result.hits if h.entry.record.request_id != best.entry.record.request_id
        ]
        assert wrong == [], f"{edit}: also traced to {wrong}"


def test_the_very_file_is_traced_by_sha256_and_watermark(recorded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, made = recorded
    (stamped,) = made[0].outputs
    result = trace_image(stamped.data, ledger, TraceIndex.build(ledger))
    (hit,) = result.hits
    assert hit.methods[:2] == ("sha256", "watermark") and "pdq" in hit.methods
    assert result.payload is not None and result.payload.payload == stamped.payload


def test_unrelated_images_trace_to_nothing(recorded) -> None:  # type: ignore[no-untyped-def]
    _, ledger, _ = recorded
    index = TraceIndex.build(ledger)
    for seed in range(20, 26):
        result = trace_image(_png(picture(seed)), ledger, index)
        assert result.hits == (), f"unrelated picture {seed} traced to {result.hits}"
    unreadable = trace_image(b"\x89PNG not really", ledger, index)
    assert unreadable.hits == () and unreadable.error


def test_the_payload_survives_jpeg_and_noise_reads_as_none() -> None:
    image = picture(9)
    payload = new_payload()
    marked = embed_payload(image, payload)
    assert read_payload(marked).payload == payload  # type: ignore[union-attr]
    jpeg = Image.open(io.BytesIO(image_bytes(marked, "JPEG", quality=85)))
    read = read_payload(jpeg)
    assert read is not None and read.payload == payload
    assert read_payload(image) is None  # never stamped
    noise = np.random.default_rng(1).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    assert read_payload(Image.fromarray(noise)) is None
    small = stamp_image(synth_image(2, (200, 120)))
    assert small.payload is None  # too small for the mark: recorded without a payload


def test_the_index_cache_grows_and_is_rebuilt_for_another_ledger(tmp_path: Path) -> None:
    cache = tmp_path / "index.npz"
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        ledger = Ledger(store.engine)
        guard = GenerationGuard(ledger=ledger, signer=Signer.generate())
        pipe = GuardedPipeline(generator, guard)
        pipe("study 11", account="a")
        first = TraceIndex.build(ledger, cache)
        assert cache.exists() and len(first.whole) == 1
        pipe("study 12", account="a")
        second = TraceIndex.build(ledger, cache)
        assert len(second.whole) == 2 and second.last_seq > first.last_seq
    with Store(f"sqlite:///{tmp_path / 'b.db'}") as other:
        ledger = Ledger(other.engine)
        guard = GenerationGuard(ledger=ledger, signer=Signer.generate())
        GuardedPipeline(generator, guard)("study 13", account="b")
        GuardedPipeline(generator, guard)("study 14", account="b")
        GuardedPipeline(generator, guard)("study 15", account="b")
        rebuilt = TraceIndex.build(ledger, cache)  # same seqs, different entries: rebuilt
        assert len(rebuilt.whole) == 3
    cache.write_bytes(b"garbage")
    assert len(TraceIndex.build(ledger, cache).whole) == 3
    assert default_cache("sqlite:///x/needle.db") == Path("x/needle.db.trace-index.npz")
    assert default_cache("postgresql://db/needle") is None


def test_needle_trace_prints_the_entry_and_its_evidence(recorded, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    store, _, made = recorded
    (stamped,) = made[1].outputs
    found = tmp_path / "found.jpg"
    found.write_bytes(image_bytes(Image.open(io.BytesIO(stamped.data)), "JPEG", quality=85))
    stranger = tmp_path / "stranger.png"
    stranger.write_bytes(_png(picture(40)))
    index = tmp_path / "index.npz"
    db = ["--db", store.url, "--index", str(index)]
    code, out, err = run_cli(capsys, "trace", str(found), *db)
    assert code == 0, out + err
    assert "acct-4" in out and "a quiet harbour, study 4" in out and "watermark payload" in out
    code, out, err = run_cli(
        capsys, "trace", str(found), str(stranger), *db, "--json", "--hide-prompt"
    )
    assert code == 1  # one image was not traced
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["hits"][0]["account"] == "acct-4" and lines[0]["hits"][0]["prompt"] is None
    assert lines[1]["hits"] == []


def test_a_stamped_output_carries_a_trusted_c2pa_ai_claim_and_is_still_traced(
    tmp_path: Path,
) -> None:
    pytest.importorskip("c2pa", reason="C2PA needs the provenance extra (c2pa-python)")
    from genguard.test_manifest import make_test_certificates
    from needle.genguard.manifest import ManifestSigner, read_record_id
    from needle.provenance import ProvenanceOptions, examine

    chain, key, anchor = make_test_certificates(tmp_path)
    with Store(f"sqlite:///{tmp_path / 'c2pa.db'}") as store:
        ledger = Ledger(store.engine)
        guard = GenerationGuard(
            ledger=ledger, signer=Signer.generate(), manifest_signer=ManifestSigner(chain, key)
        )
        (stamped,) = GuardedPipeline(generator, guard)("study 21", account="c").outputs
        result = examine(
            stamped.data,
            filename="generated.png",
            options=ProvenanceOptions(c2pa_trust_anchors=anchor.read_text()),
        )
        assert result.ai_generated == "claimed" and result.c2pa is not None
        assert result.c2pa.state == "trusted"
        (entry,) = [e for e in ledger.entries() if e.record.kind == "output"]
        assert entry.record.output_sha256 == stamped.sha256  # of the signed bytes
        assert read_record_id(stamped.data, "PNG") == (
            f"{entry.record.request_id}:{stamped.payload:012x}"
        )
        (hit,) = trace_image(stamped.data, ledger, TraceIndex.build(ledger)).hits
        assert hit.methods[:2] == ("sha256", "watermark")
