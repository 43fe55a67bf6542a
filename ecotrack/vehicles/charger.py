"""``type: tesla-vehicle``: the car is the charger; its charging amps are set through its commands.

For a Tesla on a dumb EVSE or a Mobile Connector, where no charger can be told a current: the engine's
decision becomes ``set_charging_amps`` on the car (1-32 A, whole amps, never above ``max_a``, the
EVSE's or socket's rating), 0 A becomes ``charge_stop`` and charging again ``charge_start``.

The car is slow (tens of seconds to follow) and Tesla limits commands, so:

* the current reported to the engine is what the car says it draws (``current_a``), or the larger of
  the last two amps sent while it has not said (a cut counts only once the car shows it);
* raises spend a :class:`~ecotrack.vehicles.control.CommandBudget` (``max_commands_per_hour``);
  cuts are always sent; a held-back raise leaves the car at its lower current;
* the same amps are not sent twice.
"""

from __future__ import annotations

import logging
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.vehicles.amps import CAR_MAX_A, CarAmps, amps_for
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import TeslaVehicleChargerConfig

__all__ = ["TeslaVehicleCharger", "amps_for"]

log = logging.getLogger(__name__)


class TeslaVehicleCharger(Charger):
    """See the module docstring; the commands themselves are :class:`~ecotrack.vehicles.amps.CarAmps`'."""

    step_a = 1.0
    safe_current_a = 0.0

    def __init__(self, name: str, config: TeslaVehicleChargerConfig, vehicle: Vehicle, clock: Clock) -> None:
        super().__init__(name)
        if vehicle.control is None:
            raise ValueError(
                f"charger {name!r}: vehicle {vehicle.name!r} cannot be commanded "
                "(use type: tesla, or add control: {type: tesla-ble, ...})"
            )
        self.config = config
        self.vehicle = vehicle
        self.control = vehicle.control
        self.clock = clock
        self.car = CarAmps(name, vehicle, vehicle.control, config.max_a, config.max_commands_per_hour, clock)
        self.max_a = float(min(config.max_a, CAR_MAX_A))
        self.budget = self.car.budget

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> TeslaVehicleCharger:
        """Registry factory: the vehicle comes from the context (the app builds vehicles first)."""

        def missing() -> Vehicle:
            raise ValueError(f"charger {name!r}: unknown vehicle {config.vehicle!r} (define it under vehicles:)")

        vehicle = context.shared(("vehicle", config.vehicle), missing)
        return cls(name, config, vehicle, context.clock)

    async def set_current(self, amps: float) -> None:
        """Tell the car ``amps`` (see :func:`amps_for`); raises CommandError when the car did not take it."""
        await self.car.apply(amps, drawing_a=self.vehicle.state.current_a)

    def report(self) -> ChargerReading:
        """The car's state as a charger report (what it draws, else what it may still be drawing)."""
        s = self.vehicle.state
        connected = bool(s.plugged_in) and s.at_home is not False
        charging = bool(s.charging) and connected
        if s.current_a is not None:
            actual = s.current_a if charging else 0.0
        else:  # the car has not said: it may still draw the higher of the last two commands
            actual = float(max(self.car.sent_a, self.car.previous_a)) if charging else 0.0
        return ChargerReading(
            t_s=self.clock.now(),
            connected=connected,
            charging=charging,
            actual_a=actual,
            power_w=actual * self.config.voltage_v * self.config.phases,
            voltage_v=self.config.voltage_v,
            offered_a=self.car.commanded_a,
        )

    def details(self) -> dict[str, object]:
        """The car's name, the amps sent and the raises still allowed this hour."""
        return {
            "vehicle_controlled": self.vehicle.name,
            "charging_amps_sent": self.car.sent_a,
            "commands_left_this_hour": self.budget.remaining(self.clock.now()),
            "raises_held_back": self.budget.refused,
        }

    async def run(self) -> None:
        """Report the car's state every ``report_interval_s`` until cancelled."""
        while True:
            self._publish(self.report())
            await self.clock.sleep(self.config.report_interval_s)
