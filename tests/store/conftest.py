"""Store fixtures: every store test runs on SQLite (a file in tmp_path) and on a real PostgreSQL.

The PostgreSQL server is started once per test session (``initdb`` into a temporary directory, a free
loopback port; see :mod:`ecotrack.services.store.throwaway`) and every test gets a new empty database in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecotrack.services.store.throwaway import PostgresServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file, or a fresh database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ecotrack.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()
