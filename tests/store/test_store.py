"""The store on SQLite and on a real PostgreSQL: migrations, round trips, roll-up and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ecotrack.services.store import schema
from ecotrack.services.store.db import Batch, Store
from ecotrack.services.store.migrations import LATEST, SchemaError, migrate
from ecotrack.services.store.records import EventRecord, LoadpointRow, SessionRecord, SiteRow

T0 = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)


def session(sid: str = "s1", **kw: object) -> SessionRecord:
    base: dict[str, object] = {
        "id": sid,
        "loadpoint": "garage",
        "charger": "car",
        "started": T0,
        "energy_wh": 1500.0,
        "solar_wh": 1200.0,
        "grid_wh": 300.0,
        "max_power_w": 3680.0,
        "vehicle": "5YJ3E7EB0KF000001",
        "meter_start_wh": 100_000.0,
        "updated": T0 + timedelta(minutes=30),
    }
    base.update(kw)
    return SessionRecord(**base)  # type: ignore[arg-type]


def columns(engine: sa.Engine) -> dict[str, dict[str, bool]]:
    insp = sa.inspect(engine)
    return {
        name: {c["name"]: bool(c["nullable"]) for c in insp.get_columns(name)}
        for name in insp.get_table_names()
    }


def test_migrating_an_empty_database_gives_the_latest_schema(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert store.migrated_from == 0
        got = columns(store.engine)
        want = {
            name: {c.name: bool(c.nullable) for c in table.columns}
            for name, table in schema.metadata.tables.items()
        }
        assert got == want
        with store.engine.connect() as conn:
            versions = [r.version for r in conn.execute(sa.select(schema.schema_version.c.version))]
        assert versions == list(range(1, LATEST + 1))
    finally:
        store.close()
    again = Store(db_url)  # a second start migrates nothing
    assert again.migrated_from == LATEST
    again.close()


def test_migrating_from_the_previous_schema_keeps_the_data(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    assert migrate(engine, target=LATEST - 1) == (0, LATEST - 1)
    with engine.begin() as conn:  # a version-1 database with a finished session and a reading
        conn.execute(
            sa.text(
                "INSERT INTO sessions (id, loadpoint, charger, started, ended, energy_wh, solar_wh, grid_wh, "
                "max_power_w) VALUES ('old', 'garage', 'car', :s, :e, 7000, 6000, 1000, 3600)"
            ),
            {"s": datetime(2024, 1, 2, 8, 0), "e": datetime(2024, 1, 2, 11, 0)},
        )
        conn.execute(
            sa.text("INSERT INTO site_readings (time, grid_w, pv_w) VALUES (:t, -1200, 3000)"),
            {"t": datetime(2024, 1, 2, 8, 0, 10)},
        )
    engine.dispose()
    store = Store(db_url)
    try:
        assert store.migrated_from == LATEST - 1
        [old] = store.sessions()
        assert (old.id, old.energy_wh, old.solar_wh, old.grid_wh) == ("old", 7000, 6000, 1000)
        assert old.started == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
        assert old.cost is None and old.savings is None  # the new columns exist, empty
        [reading] = store.site_readings()
        assert (reading.grid_w, reading.pv_w) == (-1200, 3000)
        store.put_session(session("new", cost=1.25, savings=0.9, currency="EUR"))
        assert store.session("new") == session("new", cost=1.25, savings=0.9, currency="EUR")
        assert store.count("site_readings_5m") == 0
    finally:
        store.close()


def test_a_database_newer_than_the_program_is_refused(db_url: str) -> None:
    Store(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            schema.schema_version.insert().values(
                version=LATEST + 1, applied=T0, description="from the future"
            )
        )
    engine.dispose()
    with pytest.raises(SchemaError, match=f"schema version {LATEST + 1}, newer"):
        Store(db_url)


def test_a_foreign_database_is_refused(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sessions (chargeid INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="not created by ecotrack"):
        Store(db_url)


def test_batches_round_trip_with_aware_utc_times(db_url: str) -> None:
    store = Store(db_url)
    try:
        t = T0 + timedelta(microseconds=123456)
        batch = Batch(
            site=[SiteRow(t, -2500.5, 4000.0, None, None, 2500.5)],
            loadpoints=[LoadpointRow(t, "garage", 3680.0, 16.0, 16.0)],
            sessions={"s1": session()},
            events=[EventRecord(t, "mode", "garage: mode pv -> now", "garage")],
        )
        store.write(batch)
        assert store.site_readings() == batch.site
        assert store.loadpoint_readings() == batch.loadpoints
        assert store.sessions() == [session()]
        [event] = store.events()
        assert event == batch.events[0] and event.time.tzinfo is UTC
        # an update replaces the session; an end closes it
        ended = session(energy_wh=2000.0, ended=T0 + timedelta(hours=1), meter_end_wh=102_000.0)
        store.write(Batch([], [], {"s1": ended}, []))
        assert store.sessions() == [ended]
        assert store.open_sessions() == []
    finally:
        store.close()


def test_session_queries_by_time_and_open_sessions(db_url: str) -> None:
    store = Store(db_url)
    try:
        day = timedelta(days=1)
        store.write(
            Batch(
                [],
                [],
                {
                    "a": session("a", started=T0, ended=T0 + timedelta(hours=2)),
                    "b": session("b", started=T0 + day, ended=T0 + day + timedelta(hours=1)),
                    "c": session("c", started=T0 + 2 * day, loadpoint="street"),
                },
                [],
            )
        )
        assert [s.id for s in store.sessions()] == ["a", "b", "c"]
        assert [s.id for s in store.sessions(start=T0 + day)] == ["b", "c"]
        assert [s.id for s in store.sessions(end=T0 + day)] == ["a"]
        assert [s.id for s in store.sessions(loadpoint="street")] == ["c"]
        assert [s.id for s in store.open_sessions()] == ["c"]
    finally:
        store.close()


def test_rollup_aggregates_complete_buckets_once_and_applies_retention(db_url: str) -> None:
    store = Store(db_url)
    try:
        # 20 minutes of readings every 10 s: grid ramps from -3000 W by +10 W per reading
        site = [
            SiteRow(T0 + timedelta(seconds=10 * i), -3000.0 + 10 * i, 4000.0, None, None, 3000.0 - 10 * i)
            for i in range(120)
        ]
        lps = [
            LoadpointRow(T0 + timedelta(seconds=10 * i), "garage", 1000.0 + i, 5.0, 6.0) for i in range(120)
        ]
        store.write(Batch(site, lps, {}, []))
        now = T0 + timedelta(minutes=16)  # buckets 10:00, 10:05, 10:10 are complete (+60 s settling)
        res = store.rollup(now, raw_retention=timedelta(days=14))
        assert (res.site_buckets, res.loadpoint_buckets, res.deleted_readings) == (3, 3, 0)
        agg = store.site_aggregates()
        assert [a["bucket"] for a in agg] == [T0 + timedelta(minutes=5 * k) for k in range(3)]
        first = agg[0]
        assert first["samples"] == 30
        assert first["grid_min_w"] == -3000.0 and first["grid_max_w"] == -3000.0 + 290
        assert first["grid_w"] == pytest.approx(-3000.0 + 145)
        [lp0, *_] = store.loadpoint_aggregates()
        assert (lp0["loadpoint"], lp0["samples"], lp0["max_power_w"]) == ("garage", 30, 1029.0)
        assert lp0["power_w"] == pytest.approx(1014.5)
        # again at the same time: nothing new; later the last bucket follows, never twice
        assert store.rollup(now, raw_retention=timedelta(days=14)).site_buckets == 0
        assert store.rollup(now + timedelta(minutes=10), raw_retention=timedelta(days=14)).site_buckets == 1
        assert len(store.site_aggregates()) == 4
        # retention: raw readings older than 1 h go (after they were aggregated); aggregates stay until theirs
        later = T0 + timedelta(hours=2)
        res = store.rollup(later, raw_retention=timedelta(hours=1), aggregate_retention=timedelta(days=1))
        assert res.deleted_readings == 240 and store.count("site_readings") == 0
        assert len(store.site_aggregates()) == 4
        res = store.rollup(
            T0 + timedelta(days=2), raw_retention=timedelta(hours=1), aggregate_retention=timedelta(days=1)
        )
        assert res.deleted_aggregates == 8 and store.site_aggregates() == []
    finally:
        store.close()


def test_readings_not_yet_aggregated_are_not_deleted_by_retention(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.write(
            Batch(
                [SiteRow(T0 + timedelta(seconds=i), -100.0, 0.0, None, None, 100.0) for i in range(5)],
                [],
                {},
                [],
            )
        )
        # retention shorter than the settling time: the bucket is aggregated first, then deleted
        res = store.rollup(T0 + timedelta(minutes=30), raw_retention=timedelta(minutes=1))
        assert res.site_buckets == 1 and res.deleted_readings == 5
        assert store.site_aggregates()[0]["samples"] == 5
    finally:
        store.close()


def test_event_retention(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.write(
            Batch(
                [],
                [],
                {},
                [EventRecord(T0, "fault", "old"), EventRecord(T0 + timedelta(days=10), "fault", "new")],
            )
        )
        res = store.rollup(
            T0 + timedelta(days=11), raw_retention=timedelta(days=1), events_retention=timedelta(days=5)
        )
        assert res.deleted_events == 1
        assert [e.message for e in store.events()] == ["new"]
    finally:
        store.close()
