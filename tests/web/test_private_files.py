"""What the daemon writes is private to its user, and a data directory it cannot use is a clear error
(issue 12, defect 7: token file chmod through a symlink, 0644 database files in a 0755 directory, a raw
OSError traceback for a data dir under a file).

The modes are checked with a permissive umask (022) in force, so only the code's own care makes the
files private."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app as cli
from ecotrack.config_load import DataDirError, resolve_data_dir
from ecotrack.services.store.csvlog import FILES, CsvLog
from ecotrack.services.store.db import Store
from ecotrack.services.store.records import SessionRecord
from ecotrack.services.web.token import TOKEN_FILE, TokenError, load_or_create_token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_the_token_file_chmod_and_read_do_not_follow_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("abcdefghijklmnopqrstuvwxyz\n")
    victim.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir()
    (data / TOKEN_FILE).symlink_to(victim)
    with pytest.raises(TokenError, match="symbolic link"):
        load_or_create_token(None, data)
    assert mode(victim) == 0o644  # untouched
    dangling = tmp_path / "other"
    (other := tmp_path / "data2").mkdir()
    (other / TOKEN_FILE).symlink_to(dangling)
    with pytest.raises(TokenError):
        load_or_create_token(None, other)
    assert not dangling.exists()  # nothing was created through the link


def test_a_generated_token_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    with umask(0o000):
        source = load_or_create_token(None, tmp_path)
    assert source.path is not None and mode(source.path) == 0o600


def test_data_dir_is_created_0700_and_an_open_one_is_narrowed(tmp_path: Path) -> None:
    with umask(0o022):
        fresh = resolve_data_dir(None, tmp_path / "a" / "data")
        assert mode(fresh) == 0o700
        loose = tmp_path / "loose"
        loose.mkdir(mode=0o755)
        assert mode(resolve_data_dir(None, loose)) == 0o700


def test_sqlite_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0o022):
        store = Store(f"sqlite:///{data / 'ecotrack.db'}")
        try:
            store.put_session(SessionRecord(id="s1", loadpoint="garage", charger="car", started=datetime.now(UTC)))
            files = sorted(data.glob("ecotrack.db*"))
            assert {f.name for f in files} >= {"ecotrack.db", "ecotrack.db-wal", "ecotrack.db-shm"}
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
            assert mode(data) == 0o700
        finally:
            store.close()
        # Files an older version left 0644 are narrowed when the database is opened again.
        for f in data.glob("ecotrack.db*"):
            f.chmod(0o644)
        Store(f"sqlite:///{data / 'ecotrack.db'}").close()
        assert all(mode(f) == 0o600 for f in data.glob("ecotrack.db*"))


def test_csv_log_files_are_0600(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "csv")
    log._add(FILES[0], ["2024-06-21 12:00:00", 1, 2])
    with umask(0o022):
        log.write_pending()
    assert mode(tmp_path / "csv" / FILES[0]) == 0o600 and mode(tmp_path / "csv") == 0o700


def test_a_data_dir_that_cannot_be_created_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    with pytest.raises(DataDirError, match="a file is in the way"):
        resolve_data_dir(None, blocker / "data")
    config = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"
    runner = CliRunner()
    saved = os.umask(0o022)
    try:
        for args in (["run", "-c", str(config), "--data-dir", str(blocker / "data")], ["demo", "--data-dir", str(blocker)]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 2, (args, result.output)
            assert isinstance(result.exception, SystemExit), result.exception  # no other exception escaped
            assert "Traceback" not in result.output, result.output
            lines = [line for line in result.output.splitlines() if "cannot use the data directory" in line]
            assert len(lines) == 1 and "a file is in the way" in lines[0], result.output
    finally:
        os.umask(saved)
