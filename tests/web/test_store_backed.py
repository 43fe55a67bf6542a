"""/api/sessions and /api/history served from a real SQLite history store (``source: store``)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecotrack.app import build_app
from ecotrack.clock import ScaledClock
from ecotrack.services.store.db import Batch, Store
from ecotrack.services.store.records import LoadpointRow, SessionRecord, SiteRow
from ecotrack.services.store.service import Recorder, attach_store
from ecotrack.services.web.app import create_app

from .conftest import SPEED, TOKEN, Site, site_config, until, write_trace

START = datetime(2024, 6, 21, 8, 0, tzinfo=UTC)


def _engine(tmp_path: Path, *, store: bool = True) -> tuple[Recorder | None, Site]:
    """An engine with the store attached (unless ``store`` is False) and the app reading from it."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = site_config(write_trace(tmp_path / "day.csv", 6000, 500))
    config = config.model_copy(
        update={"store": config.store.model_copy(update={"flush_interval_s": 0.1, "resolution_s": 1})}
    )
    engine = build_app(config, clock=ScaledClock(SPEED), data_dir=tmp_path, services=False).engine
    recorder = attach_store(engine, config.store, tmp_path) if store else None
    app = create_app(engine, config.http, TOKEN, recorder)
    return recorder, Site(engine, config.http, app)


def _store(recorder: Recorder | None) -> Store:
    assert recorder is not None and recorder.store is not None
    return recorder.store


def _finished_session() -> SessionRecord:
    return SessionRecord(
        id="s-1",
        loadpoint="garage",
        charger="car",
        started=START,
        ended=START + timedelta(hours=2),
        energy_wh=11_000,
        solar_wh=8_250,
        grid_wh=2_750,
        max_power_w=7_400,
        vehicle="ID.3",
        cost=0.825,
        savings=1.65,
        currency="EUR",
        updated=START + timedelta(hours=2),
    )


