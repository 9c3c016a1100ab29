"""VICS export: decisions become categories, the file reads back through needle's own VICS
importer (and ``needle bank import``) with the same hashes and categories, in 1.3 and 2.0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from needle.assess import Assessment, Priority
from needle.banks import read_bank_file
from needle.errors import ConfigError, ReportError
from needle.report.vics import (
    NO_HASH,
    UNDECIDED,
    VicsConfig,
    build_vics,
    load_vics_config,
    write_vics,
)
from needle.review import add_to_case, decide
from needle.store import FileRecord, ScanRecord, Store
from report.reviewed import record, store_job
from review.flagged import file_ids, store_flagged

DECIDED = {
    "real": "abuse-real",
    "ai": "abuse-ai",
    "benign": "not-abuse",
    "esc": "escalate",
    "second": "second-review",
    "open": None,
}


@pytest.fixture
def decided(store: Store, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """A job of six files, five decided as ``DECIDED`` says: name -> id, hashes, decision."""
    root = tmp_path / "evidence"
    made = {name: record(str(root / f"{name}.jpg"), seed) for seed, name in enumerate(DECIDED)}
    ids = store_job(store, root, list(made.values()))
    items = {}
    for name, decision in DECIDED.items():
        scan, _ = made[name]
        file_id = ids[scan.file.path]
        if decision is not None:
            decide(store, file_id, decision, "", "rita")
        items[name] = {
            "id": file_id,
            "md5": scan.file.value("md5"),
            "sha1": scan.file.value("sha1"),
            "pdq": scan.file.value("pdq"),
            "decision": decision,
        }
    return items


def _imported(path: Path) -> dict[tuple[str, str], set[str]]:
    result = read_bank_file(path, format="vics")
    assert result.problems == []
    found: dict[tuple[str, str], set[str]] = {}
    for entry in result.entries:
        found.setdefault((entry.signal_type, entry.value), set()).update(entry.labels)
    return found


def _expected(
    items: dict[str, dict[str, Any]], categories: dict[str, int]
) -> dict[tuple[str, str], set[str]]:
    expected: dict[tuple[str, str], set[str]] = {}
    for item in items.values():
        category = categories.get(item["decision"])
        if category is not None:
            expected[("md5", item["md5"])] = {f"vics-category:{category}"}
            expected[("sha1", item["sha1"])] = {f"vics-category:{category}"}
    return expected


@pytest.mark.parametrize("version", ["2.0", "1.3"])
def test_export_reads_back_with_the_same_hashes_and_categories(
    store: Store, decided: dict[str, dict[str, Any]], tmp_path: Path, version: str
) -> None:
    out = tmp_path / f"export-{version}.json"
    export = write_vics(store, out, version=version)

    assert export.media == 3 and export.files == 3
    assert export.by_category == {0: 1, 1: 1, 3: 1}
    assert export.skipped == {"escalate": 1, "second-review": 1, UNDECIDED: 1}
    assert _imported(out) == _expected(decided, {"abuse-real": 1, "abuse-ai": 3, "not-abuse": 0})


def _check_media_shape(version: str, media: dict[str, Any]) -> None:
    """The shape ``needle.banks.vics`` documents for each version."""
    assert isinstance(media["MediaID"], int)
    assert isinstance(media["Category"], int)
    assert media["MD5"] == media["MD5"].upper() and len(media["MD5"]) == 32
    alternatives = {a["HashName"]: a["HashValue"] for a in media.get("AlternativeHashes", [])}
    if version == "2.0":
        assert len(media["SHA1"]) == 40 and media["SHA1"] == media["SHA1"].upper()
        assert "SHA1" not in alternatives
    else:
        assert "SHA1" not in media
        assert len(alternatives["SHA1"]) == 40
    assert len(alternatives["PDQ"]) == 64
    assert isinstance(media["MediaSize"], int)
    for file in media["MediaFiles"]:
        assert set(file) == {"FileName", "FilePath", "FileSize"}
        assert file["FilePath"].endswith("/" + file["FileName"])


@pytest.mark.parametrize(
    ("version", "key", "model"),
    [
        ("2.0", "@odata.context", "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"),
        ("1.3", "odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#"),
    ],
)
def test_export_has_each_versions_shape(
    store: Store, decided: dict[str, dict[str, Any]], version: str, key: str, model: str
) -> None:
    media_doc = build_vics(store, version=version).document
    assert set(media_doc) == {key, "value"}
    assert media_doc[key].startswith(model) and media_doc[key].endswith("#Media")
    for media in media_doc["value"]:
        _check_media_shape(version, media)
    pdqs = {
        a["HashValue"]
        for m in media_doc["value"]
        for a in m["AlternativeHashes"]
        if a["HashName"] == "PDQ"
    }
    assert pdqs == {decided[n]["pdq"] for n in ("real", "ai", "benign")}

    for name in ("real", "esc"):
        add_to_case(store, "account 7", decided[name]["id"], "rita")
    cases_doc = build_vics(store, version=version, case="account 7").document
    assert cases_doc[key].endswith("#Cases")
    [case] = cases_doc["value"]
    assert case["CaseNumber"] == "account 7"
    [media] = case["Media"]
    _check_media_shape(version, media)
    assert media["MD5"] == decided["real"]["md5"].upper() and media["Category"] == 1


def test_config_overrides_categories_and_exports_an_escalated_item(
    store: Store, decided: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    config_file = tmp_path / "vics.toml"
    config_file.write_text(
        '[vics.categories]\nabuse-ai = 2\nescalate = 4\n[vics.category-names]\n"2" = "age-difficult"\n'
    )
    config = load_vics_config(config_file)
    assert config.categories["abuse-real"] == 1  # the defaults stay where not overridden
    assert config.category_name(2) == "age-difficult"
    out = tmp_path / "export.json"
    export = write_vics(store, out, config=config)
    assert export.by_category == {0: 1, 1: 1, 2: 1, 4: 1}
    assert export.skipped == {"second-review": 1, UNDECIDED: 1}
    assert _imported(out) == _expected(decided, dict(config.categories))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[vics.categories]\nabuse = 1\n", "not a decision"),
        ("[vics.categories]\nabuse-real = -1\n", "category number"),
        ("[vics.categories]\nabuse-real = 'one'\n", "category number"),
        ('[vics.category-names]\nx = "y"\n', "number ="),
    ],
)
def test_a_bad_config_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    config_file = tmp_path / "vics.toml"
    config_file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_vics_config(config_file)


def test_same_content_twice_is_one_media_with_two_files(store: Store, tmp_path: Path) -> None:
    a = record(str(tmp_path / "one" / "a.jpg"), 5)
    b = record(str(tmp_path / "two" / "b.jpg"), 5)  # the same bytes, found twice
    ids = store_job(store, tmp_path / "one", [a]) | store_job(store, tmp_path / "two", [b])
    for file_id in ids.values():
        decide(store, file_id, "abuse-real", "", "rita")
    export = build_vics(store)
    [media] = export.document["value"]
    assert export.media == 1 and export.files == 2
    assert [f["FileName"] for f in media["MediaFiles"]] == ["a.jpg", "b.jpg"]


def test_a_record_without_md5_or_sha1_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    scan = ScanRecord(FileRecord(str(tmp_path / "x.jpg"), 3), (), Assessment(Priority.HIGH))
    job = store_flagged(store, [str(tmp_path)], [scan])
    [file_id] = file_ids(store, job).values()
    decide(store, file_id, "abuse-real", "", "rita")
    export = build_vics(store, job=job)
    assert export.media == 0 and export.skipped == {NO_HASH: 1}


def test_unknown_scope_or_version_is_an_error(
    store: Store, decided: dict[str, dict[str, Any]]
) -> None:
    with pytest.raises(ReportError, match="no scan job 99"):
        build_vics(store, job=99)
    with pytest.raises(ReportError, match="no case named"):
        build_vics(store, case="nobody")
    with pytest.raises(ReportError, match="unknown VICS version"):
        build_vics(store, version="3.0")
    assert VicsConfig().category_name(9) == "category 9"


def test_cli_export_then_bank_import(
    capsys: pytest.CaptureFixture[str],
    store: Store,
    decided: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "vics.json"
    db = store.engine.url.render_as_string(hide_password=False)
    code, stdout, err = run_cli(
        capsys, "report", "vics", "--out", str(out), "--vics-version", "1.3", "--db", db
    )
    assert code == 0, err
    flat = " ".join(stdout.split())
    assert "3 media records (3 files)" in flat
    assert "skipped 3" in flat and "escalate 1" in flat and "undecided 1" in flat
    assert json.loads(out.read_text())["odata.metadata"].endswith("1.3.xml#Media")

    code, _, err = run_cli(capsys, "bank", "import", "reviewed", str(out), "--db", db)
    assert code == 0, err
    with Store(db) as again:
        bank = again.load_bank("reviewed")
    found = {(e.signal_type, e.value): set(e.labels) for e in bank.entries}
    assert found == _expected(decided, {"abuse-real": 1, "abuse-ai": 3, "not-abuse": 0})


def test_cli_says_what_is_wrong(
    capsys: pytest.CaptureFixture[str], store: Store, tmp_path: Path
) -> None:
    db = store.engine.url.render_as_string(hide_password=False)
    code, _, err = run_cli(
        capsys, "report", "vics", "--out", str(tmp_path / "o.json"), "--job", "5", "--db", db
    )
    assert code == 3
    assert "no scan job 5" in err
