"""The scan pipeline in-process: signals, matches through banks, per-file errors, both DBs."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bombs import png_bomb, truncated_jpeg
from conftest import image_bytes, synth_image
from needle.banks.model import Bank, BankEntry
from needle.media import Item
from needle.pipeline.scan import run_scan
from needle.signals.cryptographic import MD5
from needle.store import Store


def _evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for i in range(6):
        (folder / f"photo{i}.jpg").write_bytes(image_bytes(synth_image(i, (400, 300))))
    original = synth_image(42, (400, 300))
    (folder / "known.png").write_bytes(image_bytes(original, "PNG"))
    (folder / "rotated.jpg").write_bytes(image_bytes(original.transpose(Image.Transpose.ROTATE_90)))
    (folder / "flat.png").write_bytes(image_bytes(Image.new("RGB", (64, 64), (90, 90, 90)), "PNG"))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(truncated_jpeg())
    (folder / "bomb.png").write_bytes(png_bomb())
    (folder / "notes.txt").write_text("not an image")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../escape.jpg", image_bytes(synth_image(7)))
        zf.writestr("inside/ok.jpg", image_bytes(synth_image(8)))
    (folder / "case.zip").write_bytes(buf.getvalue())
    return folder


def _bank(folder: Path) -> Bank:
    from needle.media import walk
    from needle.pipeline.worker import compute_file

    records = {Path(i.path).name: compute_file(i) for i in walk([folder])}
    known_pdq = records["known.png"].signals["pdq"].value
    flat_pdq = records["flat.png"].signals["pdq"].value
    md5 = MD5().hash_bytes((folder / "photo3.jpg").read_bytes()).value
    return Bank(
        "known",
        [
            BankEntry("pdq", known_pdq, ("series-a",)),
            BankEntry("pdq", flat_pdq),  # low quality: never matched
            BankEntry("md5", md5),
        ],
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_scan_matches_and_records_every_file(tmp_path: Path, db_url: str, workers: int) -> None:
    folder = _evidence(tmp_path)
    bank = _bank(folder)
    with Store(db_url) as store:
        result = run_scan([str(folder)], store=store, banks=[bank], workers=workers)
        records = {Path(r.path.split("!")[0]).name + ("!" + r.path.split("!")[1] if "!" in r.path else ""): r
                   for r in store.iter_records(result.job.id)}  # fmt: skip

    assert set(records) == {
        *(f"photo{i}.jpg" for i in range(6)), "known.png", "rotated.jpg", "flat.png",
        "empty.jpg", "truncated.jpg", "bomb.png", "notes.txt",
        "case.zip!../escape.jpg", "case.zip!inside/ok.jpg",
    }  # fmt: skip
    assert result.summary.files == len(records)

    known = records["known.png"].matches
    assert [(m.bank, m.signal_type, m.distance, m.transform) for m in known] == [
        ("known", "pdq", 0, "original")
    ]
    assert known[0].labels == ("series-a",)
    (rotated,) = records["rotated.jpg"].matches
    assert rotated.transform not in (None, "original") and rotated.distance <= 31
    assert [m.signal_type for m in records["photo3.jpg"].matches] == ["md5"]
    assert records["photo0.jpg"].matches == ()
    flat = records["flat.png"]
    assert flat.pdq is not None and flat.pdq_quality is not None and flat.pdq_quality < 50
    assert flat.matches == ()

    reasons = {name: r.error_reason for name, r in records.items() if r.error}
    assert reasons == {
        "empty.jpg": "corrupt",
        "truncated.jpg": "corrupt",
        "bomb.png": "too-large",
        "notes.txt": "unsupported",
        "case.zip!../escape.jpg": "unsafe-archive-member",
    }
    assert "pixels" in (records["bomb.png"].error or "")
    assert records["case.zip!inside/ok.jpg"].error is None
    assert records["empty.jpg"].md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert result.summary.matched_files == 3
    assert result.summary.errors == 5


def test_shared_malformed_files_are_recorded(testdata: Path, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        result = run_scan([str(testdata / "malformed")], store=store, workers=0)
        records = list(store.iter_records(result.job.id))
    assert len(records) == len(list((testdata / "malformed").iterdir()))
    by_name = {Path(r.path).name: r for r in records}
    assert by_name["empty_file.png"].error_reason == "corrupt"
    for record in records:  # each either hashed or carries a clear reason
        assert record.error is None or (record.error_reason and len(record.error) > 5)


def test_a_crashing_worker_is_recorded_and_the_scan_goes_on(tmp_path: Path) -> None:
    from bombs import CrashingItem
    from needle.pipeline.pool import results_pool
    from needle.pipeline.worker import ScanOptions

    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(image_bytes(synth_image(i, (64, 64))))
        paths.append(str(path))
    items = [Item(p, os.path.getsize(p), fs_path=p) for p in paths]
    items.insert(3, CrashingItem(str(tmp_path / "hostile.jpg"), 10, fs_path="/nonexistent"))
    records = {Path(r.path).name: r for r in results_pool(iter(items), ScanOptions(), 2)}
    assert set(records) == {f"{i}.jpg" for i in range(6)} | {"hostile.jpg"}
    assert records["hostile.jpg"].error_reason == "crash"
    assert all(records[f"{i}.jpg"].error is None for i in range(6))


def test_a_result_that_cannot_be_read_back_is_not_blamed_on_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bombs import PARENT_ENV, PoisonPath
    from needle.pipeline.pool import results_pool
    from needle.pipeline.worker import ScanOptions

    monkeypatch.setenv(PARENT_ENV, str(os.getpid()))
    items = []
    for i in range(4):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(image_bytes(synth_image(i, (64, 64))))
        name = PoisonPath(str(path)) if i == 2 else str(path)
        items.append(Item(name, path.stat().st_size, fs_path=str(path)))
    records = {Path(r.path).name: r for r in results_pool(iter(items), ScanOptions(), 2)}
    assert set(records) == {f"{i}.jpg" for i in range(4)}
    assert records["2.jpg"].error_reason == "internal"
    assert "cannot be rebuilt" in (records["2.jpg"].error or "")
    assert all(records[f"{i}.jpg"].error is None for i in (0, 1, 3))


def test_workers_that_cannot_start_stop_the_scan_instead_of_blaming_files(
    tmp_path: Path,
) -> None:
    import multiprocessing

    from needle.errors import NeedleError

    real = multiprocessing.get_context("forkserver")

    class Broken:  # a context whose processes die at once, as with a broken installation
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def Process(self, *args: object, **kwargs: object) -> object:
            kwargs.update(target=os._exit, args=(3,))
            return real.Process(*args, **kwargs)  # type: ignore[arg-type]

    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.jpg").write_bytes(image_bytes(synth_image(i, (32, 32))))
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        with pytest.raises(NeedleError, match="die before doing any work"):
            run_scan([str(folder)], store=store, workers=2, mp_context=Broken())  # type: ignore[arg-type]
        job = store.latest_job()
        assert job is not None and job.status == "running"  # resumable, nothing blamed
        assert list(store.iter_records(job.id)) == []
