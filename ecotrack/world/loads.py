"""The simulated house wiring: what simulated chargers draw, so a replayed grid meter can see it.

Simulated chargers (and the demo's simulated Wall Connector) register here; a replay meter asks
:meth:`SimulatedWorld.ev_power_w` so its grid value includes the cars the engine controls. That coupling
is what makes the demo and the engine tests a closed loop.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["PowerDraw", "SimulatedWorld"]


class PowerDraw(Protocol):
    """Anything in the simulated world that draws power from the house wiring."""

    name: str

    def power_w(self) -> float:
        """Power drawn right now (W, >= 0)."""
        ...


class SimulatedWorld:
    """The simulated devices that share one simulated house."""

    def __init__(self) -> None:
        self._loads: list[PowerDraw] = []

    def add(self, load: PowerDraw) -> None:
        """Register a simulated load (a charger with its car)."""
        self._loads.append(load)

    @property
    def loads(self) -> tuple[PowerDraw, ...]:
        """Registered loads, in registration order."""
        return tuple(self._loads)

    def ev_power_w(self) -> float:
        """Sum of the power every registered load draws now (W)."""
        return sum(load.power_w() for load in self._loads)
