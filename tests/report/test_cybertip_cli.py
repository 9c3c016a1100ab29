"""``needle report ncmec``: preview to a folder or the terminal, send only when asked and
configured, in-process against a temporary database and the local stand-in service."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from needle.report.cybertip import submissions, validate
from needle.store import Store
from report.cybertip_seed import seed, write_config
from report.cybertip_server import PASSWORD, USERNAME, running_service


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    with Store(url) as store:
        seed(store, tmp_path)
    return url


def test_preview_writes_the_xml_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str
) -> None:
    config = write_config(tmp_path / "ncmec.toml", "http://127.0.0.1:9/unused")
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "report", "ncmec", "--case", "acct-1", "--config", str(config),
        "--out", str(out), "--db", db,
    )  # fmt: skip
    assert code == 0, err
    assert "previewed submission" in err and "nothing sent" in err
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 3 and written[-1].endswith("-report.xml")
    for path in out.iterdir():
        validate(path.read_text())
    with Store(db) as store:
        assert [s.status for s in submissions(store)] == ["previewed"]


def test_preview_prints_without_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str
) -> None:
    config = write_config(tmp_path / "ncmec.toml")
    code, out, _ = run_cli(
        capsys, "report", "ncmec", "--account", "u-200", "--config", str(config), "--db", db
    )
    assert code == 0
    assert out.count("<report>") == 1 and "<espIdentifier>u-200</espIdentifier>" in out


def test_items_not_decided_as_abuse_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str
) -> None:
    config = write_config(tmp_path / "ncmec.toml")
    code, _, err = run_cli(capsys, "report", "ncmec", "4", "--config", str(config), "--db", db)
    assert code == 3 and "not decided as abuse" in err


def test_send_without_credentials_says_how_to_configure_them(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    db: str,
) -> None:
    monkeypatch.delenv("NEEDLE_NCMEC_USERNAME", raising=False)
    monkeypatch.delenv("NEEDLE_NCMEC_PASSWORD", raising=False)
    config = write_config(tmp_path / "ncmec.toml")
    code, _, err = run_cli(
        capsys, "report", "ncmec", "--case", "acct-1", "--send", "--config", str(config),
        "--db", db,
    )  # fmt: skip
    assert code != 0 and "NEEDLE_NCMEC_USERNAME" in err and "credentials_file" in err
    with Store(db) as store:
        assert submissions(store) == []


def test_send_to_the_test_service(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    db: str,
) -> None:
    monkeypatch.setenv("NEEDLE_NCMEC_USERNAME", USERNAME)
    monkeypatch.setenv("NEEDLE_NCMEC_PASSWORD", PASSWORD)
    with running_service() as (url, server):
        config = write_config(tmp_path / "ncmec.toml", url)
        code, out, err = run_cli(
            capsys, "report", "ncmec", "--case", "acct-1", "--send", "--config", str(config),
            "--db", db,
        )  # fmt: skip
        assert code == 0, err
        (report,) = server.reports.values()
        assert report.state == "finished" and f"report {report.report_id} sent to test" in out
        server.fail["upload"] = "code"
        code, _, err = run_cli(
            capsys, "report", "ncmec", "--case", "acct-1", "--send", "--config", str(config),
            "--db", db,
        )  # fmt: skip
    assert code == 3 and "submission 2" in err and "responseCode 1000" in err
    with Store(db) as store:
        assert [s.status for s in submissions(store)] == ["retracted", "finished"]


def test_send_reads_uploads_from_the_services_quarantine(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    db: str,
) -> None:
    import sqlalchemy as sa

    from needle.store.quarantine import KEY_VARIABLE, Quarantine, load_key, new_key
    from needle.store.schema import FileRow

    monkeypatch.setenv("NEEDLE_NCMEC_USERNAME", USERNAME)
    monkeypatch.setenv("NEEDLE_NCMEC_PASSWORD", PASSWORD)
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    folder = tmp_path / "quarantine"
    held = Quarantine(folder, load_key())
    picture = tmp_path / "media" / "a.jpg"
    ref = held.put(picture.read_bytes())
    picture.unlink()  # only the quarantine holds it now, as for an upload to needle serve
    with Store(db) as store, store.engine.begin() as connection:
        connection.execute(
            sa.update(FileRow)
            .where(FileRow.path == str(picture))
            .values(path=f"upload:{ref}/a.jpg")
        )
    with running_service() as (url, server):
        config = write_config(tmp_path / "ncmec.toml", url)
        base = (
            "report",
            "ncmec",
            "--case",
            "acct-1",
            "--send",
            "--config",
            str(config),
            "--db",
            db,
        )
        code, _, err = run_cli(capsys, *base)
        assert code == 3 and "cannot be read" in err  # without the quarantine: retracted
        code, _, err = run_cli(capsys, *base, "--quarantine", str(folder))
        assert code == 0, err
    finished = [r for r in server.reports.values() if r.state == "finished"]
    assert len(finished) == 1 and len(finished[0].files) == 2
