"""CyberTipline reports: plans from reviewed items, XML in schema order, previews.

Every document is validated against ``cybertip.xsd``; the order tests rebuild the elements
from classes whose fields are declared in reverse and construct them with keyword arguments
reversed: the XML must not change, because the writer takes order from ``CHILDREN`` alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from needle.audit import AuditLog
from needle.errors import ConfigError, ReportError
from needle.report.cybertip import (
    Credentials,
    NcmecConfig,
    build_file_details,
    build_report,
    load_config,
    load_credentials,
    plan_reports,
    preview_report,
    submission,
    submissions,
    to_xml,
    validate,
)
from needle.report.cybertip import model as m
from needle.store import Store
from report.cybertip_seed import REVIEWER, Seeded, seed, write_config


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened


@pytest.fixture
def seeded(store: Store, tmp_path: Path) -> Seeded:
    return seed(store, tmp_path)


@pytest.fixture
def config(tmp_path: Path) -> NcmecConfig:
    return load_config(write_config(tmp_path / "ncmec.toml"))


def _tags(xml: str) -> list[str]:
    return [child.tag for child in ET.fromstring(xml.split("\n", 1)[1])]


def test_plans_group_abuse_decisions_by_account(store: Store, seeded: Seeded) -> None:
    plans = plan_reports(store)
    assert [(p.case_name, p.file_ids) for p in plans] == [
        ("acct-1", (seeded.ids["a"], seeded.ids["b"])),
        (None, (seeded.ids["c"],)),
    ]
    assert plans[0].account is not None and plans[0].account.esp_user_id == "u-100"
    assert plans[0].account.other == (("signed_up", "2024-01-01"),)
    (by_case,) = plan_reports(store, case="acct-1")
    assert by_case.file_ids == plans[0].file_ids
    (by_account,) = plan_reports(store, account="u-100")
    assert by_account == by_case


def test_plans_refuse_what_is_not_decided_as_abuse(store: Store, seeded: Seeded) -> None:
    with pytest.raises(ReportError, match="not decided as abuse"):
        plan_reports(store, items=[seeded.ids["a"], seeded.ids["d"]])
    with pytest.raises(ReportError, match="no item 999"):
        plan_reports(store, items=[999])
    with pytest.raises(ReportError, match="no case is the account"):
        plan_reports(store, account="u-nobody")
    with pytest.raises(ReportError, match="one of them"):
        plan_reports(store, items=[1], case="acct-1")


def test_report_and_file_details_validate_with_the_fields_they_need(
    store: Store, seeded: Seeded, config: NcmecConfig
) -> None:
    plans = {p.case_name: p for p in plan_reports(store)}
    xml = to_xml(build_report(plans["acct-1"], config))
    validate(xml)
    assert _tags(xml) == ["incidentSummary", "reporter", "personOrUserReported", "additionalInfo"]
    root = ET.fromstring(xml.split("\n", 1)[1])
    reported = root.find("personOrUserReported")
    assert reported is not None
    assert reported.findtext("espIdentifier") == "u-100"
    assert reported.findtext("espService") == "Example Photos"
    assert reported.findtext("ipCaptureEvent/ipAddress") == "192.0.2.10"
    assert root.findtext("reporter/reportingPerson/email") == "reports@example.org"
    files = {f.file_id: f for p in plans.values() for f in p.files}
    expected = {"a": ("A1", False), "b": (None, True), "c": ("B2", True)}
    for name, (classification, ai) in expected.items():
        file = files[seeded.ids[name]]
        details = to_xml(build_file_details(file, config, "1001", "f" * 32))
        validate(details)
        node = ET.fromstring(details.split("\n", 1)[1])
        assert node.findtext("originalFileName") == f"{name}.jpg"
        assert node.findtext("industryClassification") == classification
        assert (node.find("fileAnnotations/generativeAi") is not None) is ai
        hashes = {h.get("hashType"): h.text for h in node.findall("originalFileHash")}
        assert hashes["MD5"] == file.md5
        assert node.findtext("fileViewedByEsp") == "true"
        assert node.findtext("publiclyAvailable") == "false"
        pairs = {p.findtext("name"): p.findtext("value") for p in node.iter("nameValuePair")}
        assert pairs["SHA-256"] == file.sha256


def test_an_account_without_files_is_a_report_about_the_account(
    store: Store, seeded: Seeded, config: NcmecConfig
) -> None:
    (plan,) = plan_reports(store, account="u-200")
    assert plan.case_name == "acct-2" and plan.files == ()
    xml = to_xml(build_report(plan, config))
    validate(xml)
    assert "<screenName>user200</screenName>" in xml


def test_the_schema_rejects_an_element_out_of_order(
    store: Store, seeded: Seeded, config: NcmecConfig
) -> None:
    (plan,) = plan_reports(store, case="acct-1")
    xml = to_xml(build_report(plan, config))
    summary = xml[xml.index("  <incidentSummary>") : xml.index("  <reporter>")]
    swapped = xml.replace(summary, "")
    swapped = swapped.replace("</reporter>\n", "</reporter>\n" + summary)
    with pytest.raises(ReportError, match="schema"):
        validate(swapped)


def _reversed_class(cls: type[m.Element]) -> type[m.Element]:
    """``cls`` again, its dataclass fields declared in reverse (keyword-only)."""
    specs = []
    for f in reversed(dataclasses.fields(cls)):  # type: ignore[arg-type]
        spec = dataclasses.field(default=f.default, default_factory=f.default_factory)
        specs.append((f.name, f.type, spec))
    namespace = {k: getattr(cls, k) for k in ("ELEMENT", "CHILDREN", "ATTRIBUTES", "TEXT")}
    return dataclasses.make_dataclass(  # type: ignore[no-any-return]
        f"Reversed{cls.__name__}", specs, bases=(m.Element,), namespace=namespace,
        frozen=True, kw_only=True,
    )  # fmt: skip


def _shuffled(value: Any) -> Any:
    """The same element tree rebuilt from reversed classes, keyword arguments reversed."""
    if isinstance(value, tuple):
        return tuple(_shuffled(v) for v in value)
    if not isinstance(value, m.Element):
        return value
    cls = _reversed_class(type(value))
    names = [f.name for f in dataclasses.fields(value)]  # type: ignore[arg-type]
    assert names != [f.name for f in dataclasses.fields(cls)] or len(names) < 2
    kwargs = {name: _shuffled(getattr(value, name)) for name in reversed(names)}
    return cls(**kwargs)


def test_field_order_never_changes_the_xml(
    store: Store, seeded: Seeded, config: NcmecConfig
) -> None:
    plans = plan_reports(store)
    for plan in plans:
        report = build_report(plan, config)
        assert to_xml(_shuffled(report)) == to_xml(report)
        for file in plan.files:
            details = build_file_details(file, config, "1001", "f" * 32)
            shuffled = to_xml(_shuffled(details))
            assert shuffled == to_xml(details)
            validate(shuffled)
            declared = [c.name for c in m.FileDetails.CHILDREN]
            tags = _tags(shuffled)
            assert tags == sorted(tags, key=declared.index)


def test_an_undeclared_field_cannot_be_written() -> None:
    @dataclasses.dataclass(frozen=True)
    class Sloppy(m.Element):
        ELEMENT = "sloppy"
        CHILDREN = (m.Child("name", "name"),)

        name: str
        extra: str = "where does this go?"

    with pytest.raises(ReportError, match="declares"):
        to_xml(Sloppy("x"))


def test_a_report_needs_the_reporters_email(store: Store, seeded: Seeded) -> None:
    (plan,) = plan_reports(store, case="acct-1")
    with pytest.raises(ConfigError, match=r"\[ncmec.reporter\]"):
        build_report(plan, NcmecConfig())


def test_preview_is_stored_and_audited(store: Store, seeded: Seeded, config: NcmecConfig) -> None:
    (plan,) = plan_reports(store, case="acct-1")
    preview = preview_report(store, plan, config, REVIEWER)
    assert len(preview.files) == 2 and "<report>" in preview.xml
    kept = submission(store, preview.submission_id)
    assert kept.status == "previewed" and kept.report_id is None
    assert kept.file_ids == plan.file_ids and kept.case_name == "acct-1"
    assert [s.step for s in kept.log] == ["preview"]
    assert [s.id for s in submissions(store)] == [preview.submission_id]
    (entry,) = AuditLog(store.engine).entries(action="report-preview")
    assert entry.target == f"submission:{preview.submission_id}" and entry.actor == REVIEWER
    with pytest.raises(ReportError, match="no NCMEC submission"):
        submission(store, 999)


def test_config_and_credentials(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "a.toml"))
    assert config.url == "https://exttest.cybertip.org/ispws"
    assert config.reporter.email == "reports@example.org"
    prod = load_config(write_config(tmp_path / "b.toml", environment="production"))
    assert prod.url == "https://report.cybertip.org/ispws"
    with pytest.raises(ConfigError, match="environment"):
        load_config(write_config(tmp_path / "c.toml", environment="staging"))
    assert load_credentials(config, {}) is None
    env = {"NEEDLE_NCMEC_USERNAME": "u", "NEEDLE_NCMEC_PASSWORD": "secret-pw"}
    found = load_credentials(config, env)
    assert found == Credentials("u", "secret-pw") and "secret-pw" not in repr(found)
    (tmp_path / "login.toml").write_text('username = "f"\npassword = "p"\n')
    with_file = load_config(write_config(tmp_path / "d.toml", credentials_file="login.toml"))
    assert load_credentials(with_file, {}) == Credentials("f", "p")
