"""Making a car draw a decided current through its own commands: shared by every charger the car controls.

Two chargers let the car be the current controller: ``type: tesla-vehicle`` (a dumb EVSE, the car's
API reports what it draws) and a Gen3 Wall Connector with ``control_vehicle`` (the Wall Connector
measures). Both turn the engine's decided amps into the same commands, kept here once:

* whole amps within 1..``max_a`` (never above 32 A, the car's own range), rounded down, never up;
  below 1 A (or junk) the car is told ``charge_stop``; charging again needs ``charge_start``;
* the same amps are not sent twice while charging (they are sent again before every start);
* raises (start, more amps) spend a :class:`~ecotrack.vehicles.control.CommandBudget`
  (``max_commands_per_hour``); cuts always go; a held-back raise leaves the car at its lower current;
* what the car may still be drawing: a car takes tens of seconds to follow, so every command it was
  given (and what it measured drawing when a command replaced it) still counts for a while
  (:meth:`CarAmps.may_draw_a`).
"""

from __future__ import annotations

import logging
import math
from collections import deque

from ecotrack.clock import Clock
from ecotrack.vehicles.base import Vehicle, VehicleControl
from ecotrack.vehicles.control import CommandBudget

__all__ = ["CAR_MAX_A", "CAR_MIN_A", "CarAmps", "amps_for"]

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


class CarAmps:
    """The commands that make ``vehicle`` draw a decided current (see the module docstring).

    ``name`` is the charger's, for the log. Raises :class:`~ecotrack.vehicles.control.CommandError`
    (from the control) when the car did not take a command; the state then stays as it was.
    """

    def __init__(
        self, name: str, vehicle: Vehicle, control: VehicleControl, max_a: float, per_hour: int, clock: Clock
    ) -> None:
        self.name = name
        self.vehicle = vehicle
        self.control = control
        self.clock = clock
        self.max_a = float(min(max_a, CAR_MAX_A))
        self.budget = CommandBudget(per_hour)
        #: Amps last sent (0: stopped or never started), and the amps before them.
        self.sent_a = 0
        self.previous_a = 0
        #: Whether the car was told to charge (charge_start) and not told to stop since.
        self.started = False
        #: Clock time of the last charge_stop sent, or None.
        self.stopped_at_s: float | None = None
        #: (clock time, amps the car may have been drawing until then) for each change of command.
        self._replaced: deque[tuple[float, float]] = deque(maxlen=64)

    @property
    def commanded_a(self) -> float:
        """What the car is told to draw now (0 when stopped)."""
        return float(self.sent_a) if self.started else 0.0

    def may_draw_a(self, now_s: float, window_s: float) -> float:
        """The most the car may still draw at ``now_s``: the command in force, or one it had (or a current it
        was measured drawing) when a command less than ``window_s`` ago replaced it."""
        recent = [a for t, a in self._replaced if now_s - t < window_s]
        return max([self.commanded_a, *recent])

    async def apply(self, amps: float, *, drawing_a: float | None = None, charging: bool = False) -> None:
        """Tell the car ``amps`` (see :func:`amps_for`).

        ``drawing_a`` is what the car is measured drawing now (kept as what it may still draw for a
        while); ``charging`` says a charge is going on that ecotrack did not start (it is stopped at 0 A).
        """
        target = amps_for(amps, self.max_a)
        now = self.clock.now()
        if target == 0:
            if self.started or charging or self.vehicle.state.charging:
                await self.stop(drawing_a=drawing_a)
            self._record(0, now, drawing_a)
            return
        if target != self.sent_a or not self.started:
            cut = self.started and target < self.sent_a
            if not self.budget.allow(now, cut=cut):
                log.info(
                    "charger %s: raise to %d A held back (command budget of %d/h spent)",
                    self.name,
                    target,
                    self.budget.per_hour,
                )
                return
            # sent again before a start: the car keeps its own setting, which someone may have changed
            await self.control.set_charging_amps(target)
            self._record(target, now, drawing_a)
            if not self.started:
                await self.control.charge_start()
                self._note(now, drawing_a)
                self.started = True

    async def stop(self, *, drawing_a: float | None = None) -> None:
        """``charge_stop``, whatever ecotrack believes the car is doing (a cut: never held back)."""
        await self.control.charge_stop()
        self.stopped_at_s = self.clock.now()
        if self.started:
            self._note(self.clock.now(), drawing_a)
        self.started = False

    def forget_start(self) -> None:
        """The car went away (unplugged, left home): the next charge here needs charge_start again."""
        if self.started:
            self._note(self.clock.now(), None)
        self.started = False

    def _note(self, now_s: float, drawing_a: float | None) -> None:
        self._replaced.append((now_s, max(self.commanded_a, drawing_a or 0.0)))

    def _record(self, amps: int, now_s: float, drawing_a: float | None) -> None:
        if amps != self.sent_a:
            self._note(now_s, drawing_a)
            self.previous_a, self.sent_a = self.sent_a, amps
