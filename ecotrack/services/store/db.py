"""The history database: open (and migrate), write batches, read sessions/events/readings, roll up.

Everything here is synchronous SQLAlchemy Core and runs on the store's writer thread or in the CLI, never
on the event loop. SQLite is opened in WAL mode with ``synchronous=NORMAL``: a committed transaction
survives a crash of the process (``kill -9``); only an operating-system crash or power cut may lose the
last commits. Every batch is one transaction, so a crash never leaves half a batch.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ecotrack.services.store import schema as t
from ecotrack.services.store.config import DEFAULT_DB_FILE, StoreConfig
from ecotrack.services.store.migrations import migrate
from ecotrack.services.store.records import EventRecord, LoadpointRow, SessionRecord, SiteRow, ensure_utc

__all__ = ["Batch", "RollupResult", "Store", "database_url"]

log = logging.getLogger(__name__)

_SESSION_FIELDS = (
    "loadpoint",
    "charger",
    "vehicle",
    "started",
    "ended",
    "energy_wh",
    "solar_wh",
    "grid_wh",
    "max_power_w",
    "meter_start_wh",
    "meter_end_wh",
    "soc_start_pct",
    "soc_end_pct",
    "cost",
    "savings",
    "currency",
    "updated",
)


def database_url(config: StoreConfig | None, data_dir: Path) -> str:
    """The configured URL, or the SQLite file in ``data_dir``."""
    if config is not None and config.url:
        return config.url
    return f"sqlite:///{(data_dir / DEFAULT_DB_FILE).resolve()}"


@dataclass(slots=True)
class Batch:
    """What the writer collected between two flushes; written in one transaction."""

    site: list[SiteRow]
    loadpoints: list[LoadpointRow]
    sessions: dict[str, SessionRecord]
    events: list[EventRecord]

    @classmethod
    def empty(cls) -> Batch:
        return cls([], [], {}, [])

    def __len__(self) -> int:
        return len(self.site) + len(self.loadpoints) + len(self.sessions) + len(self.events)


@dataclass(frozen=True, slots=True)
class RollupResult:
    site_buckets: int
    loadpoint_buckets: int
    deleted_readings: int
    deleted_aggregates: int
    deleted_events: int


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


#: What SQLite keeps beside the database file (WAL mode, and the rollback journal of older files).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(db: Path) -> None:
    """Create ``db`` (and its directory) readable by this user only, and narrow an existing one to 0600.

    SQLite creates the ``-wal``/``-shm``/``-journal`` files with the database file's permissions, so
    a database file created here with 0600 keeps its companions private too; companions left by an
    older version are narrowed as well. An empty file is what SQLite takes for a new database.
    """
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(db, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        info = os.fstat(fd)
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            log.warning("%s was readable by other users; setting it to 0600", db)
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in SQLITE_SIDE_FILES:
        side = db.with_name(db.name + suffix)
        try:
            info = side.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            side.chmod(0o600)


class Store:
    """One database. ``Store(url)`` connects and migrates the schema to the latest version."""

    def __init__(self, url: str, *, migrate_schema: bool = True) -> None:
        self.url = sa.make_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if self.url.get_backend_name() == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                make_private(Path(self.url.database))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
        else:  # a server that does not answer must not hang the start for minutes
            kwargs["pool_pre_ping"] = True
            kwargs["pool_recycle"] = 1800
            kwargs["connect_args"] = {"connect_timeout": 10}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrated_from: int | None = None
        if migrate_schema:
            self.migrated_from, _ = migrate(self.engine)

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def describe(self) -> str:
        """The URL without its password, for logs."""
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ writing
    def write(self, batch: Batch) -> None:
        """Write ``batch`` in one transaction (all or nothing)."""
        with self.engine.begin() as conn:
            if batch.site:
                conn.execute(
                    t.site_readings.insert(),
                    [
                        {
                            "time": r.time,
                            "grid_w": r.grid_w,
                            "pv_w": r.pv_w,
                            "battery_w": r.battery_w,
                            "battery_soc_pct": r.battery_soc_pct,
                            "surplus_w": r.surplus_w,
                        }
                        for r in batch.site
                    ],
                )
            if batch.loadpoints:
                conn.execute(
                    t.loadpoint_readings.insert(),
                    [
                        {
                            "time": r.time,
                            "loadpoint": r.loadpoint,
                            "power_w": r.power_w,
                            "current_a": r.current_a,
                            "commanded_a": r.commanded_a,
                        }
                        for r in batch.loadpoints
                    ],
                )
            for s in batch.sessions.values():
                self._upsert_session(conn, s)
            if batch.events:
                conn.execute(
                    t.events.insert(),
                    [
                        {
                            "time": e.time,
                            "kind": e.kind[:40],
                            "loadpoint": e.loadpoint,
                            "message": e.message[:1000],
                        }
                        for e in batch.events
                    ],
                )

    @staticmethod
    def _upsert_session(conn: sa.Connection, s: SessionRecord) -> None:
        values = {f: getattr(s, f) for f in _SESSION_FIELDS}
        done = conn.execute(t.sessions.update().where(t.sessions.c.id == s.id).values(**values))
        if done.rowcount == 0:
            conn.execute(t.sessions.insert().values(id=s.id, **values))

    def put_session(self, session: SessionRecord) -> None:
        """Insert or replace one session now (the CLI and recovery use it; the engine goes through the writer)."""
        with self.engine.begin() as conn:
            self._upsert_session(conn, session)

    # ------------------------------------------------------------------ reading
    def sessions(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        loadpoint: str | None = None,
    ) -> list[SessionRecord]:
        """Sessions that started in [start, end), oldest first."""
        q = sa.select(t.sessions).order_by(t.sessions.c.started, t.sessions.c.id)
        if start is not None:
            q = q.where(t.sessions.c.started >= start)
        if end is not None:
            q = q.where(t.sessions.c.started < end)
        if loadpoint is not None:
            q = q.where(t.sessions.c.loadpoint == loadpoint)
        with self.engine.connect() as conn:
            return [_session(row._mapping) for row in conn.execute(q)]

    def session(self, session_id: str) -> SessionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.sessions).where(t.sessions.c.id == session_id)).first()
        return _session(row._mapping) if row is not None else None

    def open_sessions(self) -> list[SessionRecord]:
        """Sessions without an end (the program stopped, or crashed, while a car was connected)."""
        q = sa.select(t.sessions).where(t.sessions.c.ended.is_(None)).order_by(t.sessions.c.started)
        with self.engine.connect() as conn:
            return [_session(row._mapping) for row in conn.execute(q)]

    def events(
        self, start: datetime | None = None, end: datetime | None = None, kind: str | None = None
    ) -> list[EventRecord]:
        q = sa.select(t.events).order_by(t.events.c.time, t.events.c.id)
        if start is not None:
            q = q.where(t.events.c.time >= start)
        if end is not None:
            q = q.where(t.events.c.time < end)
        if kind is not None:
            q = q.where(t.events.c.kind == kind)
        with self.engine.connect() as conn:
            return [
                EventRecord(
                    time=ensure_utc(r.time), kind=r.kind, message=r.message, loadpoint=r.loadpoint, id=r.id
                )
                for r in conn.execute(q)
            ]

    def site_readings(self, start: datetime | None = None, end: datetime | None = None) -> list[SiteRow]:
        q = sa.select(t.site_readings).order_by(t.site_readings.c.time, t.site_readings.c.id)
        q = _between(q, t.site_readings.c.time, start, end)
        with self.engine.connect() as conn:
            return [
                SiteRow(
                    time=ensure_utc(r.time),
                    grid_w=r.grid_w,
                    pv_w=r.pv_w,
                    battery_w=r.battery_w,
                    battery_soc_pct=r.battery_soc_pct,
                    surplus_w=r.surplus_w,
                )
                for r in conn.execute(q)
            ]

    def loadpoint_readings(
        self, start: datetime | None = None, end: datetime | None = None, loadpoint: str | None = None
    ) -> list[LoadpointRow]:
        c = t.loadpoint_readings.c
        q = _between(sa.select(t.loadpoint_readings).order_by(c.time, c.id), c.time, start, end)
        if loadpoint is not None:
            q = q.where(c.loadpoint == loadpoint)
        with self.engine.connect() as conn:
            return [
                LoadpointRow(
                    time=ensure_utc(r.time),
                    loadpoint=r.loadpoint,
                    power_w=r.power_w,
                    current_a=r.current_a,
                    commanded_a=r.commanded_a,
                )
                for r in conn.execute(q)
            ]

    def site_aggregates(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """5-minute aggregates of the site readings, oldest first (one dict per bucket)."""
        c = t.site_readings_5m.c
        q = _between(sa.select(t.site_readings_5m).order_by(c.bucket), c.bucket, start, end)
        with self.engine.connect() as conn:
            return [{**r._mapping, "bucket": ensure_utc(r.bucket)} for r in conn.execute(q)]

    def loadpoint_aggregates(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        c = t.loadpoint_readings_5m.c
        q = _between(sa.select(t.loadpoint_readings_5m).order_by(c.bucket, c.loadpoint), c.bucket, start, end)
        with self.engine.connect() as conn:
            return [{**r._mapping, "bucket": ensure_utc(r.bucket)} for r in conn.execute(q)]

    def count(self, table: str) -> int:
        tbl = t.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tbl)).scalar_one())

    # ------------------------------------------------------------------ roll-up and retention
    def rollup(
        self,
        now: datetime,
        *,
        raw_retention: timedelta,
        aggregate_retention: timedelta | None = None,
        events_retention: timedelta | None = None,
        settle: timedelta = timedelta(seconds=60),
    ) -> RollupResult:
        """Aggregate complete 5-minute buckets of readings, then delete what is past its retention.

        A bucket is complete when it ended more than ``settle`` ago (readings arrive in batches). Readings
        are only deleted after their bucket was aggregated, so nothing is lost between the two.
        """
        now = ensure_utc(now)
        cutoff = _floor(now - settle)
        site_n = self._rollup_site(cutoff)
        lp_n = self._rollup_loadpoints(cutoff)
        raw_before = min(now - raw_retention, cutoff)
        with self.engine.begin() as conn:
            deleted = conn.execute(
                t.site_readings.delete().where(t.site_readings.c.time < raw_before)
            ).rowcount
            deleted += conn.execute(
                t.loadpoint_readings.delete().where(t.loadpoint_readings.c.time < raw_before)
            ).rowcount
            agg_deleted = ev_deleted = 0
            if aggregate_retention is not None:
                before = now - aggregate_retention
                agg_deleted = conn.execute(
                    t.site_readings_5m.delete().where(t.site_readings_5m.c.bucket < before)
                ).rowcount
                agg_deleted += conn.execute(
                    t.loadpoint_readings_5m.delete().where(t.loadpoint_readings_5m.c.bucket < before)
                ).rowcount
            if events_retention is not None:
                ev_deleted = conn.execute(
                    t.events.delete().where(t.events.c.time < now - events_retention)
                ).rowcount
        return RollupResult(site_n, lp_n, deleted, agg_deleted, ev_deleted)

    def _rollup_site(self, cutoff: datetime) -> int:
        raw, agg = t.site_readings, t.site_readings_5m
        written = 0
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(sa.func.max(agg.c.bucket))).scalar()
            start = ensure_utc(last) + timedelta(seconds=t.AGGREGATE_S) if last is not None else None
            q = sa.select(raw).where(raw.c.time < cutoff).order_by(raw.c.time)
            if start is not None:
                q = q.where(raw.c.time >= start)
            buckets: dict[datetime, list[Any]] = defaultdict(list)
            for r in conn.execute(q):
                buckets[_floor(ensure_utc(r.time))].append(r)
            rows = []
            for bucket, rs in sorted(buckets.items()):
                grid = [r.grid_w for r in rs if r.grid_w is not None]
                rows.append(
                    {
                        "bucket": bucket,
                        "samples": len(rs),
                        "grid_w": _mean(grid),
                        "grid_min_w": min(grid) if grid else None,
                        "grid_max_w": max(grid) if grid else None,
                        "pv_w": _mean(r.pv_w for r in rs),
                        "battery_w": _mean(r.battery_w for r in rs),
                        "battery_soc_pct": _mean(r.battery_soc_pct for r in rs),
                        "surplus_w": _mean(r.surplus_w for r in rs),
                    }
                )
            if rows:
                conn.execute(agg.insert(), rows)
                written = len(rows)
        return written

    def _rollup_loadpoints(self, cutoff: datetime) -> int:
        raw, agg = t.loadpoint_readings, t.loadpoint_readings_5m
        written = 0
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(sa.func.max(agg.c.bucket))).scalar()
            start = ensure_utc(last) + timedelta(seconds=t.AGGREGATE_S) if last is not None else None
            q = sa.select(raw).where(raw.c.time < cutoff).order_by(raw.c.time)
            if start is not None:
                q = q.where(raw.c.time >= start)
            buckets: dict[tuple[datetime, str], list[Any]] = defaultdict(list)
            for r in conn.execute(q):
                buckets[(_floor(ensure_utc(r.time)), r.loadpoint)].append(r)
            rows = [
                {
                    "bucket": bucket,
                    "loadpoint": lp,
                    "samples": len(rs),
                    "power_w": _mean(r.power_w for r in rs) or 0.0,
                    "max_power_w": max(r.power_w for r in rs),
                    "current_a": _mean(r.current_a for r in rs) or 0.0,
                }
                for (bucket, lp), rs in sorted(buckets.items())
            ]
            if rows:
                conn.execute(agg.insert(), rows)
                written = len(rows)
        return written


def _between(
    q: sa.Select[Any], col: sa.ColumnElement[Any], start: datetime | None, end: datetime | None
) -> sa.Select[Any]:
    if start is not None:
        q = q.where(col >= start)
    if end is not None:
        q = q.where(col < end)
    return q


def _floor(value: datetime) -> datetime:
    """The start of the 5-minute bucket holding ``value``."""
    epoch = value.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / t.AGGREGATE_S) * t.AGGREGATE_S, UTC)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _session(m: Any) -> SessionRecord:
    def when(v: datetime | None) -> datetime | None:
        return ensure_utc(v) if v is not None else None

    return SessionRecord(
        id=m["id"],
        loadpoint=m["loadpoint"],
        charger=m["charger"],
        vehicle=m["vehicle"],
        started=ensure_utc(m["started"]),
        ended=when(m["ended"]),
        energy_wh=m["energy_wh"],
        solar_wh=m["solar_wh"],
        grid_wh=m["grid_wh"],
        max_power_w=m["max_power_w"],
        meter_start_wh=m["meter_start_wh"],
        meter_end_wh=m["meter_end_wh"],
        soc_start_pct=m["soc_start_pct"],
        soc_end_pct=m["soc_end_pct"],
        cost=m["cost"],
        savings=m["savings"],
        currency=m["currency"],
        updated=when(m["updated"]),
    )