def test_the_app_reads_the_store_it_was_given(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    assert isinstance(_store(recorder), Store)
    assert (tmp_path / "ecotrack.db").exists()
    assert site.app.state.web.stored is recorder
    bare, bare_site = _engine(tmp_path / "bare", store=False)
    assert bare is None and bare_site.app.state.web.stored is None


async def test_sessions_come_from_the_store(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    store = _store(recorder)
    store.put_session(_finished_session())
    async with site.client() as c:
        r = await c.get("/api/sessions")
        assert r.status_code == 200
        body = r.json()
        assert body["source"] == "store"
        [s] = body["sessions"]
        assert s["id"] == "s-1" and s["loadpoint"] == "garage"
        assert s["start"] == "2024-06-21T08:00:00Z" and s["end"] == "2024-06-21T10:00:00Z"
        assert (s["energy_kwh"], s["solar_kwh"], s["grid_kwh"]) == (11.0, 8.25, 2.75)
        assert s["cost"] == 0.825 and s["currency"] == "EUR"
        # the fields the memory source already had are still there
        assert s["started"] == s["start"] and s["ended"] == s["end"]
        assert s["energy_wh"] == 11_000 and s["solar_share"] == 0.75 and s["vehicle"] == "ID.3"

        for url in ("/api/sessions.csv", "/api/sessions?format=csv"):
            r = await c.get(url)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            header, row = r.text.splitlines()
            assert header.endswith(",cost,currency")
            assert row.startswith("s-1,garage,car,2024-06-21T08:00:00+00:00,") and row.endswith(",0.8250,EUR")


async def test_store_reads_run_off_the_event_loop(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    store = _store(recorder)
    store.put_session(_finished_session())
    threads: list[int] = []
    real_sessions, real_site = store.sessions, store.site_readings

    def sessions(*args: object, **kwargs: object) -> list[SessionRecord]:
        threads.append(threading.get_ident())
        return real_sessions()

    def site_readings(start: datetime | None = None, end: datetime | None = None) -> list[SiteRow]:
        threads.append(threading.get_ident())
        return real_site(start, end)

    store.sessions = sessions  # type: ignore[method-assign]
    store.site_readings = site_readings  # type: ignore[method-assign]
    async with site.client() as c:
        assert (await c.get("/api/sessions")).json()["source"] == "store"
        assert (await c.get("/api/history")).json()["source"] == "store"
    assert len(threads) == 2
    assert threading.get_ident() not in threads


async def test_history_comes_from_stored_readings(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    store = _store(recorder)
    batch = Batch.empty()
    for i in range(6):
        t = START + timedelta(seconds=i)
        batch.site.append(
            SiteRow(t, grid_w=-1000.0 + i, pv_w=6000.0, battery_w=None, battery_soc_pct=None, surplus_w=None)
        )
        batch.loadpoints.append(LoadpointRow(t, "garage", power_w=4500.0, current_a=6.5, commanded_a=6.5))
    store.write(batch)
    span = {"from": START.isoformat(), "to": (START + timedelta(seconds=5)).isoformat()}
    async with site.client() as c:
        body = (await c.get("/api/history", params=span)).json()
        assert body["source"] == "store"
        assert body["step_s"] == 1
        assert body["t"] == [(START + timedelta(seconds=i)).timestamp() for i in range(6)]
        assert body["pv_w"] == [6000.0] * 6
        assert body["car_w"] == [4500.0] * 6
        assert body["grid_w"] == [-1000.0 + i for i in range(6)]
        assert body["house_w"] == [-1000.0 + i + 6000.0 - 4500.0 for i in range(6)]
        assert body["battery_w"] == [None] * 6

        coarse = (await c.get("/api/history", params={**span, "step": 3})).json()
        assert coarse["step_s"] == 3 and len(coarse["t"]) == 2
        assert coarse["grid_w"] == [-999.0, -996.0]

        # the default range is the last 24 h before now: these 2024 readings are outside it
        assert (await c.get("/api/history")).json()["t"] == []
        assert (
            await c.get("/api/history", params={"from": "2024-06-22T00:00:00Z", "to": "2024-06-21T00:00:00Z"})
        ).status_code == 422


async def test_running_engine_fills_the_store_that_the_api_reads(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    store = _store(recorder)
    engine = site.engine
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: store.count("site_readings") >= 2, timeout_s=10, what="readings in the store")
        store.put_session(_finished_session())
        async with site.client() as c:
            history = (await c.get("/api/history")).json()
            # 24 h in at most 1440 points: the 1 s readings are averaged per minute
            assert history["source"] == "store" and history["step_s"] == 60 and history["t"]
            assert any(v is not None and v > 0 for v in history["pv_w"])
            sessions = (await c.get("/api/sessions")).json()
            assert sessions["source"] == "store"
            assert "s-1" in [s["id"] for s in sessions["sessions"]]
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)


async def test_without_a_store_the_memory_buffers_answer(tmp_path: Path) -> None:
    _, site = _engine(tmp_path, store=False)
    async with site.client() as c:
        assert (await c.get("/api/sessions")).json() == {"source": "memory", "sessions": []}
        assert (await c.get("/api/history")).json()["source"] == "memory"


async def test_history_falls_back_to_the_rollups_for_old_ranges(tmp_path: Path) -> None:
    recorder, site = _engine(tmp_path)
    store = _store(recorder)
    batch = Batch.empty()
    for i in range(600):  # 10 minutes of 1 s readings
        t = START + timedelta(seconds=i)
        batch.site.append(
            SiteRow(t, grid_w=100.0, pv_w=2000.0, battery_w=0.0, battery_soc_pct=None, surplus_w=None)
        )
        batch.loadpoints.append(LoadpointRow(t, "garage", power_w=1500.0, current_a=6.5, commanded_a=6.5))
    store.write(batch)
    store.rollup(START + timedelta(days=30), raw_retention=timedelta(days=1))
    assert store.count("site_readings") == 0
    span = {"from": START.isoformat(), "to": (START + timedelta(minutes=10)).isoformat()}
    async with site.client() as c:
        body = (await c.get("/api/history", params=span)).json()
    assert body["source"] == "store" and body["step_s"] == 300
    assert len(body["t"]) == 2
    assert body["pv_w"] == [2000.0, 2000.0] and body["car_w"] == [1500.0, 1500.0]
    assert body["house_w"] == [600.0, 600.0]
