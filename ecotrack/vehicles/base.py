"""What the engine needs from a vehicle source, and the optional control capability of a car.

A source keeps one car's :class:`~ecotrack.vehicles.model.VehicleState` up to date from what its
bridge reports, rejecting junk value by value (counted, logged as a sample, never raised). The engine
runs :meth:`Vehicle.run` as a supervised task (restarted with backoff when it raises).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from ecotrack.clock import Clock
from ecotrack.transport.mqtt.payloads import LogLimiter
from ecotrack.vehicles.model import Home, VehicleState, apply

__all__ = ["Vehicle", "VehicleControl", "home_of"]

log = logging.getLogger(__name__)


@runtime_checkable
class VehicleControl(Protocol):
    """A car that can be told to charge: what a vehicle driver may offer besides its state."""

    async def charge_start(self) -> None:
        """Ask the car to start charging."""
        ...

    async def charge_stop(self) -> None:
        """Ask the car to stop charging."""
        ...

    async def set_charging_amps(self, amps: int) -> None:
        """Ask the car to draw at most ``amps`` (A)."""
        ...

    async def set_charge_limit(self, pct: int) -> None:
        """Set the car's charge limit (%)."""
        ...


def home_of(config: Any) -> Home | None:
    """The :class:`Home` of a vehicle config's ``home:`` section (None when absent)."""
    home = getattr(config, "home", None)
    if home is None:
        return None
    return Home(home.latitude, home.longitude, home.radius_m, tuple(home.geofences))


class Vehicle(ABC):
    """Base class of vehicle sources (see the module docstring).

    ``wall`` gives the aware wall time stamped on updates (default: real UTC time).
    """

    def __init__(
        self, name: str, config: Any, clock: Clock, wall: Callable[[], datetime] | None = None
    ) -> None:
        self.name = name
        self.config = config
        self.clock = clock
        self._wall = wall if wall is not None else (lambda: datetime.now(UTC))
        self.home = home_of(config)
        self.state = VehicleState(capacity_kwh=getattr(config, "capacity_kwh", None))
        #: Last failure of the source (set by the source or by the engine when ``run`` raises), or None.
        self.error: str | None = None
        #: Values accepted and rejected so far.
        self.accepted = 0
        self.rejected = 0
        self._listeners: list[Callable[[str, VehicleState], None]] = []
        self._log_limit = LogLimiter()
        #: How to command the car, or None when it cannot be commanded.
        self.control: VehicleControl | None = None
        ble = getattr(config, "control", None)
        if ble is not None and getattr(ble, "type", None) == "tesla-ble":
            from ecotrack.vehicles.control import TeslaBleControl

            if self.vin is None:
                raise ValueError(f"vehicle {name!r}: control tesla-ble needs the vehicle's vin")
            self.control = TeslaBleControl(self.vin, ble.key_file, ble.program, ble.timeout_s)

    @property
    def vin(self) -> str | None:
        """The configured VIN (a TWC reporting it selects this car), or None."""
        vin = getattr(self.config, "vin", None)
        return vin if isinstance(vin, str) else None

    @property
    def min_soc_pct(self) -> float | None:
        """Below this SoC the car charges at full power whatever the mode, or None."""
        v = getattr(self.config, "min_soc_pct", None)
        return float(v) if isinstance(v, int | float) else None

    def add_listener(self, listener: Callable[[str, VehicleState], None]) -> None:
        """Call ``listener(name, state)`` after every accepted update (keep it quick)."""
        self._listeners.append(listener)

    def update(self, values: Mapping[str, Any], what: str = "") -> VehicleState:
        """Apply ``values`` (field -> raw value) to the state; junk is rejected, counted and logged."""
        new, rejected = apply(self.state, values, self._wall(), self.home)
        if rejected:
            self.rejected += len(rejected)
            if self._log_limit.allow(self.clock.now()):
                log.warning("vehicle %s: ignored %s%s", self.name, "; ".join(rejected), f" ({what})" if what else "")
        if new is not self.state:
            self.accepted += len(values) - len(rejected)
            self.state = new
            for listener in self._listeners:
                try:
                    listener(self.name, new)
                except Exception:
                    log.exception("vehicle %s: listener failed", self.name)
        return self.state

    def reject(self, reason: str) -> None:
        """Count and log (as a sample) a message that carried nothing usable."""
        self.rejected += 1
        if self._log_limit.allow(self.clock.now()):
            log.warning("vehicle %s: ignored %s", self.name, reason)

    @abstractmethod
    async def run(self) -> None:
        """Keep :attr:`state` up to date until cancelled (raise: restarted with backoff)."""
