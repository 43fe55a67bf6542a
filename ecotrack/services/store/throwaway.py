"""A throwaway PostgreSQL server for tests and benchmarks (Debian's ``postgresql`` package).

``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port, ``pg_ctl stop`` and
delete on exit. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(created by the Debian package) through ``runuser``. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_pg_bin"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian version first, then PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for c in candidates:
        if (Path(c) / "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install Debian's 'postgresql' package "
        "(scripts/ensure-debian-packages does it)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A private PostgreSQL cluster. Use as a context manager; :meth:`url` gives a SQLAlchemy URL."""

    def __init__(self, *, user: str = "ecotrack") -> None:
        self.bin = find_pg_bin()
        self.user = user
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ecotrack-pg-"))
        self.data = self.dir / "data"
        self._as_root = os.geteuid() == 0
        self._counter = 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync", "-E", "UTF8")
            self._pg_ctl_start()
        except subprocess.CalledProcessError as e:
            log = (self.dir / "log").read_text(errors="replace") if (self.dir / "log").exists() else ""
            self.cleanup()
            raise RuntimeError(f"starting PostgreSQL failed: {e.stderr or e.stdout}\n{log}") from e
        return self

    def _pg_ctl_start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def crash(self) -> None:
        """Stop the server the hard way (``-m immediate``, like a power cut) and keep its data."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)

    def restart(self) -> None:
        """Start the cluster again after :meth:`crash`, on the same port."""
        self._pg_ctl_start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import sqlalchemy as sa

        if name is None:
            self._counter += 1
            name = f"t{self._counter}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        self.cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    """``with postgres() as pg:`` — a started server, stopped afterwards."""
    with PostgresServer() as pg:
        yield pg
