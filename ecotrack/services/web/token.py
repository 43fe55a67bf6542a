"""The API's bearer token: taken from the configuration, or generated once into the data directory.

A generated token is written to ``<data_dir>/http-token`` with mode 0600 (created exclusively, so two
processes starting at once cannot both write one, and never through a symlink) and reported once, on
the run that created it; later runs read it back and only name the file. The file is opened with
``O_NOFOLLOW`` and its mode narrowed through that open descriptor, so a symlink planted in its place
cannot redirect the chmod (or the read) to another file. A file that is unreadable, empty or not a token is an error
that names the file, rather than a silently replaced secret that would lock out every script.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TOKEN_FILE", "TokenError", "TokenSource", "load_or_create_token"]

log = logging.getLogger(__name__)

#: Name of the generated token's file inside the data directory.
TOKEN_FILE = "http-token"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")


class TokenError(Exception):
    """The token file exists but cannot be used."""


@dataclass(frozen=True, slots=True)
class TokenSource:
    """The token and where it came from."""

    token: str
    #: ``config``, ``file`` (read back) or ``generated`` (this run created it).
    origin: str
    path: Path | None


def load_or_create_token(configured: str | None, data_dir: Path) -> TokenSource:
    """The configured token, else the one stored in ``data_dir``, else a new one stored there."""
    if configured is not None:
        return TokenSource(configured, "config", None)
    path = data_dir / TOKEN_FILE
    if not os.path.lexists(path):
        token = secrets.token_urlsafe(32)
        try:
            # O_EXCL: fails on any existing name, a symlink included (it is not followed).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another process won the race: use its token
            return _read(path)
        except OSError as e:
            raise TokenError(f"cannot store the API token in {path}: {e.strerror or e}") from e
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return TokenSource(token, "generated", path)
    return _read(path)


def _read(path: Path) -> TokenSource:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise TokenError(
                f"{path} is a symbolic link; the API token file must be a plain file (delete the link to have "
                "a new token generated)"
            ) from None
        raise TokenError(f"cannot read the API token from {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        try:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise TokenError(f"{path} is not a regular file; it cannot hold the API token")
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                log.warning("%s was readable by others (mode %o); setting it to 0600", path, mode)
                os.fchmod(f.fileno(), 0o600)
            token = f.read(4096).decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise TokenError(f"cannot read the API token from {path}: {e}") from e
    if not _TOKEN_RE.match(token):
        raise TokenError(
            f"{path} does not hold a usable API token (16-256 characters of A-Z a-z 0-9 . _ ~ + / = -); "
            "delete it to have a new one generated, or set http.token in the configuration"
        )
    return TokenSource(token, "file", path)
