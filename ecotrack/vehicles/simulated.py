"""A simulated Tesla: commanded like a real one, slow like a real one.

It follows ``set_charging_amps``, ``charge_start`` and ``charge_stop`` only after ``reaction_s`` (a
real car takes tens of seconds), draws at most its own ``max_a``, stops at its charge limit and fills
its battery from the energy it took. The demo and the tests drive the ``tesla-vehicle`` charger with it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import SimulatedVehicleConfig

__all__ = ["SimulatedCar"]


class SimulatedCar(Vehicle):
    """See the module docstring; :meth:`step` advances it (``run`` calls it every second)."""

    config: SimulatedVehicleConfig

    def __init__(
        self, name: str, config: SimulatedVehicleConfig, clock: Clock, wall: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(name, config, clock, wall)
        self.control = self
        self.requested_a = config.max_a
        #: Plugged in but not charging until told to (as a car whose charge ecotrack stopped before).
        self.wants_charge = False
        self.drawing_a = 0.0
        self.soc_pct = config.soc_pct
        self.plugged_in = config.plugged_in
        #: Commands received: (clock time, name, argument).
        self.commands: list[tuple[float, str, float | None]] = []
        self._pending: deque[tuple[float, str, float | None]] = deque()
        self._last_s: float | None = None
        self.update(
            {
                "soc_pct": self.soc_pct,
                "charge_limit_pct": config.charge_limit_pct,
                "plugged_in": self.plugged_in,
                "charging": False,
                "current_a": 0.0,
                "status": "online",
            }
        )

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> SimulatedCar:
        """Registry factory."""
        return cls(name, config, context.clock)

    def _command(self, name: str, value: float | None = None) -> None:
        now = self.clock.now()
        self.commands.append((now, name, value))
        self._pending.append((now + self.config.reaction_s, name, value))

    async def charge_start(self) -> None:
        """Start charging (takes effect after ``reaction_s``)."""
        self._command("charge_start")

    async def charge_stop(self) -> None:
        """Stop charging (takes effect after ``reaction_s``)."""
        self._command("charge_stop")

    async def set_charging_amps(self, amps: int) -> None:
        """Charge at ``amps`` (takes effect after ``reaction_s``)."""
        if isinstance(amps, bool) or not 0 <= amps <= 48:
            raise ValueError(f"charging amps must be 0-48, got {amps!r}")
        self._command("set_charging_amps", float(amps))

    async def set_charge_limit(self, pct: int) -> None:
        """Set the charge limit."""
        self._command("set_charge_limit", float(pct))

    def step(self, now_s: float) -> None:
        """Apply the commands whose reaction time has passed, then charge until ``now_s``."""
        cfg = self.config
        if self._last_s is not None and self.drawing_a > 0 and cfg.capacity_kwh:
            hours = max(0.0, now_s - self._last_s) / 3600.0
            kwh = self.drawing_a * cfg.voltage_v * cfg.phases * hours / 1000.0
            self.soc_pct = min(100.0, self.soc_pct + 100.0 * kwh / cfg.capacity_kwh)
        self._last_s = now_s
        limit = self.state.charge_limit_pct if self.state.charge_limit_pct is not None else 100.0
        while self._pending and self._pending[0][0] <= now_s:
            _, name, value = self._pending.popleft()
            if name == "charge_start":
                self.wants_charge = True
            elif name == "charge_stop":
                self.wants_charge = False
            elif name == "set_charging_amps" and value is not None:
                self.requested_a = value
            elif name == "set_charge_limit" and value is not None:
                limit = value
        full = self.soc_pct >= limit
        charging = self.plugged_in and self.wants_charge and not full and self.requested_a > 0
        self.drawing_a = min(self.requested_a, cfg.max_a) if charging else 0.0
        self.update(
            {
                "soc_pct": round(self.soc_pct, 2),
                "charge_limit_pct": limit,
                "plugged_in": self.plugged_in,
                "charging": charging,
                "current_a": self.drawing_a,
            }
        )

    async def run(self) -> None:
        """Advance every clock second until cancelled."""
        while True:
            self.step(self.clock.now())
            await self.clock.sleep(1.0)

    def unplug(self) -> None:
        """The driver takes the cable out (tests)."""
        self.plugged_in = False
