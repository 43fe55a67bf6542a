"""The simulated charger: clamping, rejecting nonsense, following the car model, reporting."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest

from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.chargers.simulated_config import SimulatedChargerConfig
from ecotrack.clock import ScaledClock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import DriverRegistry, builtin_registry
from ecotrack.world.car import CarParams


class ManualClock:
    """Time moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def test_clamps_and_rejects_nonsense(caplog: pytest.LogCaptureFixture) -> None:
    charger = SimulatedCharger("car", ManualClock(), max_a=16)
    await charger.set_current(10)
    await charger.set_current(40)
    assert charger.offered_a == 16 and list(charger.commands) == [10, 16]
    for bad in (math.nan, -1.0, math.inf):
        await charger.set_current(bad)
    assert charger.offered_a == 16 and charger.rejected == 3 and list(charger.commands) == [10, 16]
    assert "rejected command nan A" in caplog.text


async def test_command_history_is_bounded() -> None:
    charger = SimulatedCharger("car", ManualClock(), max_a=32)
    for i in range(2500):
        await charger.set_current(float(i % 17))
    assert len(charger.commands) == 1000  # a demo looping for days does not grow without bound
    assert charger.commands[-1] == float(2499 % 17)
    assert charger.commands[0] == float(1500 % 17)


async def test_car_follows_offer_and_power_counts_phases() -> None:
    clock = ManualClock()
    car = CarParams(max_a=32, start_delay_s=2, dead_time_s=0, ramp_a_per_s=100)
    charger = SimulatedCharger("car", clock, max_a=32, phases=3, voltage_v=230, car=car)
    charger.power_w()  # starts the car model's time
    await charger.set_current(10)
    clock.t = 1.0
    assert charger.power_w() == 0  # still in the start delay
    clock.t = 3.0
    assert charger.power_w() == pytest.approx(10 * 230 * 3)
    await charger.set_current(4)  # below the car's minimum: it stops at once
    assert charger.power_w() == 0
    charger.plug(False)
    await charger.set_current(16)
    clock.t = 10.0
    assert charger.power_w() == 0


async def test_reports_every_interval() -> None:
    clock = ScaledClock(20.0)
    charger = SimulatedCharger(
        "car", clock, car=CarParams(start_delay_s=0, dead_time_s=0, ramp_a_per_s=100), report_interval_s=1.0
    )
    got: list[tuple[str, ChargerReading]] = []
    charger.add_listener(lambda name, r: got.append((name, r)))
    await charger.set_current(8)
    task = asyncio.create_task(charger.run())
    await asyncio.sleep(0.275)  # ~5.5 clock seconds
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 4 <= len(got) <= 8
    times = [r.t_s for _, r in got]
    assert all(0.8 <= b - a <= 2.0 for a, b in itertools.pairwise(times))
    name, last = got[-1]
    assert name == "car" and charger.reading() == last
    assert (last.connected, last.charging, last.actual_a, last.offered_a) == (True, True, 8.0, 8.0)
    assert last.power_w == pytest.approx(8 * 230)


def test_from_config_registers_in_the_world() -> None:
    cfg = SimulatedChargerConfig(type="simulated", max_a=20, phases=3, car_connected=False, car_max_a=11)
    ctx = DeviceContext(clock=ManualClock())
    charger = builtin_registry().create("charger", "garage", cfg, ctx)
    assert isinstance(charger, SimulatedCharger)
    assert (charger.max_a, charger.phases, charger.car_connected, charger.car.params.max_a) == (
        20,
        3,
        False,
        11,
    )
    assert ctx.world.loads == (charger,) and ctx.world.ev_power_w() == 0
    assert charger.safe_current_a == 0
    with pytest.raises(KeyError, match="unknown type 'simulated'"):
        DriverRegistry().create("charger", "garage", cfg, ctx)
    with pytest.raises(ValueError):
        SimulatedCharger("x", max_a=0)
