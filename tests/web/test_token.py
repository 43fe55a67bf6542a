"""The API token: configured, generated once with mode 0600, read back, bad files refused clearly."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.server import announce_token
from ecotrack.services.web.token import TOKEN_FILE, TokenError, load_or_create_token


def test_generated_once_with_0600_then_read_back(tmp_path: Path) -> None:
    first = load_or_create_token(None, tmp_path)
    assert first.origin == "generated" and first.path == tmp_path / TOKEN_FILE
    assert len(first.token) >= 40
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = load_or_create_token(None, tmp_path)
    assert (again.origin, again.token) == ("file", first.token)


def test_configured_token_wins_and_writes_nothing(tmp_path: Path) -> None:
    source = load_or_create_token("configured-token-123456", tmp_path)
    assert (source.origin, source.token, source.path) == ("config", "configured-token-123456", None)
    assert not (tmp_path / TOKEN_FILE).exists()


def test_the_log_names_the_token_file_but_never_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ecotrack.services.web.server")
    generated = load_or_create_token(None, tmp_path)
    announce_token(generated)
    announce_token(load_or_create_token(None, tmp_path))
    assert not any(generated.token in r.getMessage() for r in caplog.records)
    assert all(str(tmp_path / TOKEN_FILE) in r.getMessage() for r in caplog.records)
    assert len(caplog.records) == 2


def test_a_token_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text("abcdefghijklmnopqrstuvwxyz\n")
    path.chmod(0o644)
    assert load_or_create_token(None, tmp_path).token == "abcdefghijklmnopqrstuvwxyz"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "short", "has spaces in the token value", "\xff\xfe"])
def test_unusable_token_files_are_errors_naming_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(TokenError, match=str(path)):
        load_or_create_token(None, tmp_path)
    assert path.read_bytes() == content.encode("latin-1")  # never silently replaced


def test_config_rejects_weak_tokens_and_bad_hosts() -> None:
    with pytest.raises(ValidationError, match="token"):
        HttpConfig(token="short")
    with pytest.raises(ValidationError, match="host"):
        HttpConfig(host="http://0.0.0.0:8080")
    with pytest.raises(ValidationError, match="port"):
        HttpConfig(port=70000)
    assert HttpConfig(host="::1").host == "::1"
    assert HttpConfig().model_dump()["host"] == "127.0.0.1"
