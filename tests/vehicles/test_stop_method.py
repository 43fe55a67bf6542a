"""stop_method: vehicle: a charger that cannot stop (a protocol-2 TWC) stops and restarts through the car."""

from __future__ import annotations

import pytest

from ecotrack.chargers.base import Charger
from ecotrack.chargers.twc.config import TwcChargerConfig
from ecotrack.core.model import ChargerReading
from ecotrack.vehicles.config import SimulatedVehicleConfig
from ecotrack.vehicles.garage import Garage
from ecotrack.vehicles.simulated import SimulatedCar
from ecotrack.vehicles.stop import VehicleStopCharger, wrap_stop_method

from .test_control import ManualClock


class StubbornCharger(Charger):
    """Like a protocol-2 TWC: takes any current, keeps the car charging at 0 A."""

    max_a = 32.0

    def __init__(self) -> None:
        super().__init__("twc")
        self.sent: list[float] = []

    async def run(self) -> None:
        pass

    async def set_current(self, amps: float) -> None:
        self.sent.append(amps)
        self._publish(ChargerReading(t_s=0, connected=True, charging=True, actual_a=6.0))


def rig() -> tuple[SimulatedCar, StubbornCharger, VehicleStopCharger]:
    car = SimulatedCar("car", SimulatedVehicleConfig.model_validate({"type": "simulated", "reaction_s": 0}), ManualClock())
    inner = StubbornCharger()
    garage = Garage({"car": car}, {"garage": "car"})
    wrapped = wrap_stop_method({"twc": inner}, {"twc": TwcChargerConfig.model_validate(
        {"type": "twc", "port": "/dev/null", "stop_method": "vehicle"})}, garage, {"twc": "garage"})["twc"]
    assert isinstance(wrapped, VehicleStopCharger)
    return car, inner, wrapped


async def test_stop_and_start_through_the_car() -> None:
    car, inner, charger = rig()
    await charger.set_current(10)
    assert car.commands == []  # nothing to restart yet
    await charger.set_current(0)
    await charger.set_current(0)  # once is enough
    assert [c[1] for c in car.commands] == ["charge_stop"]
    await charger.set_current(8)
    assert [c[1] for c in car.commands] == ["charge_stop", "charge_start"]
    assert inner.sent == [10, 0, 0, 8]  # the TWC still gets every command
    assert charger.details()["stopped_through_vehicle"] is False
    charger.error = "link down"
    assert inner.error == "link down" and charger.max_a == 32


def test_needs_a_vehicle() -> None:
    cfg = TwcChargerConfig.model_validate({"type": "twc", "port": "/dev/null", "stop_method": "vehicle"})
    with pytest.raises(ValueError, match="needs a loadpoint with a vehicle"):
        wrap_stop_method({"twc": StubbornCharger()}, {"twc": cfg}, None, {"twc": "garage"})
