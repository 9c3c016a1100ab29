"""A PDQ index saved to disk: opened in another process it answers as the one built, and as a
brute-force search; built by streaming from a text file, a raw file or a bank it equals the
index of the same array; a damaged, truncated or foreign directory is a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import needle
from needle.banks.model import BankEntry
from needle.errors import ConfigError, SignalFormatError
from needle.match.pdq import PDQHits, PDQIndex, hamming_distances
from needle.match.pdq_build import build_from_blocks, build_from_file, build_from_store
from needle.match.pdq_disk import IndexFormatError, read_manifest, verify_index
from needle.store import Store

THRESHOLD = 31


def dataset(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` PDQ hashes: 80 % uniform random, 20 % in clusters of 10 within 0-8 bits."""
    out = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    clustered = n // 5 // 10 * 10
    centres = np.repeat(rng.integers(0, 256, size=(clustered // 10, 32), dtype=np.uint8), 10, 0)
    out[:clustered] = flip(rng, centres, rng.integers(0, 9, size=clustered))
    return out[rng.permutation(n)]


def flip(rng: np.random.Generator, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Each row with exactly ``k[i]`` distinct bits flipped."""
    order = np.argsort(rng.random((len(rows), 256)), axis=1)
    mask = np.zeros((len(rows), 256), dtype=np.uint8)
    np.put_along_axis(mask, order, (np.arange(256)[None, :] < k[:, None]).astype(np.uint8), 1)
    return rows ^ np.packbits(mask, axis=1)


def queries_for(rng: np.random.Generator, hashes: np.ndarray, n: int) -> np.ndarray:
    """Near-duplicates of indexed hashes (0-31 bits), exactly-at-threshold ones, and random."""
    picks = hashes[rng.integers(0, len(hashes), size=n)]
    near = flip(rng, picks, rng.integers(0, THRESHOLD + 1, size=n))
    edge = flip(rng, picks[: n // 5], np.full(n // 5, THRESHOLD))
    return np.concatenate([near, edge, rng.integers(0, 256, size=(n // 5, 32), dtype=np.uint8)])


def triples(hits: PDQHits) -> list[tuple[int, int, int]]:
    return list(zip(hits.query.tolist(), hits.row.tolist(), hits.distance.tolist(), strict=True))


def brute(hashes: np.ndarray, queries: np.ndarray, threshold: int = THRESHOLD) -> set[tuple]:
    d = hamming_distances(queries, hashes)
    q, r = np.nonzero(d <= threshold)
    return set(zip(q.tolist(), r.tolist(), d[q, r].tolist(), strict=True))


def same(a: PDQHits, b: PDQHits) -> bool:
    return a.n_queries == b.n_queries and triples(a) == triples(b)


@pytest.mark.parametrize("strategy", ["multi-index", "brute-force"])
def test_opened_in_another_process_answers_as_built_and_as_brute_force(
    tmp_path: Path, strategy: str
) -> None:
    rng = np.random.default_rng(1)
    hashes = dataset(rng, 30_000)
    queries = queries_for(rng, hashes, 150)
    built = PDQIndex(hashes, THRESHOLD, strategy=strategy)
    expected = built.query(queries)
    assert set(triples(expected)) == brute(hashes, queries)  # 100 % recall, no false hit
    assert built.save(tmp_path / "index") == tmp_path / "index"
    np.save(tmp_path / "queries.npy", queries)
    script = (
        "import sys, numpy as np\n"
        "from needle.match.pdq import PDQIndex\n"
        "index = PDQIndex.open(sys.argv[1])\n"
        "hits = index.query(np.load(sys.argv[2]))\n"
        "np.savez(sys.argv[3], q=hits.query, r=hits.row, d=hits.distance)\n"
    )
    src = str(Path(needle.__file__).resolve().parents[1])
    out = tmp_path / "hits.npz"
    command = [sys.executable, "-c", script, str(tmp_path / "index"), str(tmp_path / "queries.npy")]
    subprocess.run([*command, str(out)], check=True, env={"PYTHONPATH": src}, timeout=120)
    got = np.load(out)
    assert got["q"].tolist() == expected.query.tolist()
    assert got["r"].tolist() == expected.row.tolist()
    assert got["d"].tolist() == expected.distance.tolist()
    opened = PDQIndex.open(tmp_path / "index", verify=True)
    assert opened.plan == built.plan and len(opened) == len(hashes)
    assert same(opened.query(queries), expected)
    assert same(opened.query(queries, 10), built.query(queries, 10))
    assert np.array_equal(opened.hashes, hashes) and not opened.hashes.flags.writeable


def test_empty_and_tiny_indexes_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    queries = rng.integers(0, 256, size=(5, 32), dtype=np.uint8)
    for n in (0, 1, 40):
        hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        PDQIndex(hashes, THRESHOLD).save(tmp_path / f"i{n}")
        opened = PDQIndex.open(tmp_path / f"i{n}")
        assert len(opened) == n
        assert same(opened.query(queries), PDQIndex(hashes, THRESHOLD).query(queries))
        assert same(opened.query(hashes), PDQIndex(hashes, THRESHOLD).query(hashes))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    PDQIndex(dataset(rng, 5_000), THRESHOLD, strategy="multi-index").save(tmp_path / "index")
    return tmp_path / "index"


def _edit_manifest(where: Path, **changes: object) -> None:
    body = json.loads((where / "manifest.json").read_text())
    body.update(changes)
    (where / "manifest.json").write_text(json.dumps(body))


def test_a_damaged_or_foreign_manifest_is_a_clear_error(saved: Path) -> None:
    (saved / "manifest.json").write_text('{"format": "needle-pdq-index", "vers')
    with pytest.raises(IndexFormatError, match=r"not JSON.*rebuild"):
        PDQIndex.open(saved)
    (saved / "manifest.json").write_text("[1, 2]")
    with pytest.raises(IndexFormatError, match=r"does not describe"):
        PDQIndex.open(saved)
    (saved / "manifest.json").unlink()
    with pytest.raises(IndexFormatError, match=r"manifest.json is missing"):
        PDQIndex.open(saved)
    with pytest.raises(IndexFormatError, match=r"no PDQ index"):
        PDQIndex.open(saved.parent / "nowhere")


def test_another_format_version_is_refused(saved: Path) -> None:
    _edit_manifest(saved, version=2)
    with pytest.raises(IndexFormatError, match=r"version 2.*reads version 1.*rebuild"):
        PDQIndex.open(saved)


def test_a_manifest_that_disagrees_with_its_plan_is_refused(saved: Path) -> None:
    body = json.loads((saved / "manifest.json").read_text())
    body["plan"]["radii"] = [0] * len(body["plan"]["radii"])  # too little radius for 31
    (saved / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(IndexFormatError, match=r"enough radius"):
        PDQIndex.open(saved)
    body["plan"].pop("widths")
    (saved / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(IndexFormatError, match=r"lacks or garbles"):
        PDQIndex.open(saved)


@pytest.mark.parametrize("name", ["hashes.npy", "offsets.npy", "rows.npy"])
def test_a_truncated_or_missing_file_is_a_clear_error(saved: Path, name: str) -> None:
    path = saved / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 4])
    with pytest.raises(IndexFormatError, match=rf"{name} is .* bytes.*truncated"):
        PDQIndex.open(saved)
    path.unlink()
    with pytest.raises(IndexFormatError, match=rf"{name} is missing"):
        PDQIndex.open(saved)


def test_damaged_bytes_are_found(saved: Path) -> None:
    queries = PDQIndex.open(saved).hashes[:50].copy()
    rows = saved / "rows.npy"
    data = bytearray(rows.read_bytes())
    data[200:204] = (2**31 - 1).to_bytes(4, "little")  # a row id far out of range
    rows.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"rows.npy is damaged.*sha256"):
        verify_index(saved)
    with pytest.raises(IndexFormatError, match=r"rows.npy is damaged"):
        PDQIndex.open(saved, verify=True)
    index = PDQIndex.open(saved)  # sizes and headers are right: opens, then the query fails
    with pytest.raises(IndexFormatError, match=r"is damaged.*rebuild"):
        for start in range(0, 5000, 50):
            index.query(index.hashes[start : start + 50])
    assert len(queries) == 50
    offsets = saved / "offsets.npy"
    data = bytearray(offsets.read_bytes())
    data[-4:] = (7).to_bytes(4, "little")
    offsets.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"offsets.npy is damaged"):
        PDQIndex.open(saved)


def test_a_foreign_file_in_place_is_refused(saved: Path) -> None:
    hashes = np.load(saved / "hashes.npy")
    np.save(saved / "hashes.npy", hashes.view(np.uint64))  # same bytes, other dtype
    with pytest.raises(IndexFormatError, match=r"holds <u8 \(5000, 4\)"):
        PDQIndex.open(saved)


def test_a_build_that_fails_half_way_leaves_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)

    def blocks():  # type: ignore[no-untyped-def]
        yield rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
        raise KeyboardInterrupt  # as a killed build would stop

    with pytest.raises(KeyboardInterrupt):
        build_from_blocks(blocks(), tmp_path / "index")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SignalFormatError, match=r"\(k, 32\) uint8"):
        build_from_blocks([np.zeros((3, 31), np.uint8)], tmp_path / "index")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_index_is_replaced_only_when_asked(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    first, second = dataset(rng, 1000), dataset(rng, 1200)
    build_from_blocks([first], tmp_path / "index")
    with pytest.raises(ConfigError, match=r"already exists.*replace=True"):
        build_from_blocks([second], tmp_path / "index")
    build_from_blocks([second], tmp_path / "index", replace=True)
    assert np.array_equal(PDQIndex.open(tmp_path / "index").hashes, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    with pytest.raises(ConfigError, match=r"threshold"):
        build_from_blocks([second], tmp_path / "other", threshold=300)


def _write_text(path: Path, hashes: np.ndarray, *, messy: bool) -> None:
    hexes = hashes.tobytes().hex()
    lines = [hexes[i : i + 64] for i in range(0, len(hexes), 64)]
    if messy:  # comments, blank lines, CRLF, upper case, spaces, no final newline
        lines = ["# signal_type: pdq", "", *lines]
        lines[5] = "  " + lines[5].upper() + "\t"
        lines[9] = lines[9] + "\r"
        path.write_text("\n".join(lines))
    else:
        path.write_text("".join(line + "\n" for line in lines))


@pytest.mark.parametrize("messy", [False, True])
def test_text_and_raw_files_build_the_index_of_the_array(tmp_path: Path, messy: bool) -> None:
    rng = np.random.default_rng(6)
    hashes = dataset(rng, 20_000)
    queries = queries_for(rng, hashes, 100)
    expected = PDQIndex(hashes, THRESHOLD).query(queries)
    _write_text(tmp_path / "hashes.txt", hashes, messy=messy)
    hashes.tofile(tmp_path / "hashes.bin")
    (tmp_path / "hashes.data").write_bytes((tmp_path / "hashes.txt").read_bytes())
    for name in ("hashes.txt", "hashes.bin", "hashes.data"):
        build_from_file(tmp_path / name, tmp_path / f"{name}.index")
        opened = PDQIndex.open(tmp_path / f"{name}.index", verify=True)
        assert np.array_equal(opened.hashes, hashes)
        assert same(opened.query(queries), expected)
        assert read_manifest(tmp_path / f"{name}.index").source.kind == "file"


def test_a_bad_hash_file_names_the_problem(tmp_path: Path) -> None:
    good = "ab" * 32
    (tmp_path / "bad.txt").write_text(f"{good}\n# note\n{good[:-1]}g\n")
    with pytest.raises(SignalFormatError, match=r"bad.txt, line 3: .*not a PDQ hash"):
        build_from_file(tmp_path / "bad.txt", tmp_path / "index")
    (tmp_path / "short.txt").write_text(f"{good}\n{good[:10]}\n")
    with pytest.raises(SignalFormatError, match=r"line 2"):
        build_from_file(tmp_path / "short.txt", tmp_path / "index")
    (tmp_path / "odd.bin").write_bytes(b"\0" * 33)
    with pytest.raises(SignalFormatError, match=r"33 bytes, not a whole number"):
        build_from_file(tmp_path / "odd.bin", tmp_path / "index")
    with pytest.raises(ConfigError, match=r"unknown hash file kind"):
        build_from_file(tmp_path / "odd.bin", tmp_path / "index", kind="csv")
    assert not (tmp_path / "index").exists()


def test_a_bank_in_the_store_builds_the_index_of_its_pdq_column(
    db_url: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    hashes = dataset(rng, 3000)
    hashes = hashes[np.sort(np.unique(hashes, axis=0, return_index=True)[1])]  # a bank dedups
    values = [bytes(h).hex() for h in hashes]
    store = Store(db_url)
    store.create_bank("big", pdq_threshold=40)
    with store.bank_import("big", create=False) as batch:  # PDQ entries among md5 ones
        for start in range(0, len(values), 500):
            batch.add([BankEntry("pdq", v) for v in values[start : start + 500]])
            batch.add([BankEntry("md5", f"{start:032x}")])
    build_from_store(store, "big", tmp_path / "index")
    opened = PDQIndex.open(tmp_path / "index")
    assert opened.threshold == 40  # the bank's own
    assert np.array_equal(opened.hashes, hashes)  # rows: the PDQ column of load_bank_columns
    column = store.load_bank_columns("big").entries.columns["pdq"]  # type: ignore[attr-defined]
    assert np.array_equal(column.values, hashes)
    queries = queries_for(rng, hashes, 60)
    assert same(opened.query(queries), PDQIndex(hashes, 40).query(queries))
    source = read_manifest(tmp_path / "index").source
    assert (source.kind, source.name) == ("store", "big")
    assert source.last_entry_id is not None and source.last_entry_id > 0
    with pytest.raises(needle.errors.BankError, match=r"no bank named 'none'"):
        build_from_store(store, "none", tmp_path / "other")
    store.close()


def test_hashes_is_a_read_only_view() -> None:
    hashes = np.arange(64, dtype=np.uint8).reshape(2, 32)
    index = PDQIndex(hashes, THRESHOLD, strategy="brute-force")
    assert np.array_equal(index.hashes, hashes) and not index.hashes.flags.writeable
    index = PDQIndex(hashes, THRESHOLD, strategy="multi-index")
    assert np.array_equal(index.hashes, hashes) and not index.hashes.flags.writeable
