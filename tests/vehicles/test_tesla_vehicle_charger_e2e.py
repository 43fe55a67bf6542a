"""type: tesla-vehicle in the running daemon: the engine's decisions reach a slow simulated car as commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ecotrack.app import build_app
from ecotrack.clock import ScaledClock
from ecotrack.config_load import ConfigError, parse_config
from ecotrack.vehicles.charger import TeslaVehicleCharger
from ecotrack.vehicles.simulated import SimulatedCar
from tests.web.conftest import until, write_trace


def config(trace: Path) -> dict[str, object]:
    return {
        "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 10},
        "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
        "vehicles": {"car": {"type": "simulated", "reaction_s": 20, "capacity_kwh": 60, "soc_pct": 40}},
        "chargers": {"wall": {"type": "tesla-vehicle", "vehicle": "car", "max_a": 13, "report_interval_s": 2}},
        "loadpoints": {"garage": {"charger": "wall", "vehicle": "car", "mode": "now", "min_a": 6, "max_a": 16}},
        "control": {"tick_s": 1},
    }


async def test_the_daemon_charges_through_the_car(tmp_path: Path) -> None:
    cfg = parse_config(config(write_trace(tmp_path / "day.csv", 6000, 500)))
    engine = build_app(cfg, clock=ScaledClock(40), services=False).engine
    charger = engine.chargers["wall"]
    assert isinstance(charger, TeslaVehicleCharger) and charger.max_a == 13
    car = charger.vehicle
    assert isinstance(car, SimulatedCar)
    task = asyncio.create_task(engine.run())
    try:  # mode now: full power, but never above the EVSE's 13 A (the loadpoint allows 16)
        await until(lambda: car.drawing_a == 13, 10, "the car charging at 13 A")
        assert ("set_charging_amps", 13.0) in [c[1:] for c in car.commands]
        assert all(c[2] is None or c[2] <= 13 for c in car.commands)
        await until(lambda: engine.snapshot().loadpoint("garage").actual_a == 13, 5, "reported 13 A")
        engine.set_mode("garage", "off")
        await until(lambda: car.commands[-1][1] == "charge_stop", 5, "stopped through the car")
        await until(lambda: car.drawing_a == 0, 10, "the car stopped after its reaction time")
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)


def test_the_charger_must_name_a_vehicle(tmp_path: Path) -> None:
    data = config(write_trace(tmp_path / "day.csv", 6000, 500))
    data["chargers"] = {"wall": {"type": "tesla-vehicle", "vehicle": "van"}}
    try:
        parse_config(data)
    except ConfigError as e:
        assert "chargers.wall.vehicle: unknown vehicle 'van'" in str(e)
    else:
        raise AssertionError("accepted a charger naming an unknown vehicle")
