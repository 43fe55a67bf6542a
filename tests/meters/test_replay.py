"""The replay meter: start time, grid = load + cars - PV, looping, end of trace, config paths."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ecotrack.clock import ScaledClock
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import DriverRegistry, builtin_registry
from ecotrack.meters.base import MeterReading, ReadingLog
from ecotrack.meters.replay import ReplayMeter, parse_time_of_day
from ecotrack.meters.replay_config import ReplayMeterConfig
from ecotrack.world.loads import SimulatedWorld
from ecotrack.world.trace import Trace


def hourly_trace() -> Trace:
    """A day in UTC+2 whose PV at local hour h is 100*h W and whose load is 10*h W."""
    hours = np.arange(24, dtype=np.float64)
    return Trace(
        name="hours",
        start=datetime(2024, 6, 20, 22, 0, tzinfo=UTC),  # local midnight at UTC+2
        step_s=3600.0,
        pv_w=100 * hours,
        load_w=10 * hours,
        utc_offset_s=7200.0,
    )


class FixedLoad:
    name = "car"

    def __init__(self, watts: float) -> None:
        self.watts = watts

    def power_w(self) -> float:
        return self.watts


async def collect(meter: ReplayMeter, n: int, timeout_s: float = 2.0) -> list[MeterReading]:
    out: list[MeterReading] = []

    class Collect:
        def on_meter_reading(self, name: str, r: MeterReading) -> None:
            out.append(r)
            if len(out) >= n:
                raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(meter.run(Collect()), timeout_s)
    return out


def test_parse_time_of_day() -> None:
    assert parse_time_of_day("07:30") == 7.5 * 3600
    assert parse_time_of_day("23:59:30") == 86370
    for bad in ("7", "25:00", "07:60", "ab:cd", ""):
        with pytest.raises(ValueError):
            parse_time_of_day(bad)


async def test_starts_at_local_time_and_includes_the_cars() -> None:
    world = SimulatedWorld()
    world.add(FixedLoad(1150.0))
    clock = ScaledClock(3600.0)  # an hour of trace per wall second
    meter = ReplayMeter(
        "grid", hourly_trace(), clock, world, interval_s=600, start_local_s=parse_time_of_day("07:30")
    )
    readings = await collect(meter, 3)
    first = readings[0]
    # 07:30 local is in the 07:00 sample: PV 700 W, load 70 W; the car's 1150 W is on the grid too.
    assert first.pv_w == 700
    assert first.grid_w == pytest.approx(70 + 1150 - 700)
    assert meter.local_time(first.t_s) == "07:30"
    assert [r.t_s for r in readings] == sorted(r.t_s for r in readings)
    assert meter.last == (readings[-1].pv_w, readings[-1].grid_w - 1150 + readings[-1].pv_w, 1150.0)


async def test_loops_or_stops_at_the_end() -> None:
    clock = ScaledClock(36000.0)
    looping = ReplayMeter("grid", hourly_trace(), clock, interval_s=1800, start_local_s=23 * 3600)
    readings = await collect(looping, 4)
    assert [r.pv_w for r in readings] == [2300, 2300, 0, 0]  # 23:00, 23:30, then midnight again

    once = ReplayMeter("grid", hourly_trace(), clock, interval_s=1800, start_local_s=23 * 3600, loop=False)
    got = ReadingLog()
    await asyncio.wait_for(once.run(got), 2.0)  # returns by itself at the end of the day
    assert [r.pv_w for r in got.values()] == [2300, 2300]


async def test_scales_pv_and_load() -> None:
    meter = ReplayMeter(
        "grid",
        hourly_trace(),
        ScaledClock(1000.0),
        interval_s=1,
        start_local_s=12 * 3600,
        pv_scale=2,
        load_scale=0,
    )
    (r,) = await collect(meter, 1)
    assert (r.pv_w, r.grid_w) == (2400, -2400)


def test_from_config_resolves_relative_trace_and_registry(tmp_path: Path) -> None:
    (tmp_path / "day.csv").write_text(
        "timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,1000,200\n2024-06-21T10:01:00Z,1000,200\n"
    )
    cfg = ReplayMeterConfig(
        type="replay", trace=Path("day.csv"), interval_s=5, start_time="10:00", loop=False
    )
    ctx = DeviceContext(clock=ScaledClock(1.0), base_dir=tmp_path)
    meter = builtin_registry().create("meter", "grid", cfg, ctx)
    assert isinstance(meter, ReplayMeter)
    assert (meter.interval_s, meter.loop, meter.trace.name) == (5.0, False, "day")
    assert meter.world is ctx.world
    with pytest.raises(KeyError, match="unknown type 'replay'"):
        DriverRegistry().create("meter", "grid", cfg, ctx)
    with pytest.raises(ValueError):
        ReplayMeter("grid", meter.trace, ctx.clock, interval_s=0)


def test_from_config_modelled_day_kind_and_seed() -> None:
    from ecotrack.world.modelled import modelled_day

    ctx = DeviceContext(clock=ScaledClock(1.0))
    default = ReplayMeterConfig(type="replay")
    assert (default.trace, default.modelled_kind, default.seed) == (None, "cloudy", 1)
    meter = builtin_registry().create("meter", "grid", default, ctx)
    assert isinstance(meter, ReplayMeter)
    np.testing.assert_array_equal(meter.trace.pv_w, modelled_day("cloudy", seed=1).pv_w)

    cfg = ReplayMeterConfig(type="replay", modelled_kind="sunny", seed=7)
    meter = builtin_registry().create("meter", "grid", cfg, ctx)
    assert isinstance(meter, ReplayMeter)
    sunny = modelled_day("sunny", seed=7)
    np.testing.assert_array_equal(meter.trace.pv_w, sunny.pv_w)
    np.testing.assert_array_equal(meter.trace.load_w, sunny.load_w)
    assert not np.array_equal(meter.trace.pv_w, modelled_day("cloudy", seed=7).pv_w)
    with pytest.raises(ValueError):
        ReplayMeterConfig(type="replay", modelled_kind="rainy")  # type: ignore[arg-type]
