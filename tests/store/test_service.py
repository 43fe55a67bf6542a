"""attach_store in a running engine: sessions with cost, readings, events, rules in the state, recovery, CSV."""

from __future__ import annotations

import asyncio
import csv
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import config_model
from ecotrack.core.model import Mode
from ecotrack.runtime.engine import Engine
from ecotrack.services.store.db import Store
from ecotrack.services.store.records import SessionRecord
from ecotrack.services.store.service import attach_store

SPEED = 50.0


def trace(path: Path, pv_w: float = 6000, load_w: float = 500) -> Path:
    path.write_text(
        f"timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,{pv_w},{load_w}\n2024-06-21T10:01:00Z,{pv_w},{load_w}\n"
    )
    return path


def config(tmp_path: Path, cross_check: bool = True, **extra: Any) -> Config:
    data: dict[str, Any] = {
        "site": {"grid_meter": "grid", "pv_meters": ["grid"], "voltage_v": 230, "phases": 1},
        "meters": {"grid": {"type": "replay", "trace": str(trace(tmp_path / "day.csv")), "interval_s": 1.0}},
        "chargers": {"car": {"type": "simulated", "max_a": 32, "start_delay_s": 1}},
        "loadpoints": {"garage": {"charger": "car", "mode": "pv", "min_a": 6, "max_a": 16}},
        "store": {"flush_interval_s": 0.1, "resolution_s": 1},
        **extra,
    }
    return config_model().model_validate(data, context=None if cross_check else {"skip_cross_check": True})


async def until(pred: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def run_for(engine: Engine, body: Callable[[], Any]) -> None:
    task = asyncio.create_task(engine.run())
    try:
        await body()
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)


async def test_sessions_readings_and_events_reach_the_store_with_cost(tmp_path: Path) -> None:
    cfg = config(tmp_path, tariff={"type": "flat", "price": 0.30, "feed_in": 0.08})
    engine = build_engine(cfg, clock=ScaledClock(SPEED), data_dir=tmp_path)
    car = engine.chargers["car"]
    assert isinstance(car, SimulatedCharger)

    async def body() -> None:
        await until(lambda: (s := engine.session_of("garage")) is not None and s.energy_wh > 5)
        engine.set_mode("garage", Mode.NOW)
        await asyncio.sleep(0.2)
        car.plug(False)
        await until(lambda: engine.session_of("garage") is None)
        await asyncio.sleep(0.3)

    await run_for(engine, body)
    store = Store(f"sqlite:///{tmp_path / 'ecotrack.db'}")
    try:
        [session] = store.sessions()
        assert session.ended is not None and session.energy_wh > 5
        assert session.solar_wh + session.grid_wh == pytest.approx(session.energy_wh)
        # flat 0.30, feed-in 0.08: cost = grid x 0.30 + solar x 0.08, savings = solar x 0.22
        assert session.cost == pytest.approx(session.grid_wh / 1000 * 0.30 + session.solar_wh / 1000 * 0.08)
        assert session.savings == pytest.approx(session.solar_wh / 1000 * 0.22)
        assert session.currency == "EUR"
        assert store.count("site_readings") > 0 and store.count("loadpoint_readings") > 0
        assert any(r.power_w > 0 for r in store.loadpoint_readings())
        kinds = {e.kind for e in store.events()}
        assert "mode" in kinds
    finally:
        store.close()


async def test_schedule_rule_decides_and_is_visible_in_the_state(tmp_path: Path) -> None:
    wall = datetime(2024, 6, 21, 23, 0, tzinfo=UTC)  # inside 22:00-06:00 UTC
    cfg = config(
        tmp_path,
        schedules={"night": {"start": "22:00", "end": "06:00", "amps": 10, "timezone": "UTC"}},
        rules={"daylight": {"latitude": 52.5, "longitude": 13.4}, "non_scheduled": {"action": "off"}},
    )
    engine = build_engine(cfg, clock=ScaledClock(SPEED), data_dir=tmp_path, wall=lambda: wall)
    assert [r.name for r in engine.rules] == [
        "energy-limit",
        "charge-now",
        "schedule:night",
        "daylight",
        "non-scheduled",
        "manual",
    ]

    async def body() -> None:
        await until(lambda: engine.snapshot().loadpoint("garage").commanded_a == 10)
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.active_rule, lp.mode, lp.user_mode) == ("schedule:night", Mode.NOW, Mode.PV)
        engine.set_mode("garage", Mode.OFF)  # respect_off: the user's off beats the schedule
        lp = engine.snapshot().loadpoint("garage")
        assert (lp.active_rule, lp.mode) == ("manual", Mode.OFF)

    await run_for(engine, body)


