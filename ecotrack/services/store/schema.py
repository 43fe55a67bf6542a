"""The database schema at its latest version (SQLAlchemy Core tables).

Times are stored as UTC: ``timestamptz`` on PostgreSQL, a naive UTC ``DATETIME`` (microseconds) on SQLite
and MySQL; :class:`UTCDateTime` converts on the way in and out so callers only ever see aware UTC
datetimes. The tables are created and upgraded by :mod:`ecotrack.services.store.migrations`, never by
``metadata.create_all``: this module is what the migrations must arrive at (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

__all__ = [
    "AGGREGATE_S",
    "UTCDateTime",
    "events",
    "loadpoint_readings",
    "loadpoint_readings_5m",
    "metadata",
    "schema_version",
    "sessions",
    "site_readings",
    "site_readings_5m",
]

#: Width of an aggregate bucket (s).
AGGREGATE_S = 300

NAME = 100


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (naive values are refused: their zone is unknown)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store needs aware times")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied", UTCDateTime, nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
)

site_readings = sa.Table(
    "site_readings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False, index=True),
    sa.Column("grid_w", sa.Float),
    sa.Column("pv_w", sa.Float),
    sa.Column("battery_w", sa.Float),
    sa.Column("battery_soc_pct", sa.Float),
    sa.Column("surplus_w", sa.Float),
)

loadpoint_readings = sa.Table(
    "loadpoint_readings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False, index=True),
    sa.Column("loadpoint", sa.String(NAME), nullable=False),
    sa.Column("power_w", sa.Float, nullable=False),
    sa.Column("current_a", sa.Float, nullable=False),
    sa.Column("commanded_a", sa.Float, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("loadpoint", sa.String(NAME), nullable=False, index=True),
    sa.Column("charger", sa.String(NAME), nullable=False),
    sa.Column("vehicle", sa.String(NAME)),
    sa.Column("started", UTCDateTime, nullable=False, index=True),
    sa.Column("ended", UTCDateTime),
    sa.Column("energy_wh", sa.Float, nullable=False),
    sa.Column("solar_wh", sa.Float, nullable=False),
    sa.Column("grid_wh", sa.Float, nullable=False),
    sa.Column("max_power_w", sa.Float, nullable=False),
    sa.Column("meter_start_wh", sa.Float),
    sa.Column("meter_end_wh", sa.Float),
    sa.Column("soc_start_pct", sa.Float),
    sa.Column("soc_end_pct", sa.Float),
    sa.Column("updated", UTCDateTime),
    # version 2
    sa.Column("cost", sa.Float),
    sa.Column("savings", sa.Float),
    sa.Column("currency", sa.String(8)),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", UTCDateTime, nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("loadpoint", sa.String(NAME)),
    sa.Column("message", sa.String(1000), nullable=False),
)

# version 2: 5-minute aggregates
site_readings_5m = sa.Table(
    "site_readings_5m",
    metadata,
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

loadpoint_readings_5m = sa.Table(
    "loadpoint_readings_5m",
    metadata,
    sa.Column("bucket", UTCDateTime, primary_key=True),
    sa.Column("loadpoint", sa.String(NAME), primary_key=True),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("power_w", sa.Float, nullable=False),
    sa.Column("max_power_w", sa.Float, nullable=False),
    sa.Column("current_a", sa.Float, nullable=False),
)
