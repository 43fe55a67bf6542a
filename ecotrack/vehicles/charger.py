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
import math
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import TeslaVehicleChargerConfig
from ecotrack.vehicles.control import CommandBudget

__all__ = ["TeslaVehicleCharger", "amps_for"]

log = logging.getLogger(__name__)

#: The car's own range of charging amps.
CAR_MIN_A = 1
CAR_MAX_A = 32


def amps_for(amps: float, max_a: float) -> int:
    """Whole amps the car is told for a decided ``amps``: 0 (stop) below 1 A, else floor, within 1..max_a..32.

    Rounded down, never up: the car must not draw more than was decided.
    """
    if not math.isfinite(amps) or amps < CAR_MIN_A:
        return 0
    return int(max(CAR_MIN_A, min(math.floor(amps), math.floor(max_a), CAR_MAX_A)))


class TeslaVehicleCharger(Charger):
    """See the module docstring."""

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
        self.max_a = float(min(config.max_a, CAR_MAX_A))
        self.budget = CommandBudget(config.max_commands_per_hour)
        #: Amps last sent (0: stopped or never started), and the amps before them.
        self.sent_a = 0
        self._previous_a = 0
        self._started = False

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> TeslaVehicleCharger:
        """Registry factory: the vehicle comes from the context (the app builds vehicles first)."""

        def missing() -> Vehicle:
            raise ValueError(f"charger {name!r}: unknown vehicle {config.vehicle!r} (define it under vehicles:)")

        vehicle = context.shared(("vehicle", config.vehicle), missing)
        return cls(name, config, vehicle, context.clock)

    async def set_current(self, amps: float) -> None:
        """Tell the car ``amps`` (see :func:`amps_for`); raises CommandError when the car did not take it."""
        target = amps_for(amps, self.max_a)
        now = self.clock.now()
        if target == 0:
            if self._started or self.vehicle.state.charging:
                await self.control.charge_stop()
                self._started = False
            self._record(0)
            return
        if target != self.sent_a or not self._started:
            cut = self._started and target < self.sent_a
            if not self.budget.allow(now, cut=cut):
                log.info("charger %s: raise to %d A held back (command budget of %d/h spent)",
                         self.name, target, self.budget.per_hour)
                return
            if target != self.sent_a:
                await self.control.set_charging_amps(target)
                self._record(target)
            if not self._started:
                await self.control.charge_start()
                self._started = True

    def _record(self, amps: int) -> None:
        if amps != self.sent_a:
            self._previous_a, self.sent_a = self.sent_a, amps

    def report(self) -> ChargerReading:
        """The car's state as a charger report (what it draws, else what it may still be drawing)."""
        s = self.vehicle.state
        connected = bool(s.plugged_in) and s.at_home is not False
        charging = bool(s.charging) and connected
        if s.current_a is not None:
            actual = s.current_a if charging else 0.0
        else:  # the car has not said: it may still draw the higher of the last two commands
            actual = float(max(self.sent_a, self._previous_a)) if charging else 0.0
        return ChargerReading(
            t_s=self.clock.now(),
            connected=connected,
            charging=charging,
            actual_a=actual,
            power_w=actual * self.config.voltage_v * self.config.phases,
            voltage_v=self.config.voltage_v,
            offered_a=float(self.sent_a) if self._started else 0.0,
        )

    def details(self) -> dict[str, object]:
        """The car's name, the amps sent and the raises still allowed this hour."""
        return {
            "vehicle_controlled": self.vehicle.name,
            "charging_amps_sent": self.sent_a,
            "commands_left_this_hour": self.budget.remaining(self.clock.now()),
            "raises_held_back": self.budget.refused,
        }

    async def run(self) -> None:
        """Report the car's state every ``report_interval_s`` until cancelled."""
        while True:
            self._publish(self.report())
            await self.clock.sleep(self.config.report_interval_s)
