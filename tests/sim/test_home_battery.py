"""The simulator's home battery: the model, and ecotrack's core with and without battery priority."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.sim.runner import simulate
from ecotrack.sim.strategies import SimSettings, make_strategy
from ecotrack.world.battery import HomeBattery, HomeBatteryParams
from tests.sim.test_cli_simulate import write_trace
from tests.sim.test_runner import constant


def test_battery_charges_from_export_and_covers_import_within_power_and_capacity() -> None:
    b = HomeBattery(
        HomeBatteryParams(power_w=3000.0, capacity_kwh=1.0, soc_pct=50.0, round_trip_efficiency=1.0)
    )
    assert b.step(-5000.0, 1.0) == -3000.0  # capped at its power
    assert b.step(-100.0, 1.0) == -100.0
    assert b.step(800.0, 1.0) == 800.0
    assert b.step(0.0, 1.0) == 0.0
    for _ in range(3600):  # an hour of 3 kW export fills the other 0.5 kWh, then it takes nothing
        b.step(-3000.0, 1.0)
    assert b.soc_pct == pytest.approx(100.0) and b.step(-3000.0, 1.0) == 0.0
    for _ in range(3600):
        b.step(3000.0, 1.0)
    assert b.soc_pct == pytest.approx(0.0) and b.step(3000.0, 1.0) == 0.0


def test_losses_split_between_charge_and_discharge() -> None:
    b = HomeBattery(
        HomeBatteryParams(power_w=1000.0, capacity_kwh=10.0, soc_pct=0.0, round_trip_efficiency=0.81)
    )
    for _ in range(3600):
        b.step(-1000.0, 1.0)
    assert b.stored_wh == pytest.approx(900.0)  # 1 kWh in, 0.9 stored


@pytest.mark.parametrize(
    "bad", [dict(power_w=0.0), dict(capacity_kwh=-1.0), dict(soc_pct=120.0), dict(priority_soc_pct=-5.0)]
)
def test_nonsense_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="home battery"):
        HomeBatteryParams(**bad)


def with_battery(priority: float | None) -> SimSettings:
    return replace(
        SimSettings(), battery=HomeBatteryParams(power_w=3000.0, capacity_kwh=10.0, priority_soc_pct=priority)
    )


def test_priority_lets_the_battery_charge_first_and_never_feeds_the_car() -> None:
    day = constant(2500.0, 60)  # an hour of 2.5 kW surplus; the battery (50 % of 10 kWh) could take it all
    free, _ = simulate(day, make_strategy("default", with_battery(None)), with_battery(None))
    first, _ = simulate(day, make_strategy("default", with_battery(100.0)), with_battery(100.0))
    # without priority the car takes the surplus (the battery only the rest); with it the battery does
    assert free.ev_solar_kwh > 1.5 and free.battery_charged_kwh < 0.5
    assert first.battery_charged_kwh > 2.0 and first.ev_kwh < 0.2
    # the battery never discharged into the car: the house load is covered by the sun all hour
    assert free.battery_discharged_kwh < 0.05 and first.battery_discharged_kwh < 0.05
    assert free.max_over_limit_a == first.max_over_limit_a == 0.0


def test_cli_battery_options(tmp_path: Path) -> None:
    day = write_trace(tmp_path / "bell.csv", hours=2.0)
    runner = CliRunner()
    result = runner.invoke(
        app, ["simulate", "--trace", str(day), "--json", "--battery-kw", "3", "--battery-kwh", "10"]
    )
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout.splitlines()[0])
    assert obj["battery_charged_kwh"] >= 0.0 and obj["battery_discharged_kwh"] > 0.0
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--battery-kw", "3"])
    assert result.exit_code == 2 and "--battery-kwh" in result.output
