"""Versioned schema: each migration brings the database from version N-1 to N, run on start-up.

The table ``schema_version`` holds one row per applied migration. :func:`migrate` applies the missing
ones in order, each in its own transaction (PostgreSQL and SQLite roll DDL back on failure; MySQL cannot,
so a failed MySQL migration may need a manual look, and the error says which step failed).

Migrations are frozen: they carry their own copy of the tables as they were at that version, so a later
change to :mod:`ecotrack.services.store.schema` never alters what an old migration does. Add a change as a new
function at the end of :data:`MIGRATIONS`; a test checks the migrated database equals the latest schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ecotrack.services.store.schema import UTCDateTime, schema_version

__all__ = ["LATEST", "MIGRATIONS", "Migration", "SchemaError", "current_version", "migrate"]

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database cannot be used: newer than this program, or not an ecotrack database."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1(conn: sa.Connection) -> None:
    """Readings, sessions and events as first released."""
    md = sa.MetaData()
    sa.Table(
        "site_readings",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", UTCDateTime, nullable=False, index=True),
        sa.Column("grid_w", sa.Float),
        sa.Column("pv_w", sa.Float),
        sa.Column("battery_w", sa.Float),
        sa.Column("battery_soc_pct", sa.Float),
        sa.Column("surplus_w", sa.Float),
    )
    sa.Table(
        "loadpoint_readings",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", UTCDateTime, nullable=False, index=True),
        sa.Column("loadpoint", sa.String(100), nullable=False),
        sa.Column("power_w", sa.Float, nullable=False),
        sa.Column("current_a", sa.Float, nullable=False),
        sa.Column("commanded_a", sa.Float, nullable=False),
    )
    sa.Table(
        "sessions",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("loadpoint", sa.String(100), nullable=False, index=True),
        sa.Column("charger", sa.String(100), nullable=False),
        sa.Column("vehicle", sa.String(100)),
        sa.Column("started", UTCDateTime, nullable=False, index=True),
        sa.Column("ended", UTCDateTime),
        sa.Column("energy_wh", sa.Float, nullable=False),
        sa.Column("solar_wh", sa.Float, nullable=False),
        sa.Column("grid_wh", sa.Float, nullable=False),
        sa.Column("max_power_w", sa.Float, nullable=False),
        sa.Column("meter_start_wh", sa.Float),
        sa.Column("meter_end_wh", sa.Float),
        sa.Column("updated", UTCDateTime),
    )
    sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", UTCDateTime, nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("loadpoint", sa.String(100)),
        sa.Column("message", sa.String(1000), nullable=False),
    )
    md.create_all(conn)


def _add_column(conn: sa.Connection, table: str, column: sa.Column[object]) -> None:
    type_sql = column.type.compile(dialect=conn.dialect)
    name = conn.dialect.identifier_preparer.quote(column.name)
    conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {type_sql}"))


def _v2(conn: sa.Connection) -> None:
    """Session cost and solar savings; 5-minute aggregates of the readings."""
    _add_column(conn, "sessions", sa.Column("cost", sa.Float))
    _add_column(conn, "sessions", sa.Column("savings", sa.Float))
    _add_column(conn, "sessions", sa.Column("currency", sa.String(8)))
    md = sa.MetaData()
    sa.Table(
        "site_readings_5m",
        md,
        sa.Column("bucket", UTCDateTime, primary_key=True),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("grid_w", sa.Float),
        sa.Column("grid_min_w", sa.Float),
        sa.Column("grid_max_w", sa.Float),
        sa.Column("pv_w", sa.Float),
        sa.Column("battery_w", sa.Float),
        sa.Column("battery_soc_pct", sa.Float),
        sa.Column("surplus_w", sa.Float),
    )
    sa.Table(
        "loadpoint_readings_5m",
        md,
        sa.Column("bucket", UTCDateTime, primary_key=True),
        sa.Column("loadpoint", sa.String(100), primary_key=True),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("power_w", sa.Float, nullable=False),
        sa.Column("max_power_w", sa.Float, nullable=False),
        sa.Column("current_a", sa.Float, nullable=False),
    )
    md.create_all(conn)


def _v3(conn: sa.Connection) -> None:
    """The car's state of charge at the start and end of each session (NULL for older sessions)."""
    _add_column(conn, "sessions", sa.Column("soc_start_pct", sa.Float))
    _add_column(conn, "sessions", sa.Column("soc_end_pct", sa.Float))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "readings, sessions, events", _v1),
    Migration(2, "session cost and savings; 5-minute aggregates", _v2),
    Migration(3, "session state of charge at start and end", _v3),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    """The schema version of the database (0 when empty); SchemaError for a foreign database."""
    tables = set(sa.inspect(conn).get_table_names())
    if "schema_version" not in tables:
        if tables & {"sessions", "site_readings", "events"}:
            raise SchemaError(
                "the database has ecotrack-like tables but no schema_version table: "
                "not created by ecotrack; use another database"
            )
        return 0
    value = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(value) if value is not None else 0


def migrate(engine: sa.Engine, target: int = LATEST) -> tuple[int, int]:
    """Bring the database to version ``target``; returns (version before, version after).

    Raises :class:`SchemaError` when the database is newer than this program knows.
    """
    with engine.connect() as conn:
        before = current_version(conn)
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
    if before > LATEST:
        raise SchemaError(
            f"the database has schema version {before}, newer than this ecotrack knows ({LATEST}): "
            "upgrade ecotrack or point it at another database"
        )
    for m in MIGRATIONS:
        if before < m.version <= target:
            log.info("store: migrating the schema to version %d (%s)", m.version, m.description)
            try:
                with engine.begin() as conn:
                    m.apply(conn)
                    conn.execute(
                        schema_version.insert().values(
                            version=m.version, applied=datetime.now(UTC), description=m.description
                        )
                    )
            except sa.exc.SQLAlchemyError as e:
                raise SchemaError(f"migration to schema version {m.version} failed: {e}") from e
    with engine.connect() as conn:
        return before, current_version(conn)
