"""Commanding the car: tesla-control over BLE (a fake program on PATH), Fleet API commands (local server),
the command budget, and the tesla-vehicle charger driving a slow simulated car within every limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.clock import RealClock
from ecotrack.vehicles.charger import TeslaVehicleCharger, amps_for
from ecotrack.vehicles.config import SimulatedVehicleConfig, TeslaVehicleChargerConfig
from ecotrack.vehicles.control import CommandBudget, CommandError, TeslaBleControl
from ecotrack.vehicles.simulated import SimulatedCar
from tests.manual_clock import ManualClock

from .tesla_server import VIN, TeslaServer
from .test_tesla import make

# ---------------------------------------------------------------------------------------------- BLE

FAKE = """#!/bin/sh
# a stand-in for Tesla's tesla-control: records its arguments, one call per line
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "Error: vehicle not in range" >&2; exit 1; fi
exit 0
"""


@pytest.fixture
def fake_tesla_control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "tesla-control"
    exe.parent.mkdir()
    exe.write_text(FAKE)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls.txt"
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    return log


async def test_ble_commands_are_exec_with_arguments(fake_tesla_control: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ble = TeslaBleControl(VIN, Path("/keys/car.pem"))
    await ble.set_charging_amps(13)
    await ble.charge_start()
    await ble.set_charge_limit(80)
    await ble.charge_stop()
    lines = fake_tesla_control.read_text().splitlines()
    prefix = f"-vin {VIN} -ble -key-file /keys/car.pem"
    assert lines == [f"{prefix} charging-set-amps 13", f"{prefix} charging-start",
                     f"{prefix} charging-set-limit 80", f"{prefix} charging-stop"]
    with pytest.raises(ValueError):
        await ble.set_charging_amps(99)
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(CommandError, match=r"exit 1.*not in range"):
        await ble.charge_start()
    with pytest.raises(CommandError, match="cannot run"):
        await TeslaBleControl(VIN, Path("k"), program="no-such-tesla-control").charge_start()


async def test_a_shell_is_never_involved(fake_tesla_control: Path) -> None:
    ble = TeslaBleControl("$(touch /tmp/pwned);x", Path("; rm -rf ~"))
    await ble.charge_start()  # the odd text arrives as plain arguments
    assert "$(touch /tmp/pwned);x" in fake_tesla_control.read_text()
    assert not Path("/tmp/pwned").exists()


# ---------------------------------------------------------------------------------------- Fleet API


async def test_fleet_api_commands(tmp_path: Path) -> None:
    with TeslaServer() as server:
        car = make(server, tmp_path)
        assert car.control is car
        async with car.connect():
            await car.set_charging_amps(12)
            await car.charge_start()
            server.command_result = False
            with pytest.raises(CommandError, match="refused"):
                await car.charge_stop()
            server.command_result = True
            server.car_state = "asleep"  # a command may wake the car (a read never does)
            with pytest.raises(CommandError, match="asleep"):
                await car.charge_start()
        assert server.commands == [("set_charging_amps", {"charging_amps": 12}), ("charge_start", {}),
                                   ("charge_stop", {}), ("charge_start", {}), ("wake_up", {})]
        assert car.requests["command 200"] == 3 and car.requests["command 408"] == 1


async def test_commands_go_to_the_proxy_when_configured(tmp_path: Path) -> None:
    with TeslaServer() as api, TeslaServer() as proxy:
        proxy.access_token = api.access_token = "A2"  # both accept the token the API's token endpoint issues
        car = make(api, tmp_path, command_url=proxy.url)
        async with car.connect():
            await car.set_charge_limit(90)
        assert proxy.commands == [("set_charge_limit", {"percent": 90})] and api.commands == []


# ------------------------------------------------------------------------------------------- budget


def test_budget_limits_raises_never_cuts() -> None:
    b = CommandBudget(3)
    assert [b.allow(t, cut=False) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert all(b.allow(10 + t, cut=True) for t in range(100))
    assert b.allow(3600.5, cut=False) and b.refused == 1


@pytest.mark.parametrize(
    ("amps", "max_a", "expected"),
    [(0, 16, 0), (0.9, 16, 0), (1, 16, 1), (6.7, 16, 6), (16, 16, 16), (20, 16, 16), (40, 32, 32),
     (float("nan"), 16, 0), (float("inf"), 16, 0), (-3, 16, 0), (13.99, 13.5, 13)],
)
def test_amps_for(amps: float, max_a: float, expected: int) -> None:
    assert amps_for(amps, max_a) == expected


# ---------------------------------------------------------------------------------------- the charger


def rig(reaction_s: float = 20.0, max_a: float = 16.0, per_hour: int = 60, **car: Any) -> tuple[ManualClock, SimulatedCar, TeslaVehicleCharger]:
    clock = ManualClock()
    cfg = SimulatedVehicleConfig.model_validate({"type": "simulated", "reaction_s": reaction_s, "capacity_kwh": 60, **car})
    vehicle = SimulatedCar("car", cfg, clock)
    charger_cfg = TeslaVehicleChargerConfig.model_validate(
        {"type": "tesla-vehicle", "vehicle": "car", "max_a": max_a, "max_commands_per_hour": per_hour}
    )
    return clock, vehicle, TeslaVehicleCharger("wall", charger_cfg, vehicle, clock)


async def test_a_slow_car_is_reported_as_it_is_not_as_commanded() -> None:
    clock, car, charger = rig()
    car.step(clock.t)
    await charger.set_current(16)
    for t in range(0, 20, 5):  # the car ignores the command for 20 s
        clock.t = t
        car.step(t)
        assert charger.report().actual_a == 0.0
    clock.t = 21
    car.step(21)
    assert charger.report().actual_a == 16 and charger.report().charging
    await charger.set_current(6.5)  # a cut: sent at once, 6 A (never rounded up)
    assert car.commands[-1][1:] == ("set_charging_amps", 6.0)
    for t in (25, 35, 40):
        clock.t = t
        car.step(t)
        assert charger.report().actual_a == 16  # still drawing the old current: reported as such
    clock.t = 42
    car.step(42)
    assert charger.report().actual_a == 6
    await charger.set_current(0)  # stop through the car
    assert car.commands[-1][1] == "charge_stop"
    clock.t = 70
    car.step(70)
    assert charger.report().actual_a == 0 and not charger.report().charging


async def test_raises_are_bounded_per_hour() -> None:
    clock, car, charger = rig(reaction_s=0, per_hour=5)
    for i in range(100):  # a controller flapping between 6 and 16 A every minute for 100 minutes
        clock.t = 60.0 * i
        await charger.set_current(16 if i % 2 else 6)
    raises = [c for c in car.commands if c[1] == "charge_start" or (c[1] == "set_charging_amps" and c[2] == 16)]
    per_hour = [sum(1 for c in raises if h * 3600 <= c[0] < (h + 1) * 3600) for h in range(2)]
    assert max(per_hour) <= 5
    assert charger.details()["raises_held_back"] > 0


async def test_a_car_away_from_home_is_not_connected() -> None:
    _, car, charger = rig(home={"latitude": 52.5, "longitude": 13.4})
    car.update({"latitude": 48.1, "longitude": 11.6})
    assert charger.report().connected is False


def test_a_car_that_cannot_be_commanded_is_refused() -> None:
    from ecotrack.vehicles.config import TeslaMateVehicleConfig
    from ecotrack.vehicles.mqtt import TeslaMateVehicle

    tm = TeslaMateVehicle("car", TeslaMateVehicleConfig.model_validate({"type": "teslamate"}), RealClock())
    cfg = TeslaVehicleChargerConfig.model_validate({"type": "tesla-vehicle", "vehicle": "car"})
    with pytest.raises(ValueError, match="cannot be commanded"):
        TeslaVehicleCharger("wall", cfg, tm, RealClock())


commands = st.lists(
    st.one_of(st.floats(-5, 50), st.sampled_from([float("nan"), float("inf"), 0.0, 1.0, 32.0, 33.0])),
    min_size=1, max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(seq=commands, max_a=st.sampled_from([1.0, 6.0, 13.5, 16.0, 32.0]), per_hour=st.integers(1, 10))
def test_the_car_is_never_told_more_than_decided_or_allowed(seq: list[float], max_a: float, per_hour: int) -> None:
    import asyncio

    clock, car, charger = rig(reaction_s=0, max_a=max_a, per_hour=per_hour)

    async def drive() -> None:
        for i, amps in enumerate(seq):
            clock.t = 7.0 * i
            n = len(car.commands)
            await charger.set_current(amps)
            car.step(clock.t)
            for _, name, value in car.commands[n:]:
                if name == "set_charging_amps":
                    assert value is not None and 1 <= value <= min(max_a, 32) and value <= amps
            if not amps >= 1:  # below 1 A (or junk): the car ends up stopped
                assert car.drawing_a == 0
            assert car.drawing_a <= min(max_a, 32)

    asyncio.run(drive())