def test_energy_limit_from_the_config_is_applied(tmp_path: Path) -> None:
    engine = build_engine(config(tmp_path, rules={"energy_limit_kwh": {"garage": 12}}), data_dir=tmp_path)
    assert engine.snapshot().loadpoint("garage").energy_limit_wh == 12_000


def test_unknown_loadpoints_in_plans_and_schedules_are_named(tmp_path: Path) -> None:
    kw: dict[str, Any] = dict(
        schedules={"x": {"start": "22:00", "end": "06:00", "loadpoints": ["drive"]}},
        plans={"p": {"loadpoint": "street", "energy_kwh": 10, "by": "07:00"}},
    )
    with pytest.raises(ValueError, match=r"schedules\.x\.loadpoints\.0: unknown loadpoint 'drive'"):
        config(tmp_path, **kw)  # config check reports them
    cfg = config(tmp_path, cross_check=False, **kw)  # start-up still refuses a config that skipped it
    with pytest.raises(
        ValueError, match=r"schedules\.x\.loadpoints: unknown loadpoint 'drive'.*plans\.p\.loadpoint"
    ):
        build_engine(cfg, data_dir=tmp_path)


def test_recovery_resumes_the_newest_open_session_and_closes_the_others(tmp_path: Path) -> None:
    t0 = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)
    store = Store(f"sqlite:///{tmp_path / 'ecotrack.db'}")
    store.put_session(
        SessionRecord("old", "garage", "car", t0, energy_wh=500, updated=t0 + timedelta(minutes=5))
    )
    store.put_session(
        SessionRecord(
            "new", "garage", "car", t0 + timedelta(hours=1), energy_wh=900, updated=t0 + timedelta(hours=2)
        )
    )
    store.put_session(
        SessionRecord("gone", "street", "wallbox", t0, energy_wh=100, updated=t0 + timedelta(minutes=1))
    )
    store.close()
    engine = build_engine(config(tmp_path), data_dir=tmp_path)
    restored = engine.session_of("garage")
    assert restored is not None and (restored.id, restored.energy_wh) == ("new", 900)
    store = Store(f"sqlite:///{tmp_path / 'ecotrack.db'}")
    try:
        assert store.session("old").ended == t0 + timedelta(minutes=5)  # type: ignore[union-attr]
        assert store.session("gone").ended == t0 + timedelta(minutes=1)  # type: ignore[union-attr]
        assert [s.id for s in store.open_sessions()] == ["new"]
    finally:
        store.close()


def test_an_unreachable_database_does_not_stop_the_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("ecotrack.services.store.service"), "disabled", False)
    caplog.set_level(logging.ERROR, logger="ecotrack.services.store.service")
    cfg = config(tmp_path, store={"url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    engine = build_engine(cfg, data_dir=tmp_path)
    assert "cannot open the database" in caplog.text
    assert any(d.name == "store" and d.kind == "service" for d in engine.snapshot().devices)


async def test_csv_files_in_twcmanagers_layout(tmp_path: Path) -> None:
    cfg = config(tmp_path, store={"flush_interval_s": 0.1, "csv": {"interval_s": 1}})
    engine = build_engine(cfg, clock=ScaledClock(SPEED), data_dir=tmp_path)
    car = engine.chargers["car"]
    assert isinstance(car, SimulatedCharger)

    async def body() -> None:
        await until(lambda: (s := engine.session_of("garage")) is not None and s.energy_wh > 2)
        car.plug(False)
        await until(lambda: engine.session_of("garage") is None)
        await asyncio.sleep(0.2)

    await run_for(engine, body)
    folder = tmp_path / "csv"
    green = list(csv.reader((folder / "greenenergy.csv").open()))
    assert green and all(len(r) == 5 for r in green)
    epoch, stamp, gen, con, chg = green[-1]
    assert int(epoch) > 0 and len(stamp) == 19 and float(gen) == 6000.0
    # consumption = grid + PV: the house's 500 W plus the car; the chargers' load is part of it
    assert float(con) >= 500.0 - 1 and 0.0 <= float(chg) <= float(con) - 500.0 + 1
    assert (folder / "greenenergy.csv").read_text().startswith('"')  # every column quoted, as TWCManager
    [session] = list(csv.reader((folder / "chargesessions.csv").open()))
    assert session[0] == "car" and len(session) == 8 and int(session[4]) >= int(session[1])
    status = list(csv.reader((folder / "slavestatus.csv").open()))
    assert status and all(len(r) == 7 and r[0] == "car" for r in status)


def test_attach_without_data_dir_keeps_no_history(tmp_path: Path) -> None:
    engine = build_engine(config(tmp_path))
    assert attach_store(engine, config(tmp_path, store={"enabled": False}).store, tmp_path) is None
    assert attach_store(engine, config(tmp_path).store, None) is None
    assert not (tmp_path / "ecotrack.db").exists()
