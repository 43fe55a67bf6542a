"""``stop_method: vehicle``: a charger that cannot stop a charge (a protocol-2 TWC ignores 0 A) stops it
through the car on its loadpoint instead, and starts it again the same way.

:class:`VehicleStopCharger` wraps the charger driver: every call goes to the driver as before; when the
decided current drops to 0 it also tells the loadpoint's car ``charge_stop``, and when current is
wanted again after such a stop, ``charge_start``. The car is the one the garage says is on the
loadpoint at that moment (the default, the TWC's VIN or the user's choice). A car that cannot be
commanded (or a command that fails) leaves the driver's own behaviour in place and is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from ecotrack.chargers.base import Charger, WrappedCharger
from ecotrack.vehicles.control import CommandError
from ecotrack.vehicles.garage import Garage

__all__ = ["VehicleStopCharger", "wrap_stop_method"]

log = logging.getLogger(__name__)


class VehicleStopCharger(WrappedCharger):
    """See the module docstring."""

    def __init__(self, inner: Charger, garage: Garage, loadpoint: str) -> None:
        super().__init__(inner)
        self.garage = garage
        self.loadpoint = loadpoint
        #: Whether this wrapper stopped the car (so the next raise starts it again).
        self.stopped_car = False

    def details(self) -> dict[str, object]:
        return {**self.inner.details(), "stopped_through_vehicle": self.stopped_car}

    async def stop_charging(self) -> None:
        """An escalated stop goes through the car too (what ``stop_method: vehicle`` means)."""
        await self.set_current(0.0)

    async def set_current(self, amps: float) -> None:
        """The driver's command; plus charge_stop at 0 A and charge_start when current is wanted again."""
        await self.inner.set_current(amps)
        vehicle = self.garage.vehicle_of(self.loadpoint)
        control = vehicle.control if vehicle is not None else None
        if control is None:
            return
        try:
            if amps <= 0 and not self.stopped_car:
                reading = self.inner.reading()
                if reading is not None and reading.charging:
                    await control.charge_stop()
                    self.stopped_car = True
                    log.info("loadpoint %s: charge stopped through the car", self.loadpoint)
            elif amps > 0 and self.stopped_car:
                await control.charge_start()
                self.stopped_car = False
                log.info("loadpoint %s: charge started again through the car", self.loadpoint)
        except CommandError as e:
            log.warning("loadpoint %s: the car did not take the command: %s", self.loadpoint, e)
            raise


def wrap_stop_method(chargers: dict[str, Charger], configs: dict[str, Any], garage: Garage | None,
                     loadpoint_of: dict[str, str]) -> dict[str, Charger]:
    """``chargers`` with every ``stop_method: vehicle`` driver on a loadpoint wrapped (see the module docstring)."""
    out = dict(chargers)
    for name, cfg in configs.items():
        if getattr(cfg, "stop_method", None) != "vehicle":
            continue
        lp = loadpoint_of.get(name)
        if garage is None or lp is None:
            raise ValueError(f"charger {name!r}: stop_method vehicle needs a loadpoint with a vehicle (vehicles:)")
        out[name] = VehicleStopCharger(chargers[name], garage, lp)
    return out
