"""Configuration of the history store (the ``store:`` section).

Lives beside the store so :mod:`ecotrack.config` only imports it. The defaults give every installation a
history without any setting: a SQLite file ``ecotrack.db`` in the data directory, readings every 10 s
kept for 14 days, their 5-minute aggregates for two years.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel

__all__ = ["CsvLogConfig", "StoreConfig"]

#: Name of the SQLite file in the data directory when no URL is given.
DEFAULT_DB_FILE = "ecotrack.db"


class CsvLogConfig(ConfigModel):
    """TWCManager-compatible CSV files (``chargesessions.csv``, ``greenenergy.csv``, ``slavestatus.csv``)."""

    path: Path | None = Field(
        None,
        description="Directory for the CSV files; null: a 'csv' folder in the data directory. Relative paths "
        "are relative to the data directory.",
    )
    interval_s: float = Field(
        60.0, ge=1, le=3600, description="Seconds between two greenenergy.csv / slavestatus.csv rows."
    )
    quote: bool = Field(True, description="Quote every column, as TWCManager does by default.")


class StoreConfig(ConfigModel):
    """Where and how history (readings, charging sessions, events) is kept."""

    enabled: bool = Field(True, description="Keep a history at all.")
    url: str | None = Field(
        None,
        description="SQLAlchemy database URL, e.g. postgresql+psycopg://user:pw@host/ecotrack or "
        "mysql+pymysql://user:pw@host/ecotrack; null: a SQLite file ecotrack.db in the data directory.",
    )
    resolution_s: float = Field(
        10.0, ge=1, le=300, description="Readings are averaged over and stored at this interval (s)."
    )
    raw_retention_days: float = Field(
        14.0, gt=0, le=3650, description="Days to keep readings at full resolution (5-min aggregates stay)."
    )
    aggregate_retention_days: float | None = Field(
        730.0, gt=0, description="Days to keep 5-minute aggregates; null keeps them forever."
    )
    events_retention_days: float | None = Field(
        365.0, gt=0, description="Days to keep events (mode changes, faults); null keeps them forever."
    )
    flush_interval_s: float = Field(
        2.0,
        gt=0,
        le=60,
        description="Seconds between two batched writes; at most this much history is lost on a crash.",
    )
    max_pending: int = Field(
        100_000,
        ge=100,
        description="Readings held in memory while the database is unreachable; the oldest are dropped "
        "beyond it (sessions and events are never dropped).",
    )
    csv: CsvLogConfig | None = Field(
        None, description="Also write CSV files in TWCManager's layout (null: no CSV files)."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(v)
        except ArgumentError as e:
            raise ValueError(f"not a database URL ({e})") from None
        if url.get_backend_name() not in {"sqlite", "postgresql", "mysql", "mariadb"}:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}: use sqlite, postgresql or mysql"
            )
        return v
