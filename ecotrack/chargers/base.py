"""What the engine needs from a charger driver.

A driver knows one device or protocol and nothing about policy: it is told a
current (``set_current``) and reports what the charger says about itself
(``reading``). The engine owns the task that runs it (``run``), restarts it with
backoff when it raises, and leaves it at ``safe_current_a`` on shutdown.

"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

from ecotrack.core.model import ChargerReading

log = logging.getLogger(__name__)

ReadingListener = Callable[[str, ChargerReading], None]


class Charger(ABC):
    """Base class of charger drivers.

    Subclasses implement :meth:`run`, :meth:`set_current` and call
    :meth:`_publish` whenever the charger reports its state. The engine
    subscribes with :meth:`add_listener`; :meth:`reading` gives the latest report.
    """

    #: Largest current the hardware accepts (A); commands above are clamped.
    max_a: float = 32.0
    #: Resolution of the current the charger accepts: 1.0 or 0.1 A.
    step_a: float = 1.0
    #: What to leave the charger at on shutdown or when control is lost.
    safe_current_a: float = 0.0
    #: False for a charger that only reports (Gen3 Wall Connector over HTTP): ``set_current`` is then
    #: a no-op, and its loadpoint only observes (the core keeps room for what it may draw).
    can_control: bool = True
    #: The charger can switch between 1 and 3 phases (:meth:`set_phases`); it should then report the count
    #: it uses in ``ChargerReading.phases`` (a relay without feedback: the house counts the last switch
    #: acknowledged).
    can_switch_phases: bool = False

    def __init__(self, name: str) -> None:
        self.name = name
        #: Last failure of the driver (set by the engine when ``run`` raises), or None.
        self.error: str | None = None
        self._reading: ChargerReading | None = None
        self._listeners: list[ReadingListener] = []

    @abstractmethod
    async def run(self) -> None:
        """Talk to the device until cancelled. Raising means the engine restarts it."""

    @abstractmethod
    async def set_current(self, amps: float) -> None:
        """Offer ``amps`` to the car (0 = stop charging). May raise on a link error."""

    async def set_phases(self, phases: int) -> None:
        """Switch to ``phases`` (1 or 3). The engine calls it only while the charger is at 0 A and has
        confirmed it (IEC 61851 forbids switching under load). May raise on a link error."""
        raise NotImplementedError(f"charger {self.name} cannot switch phases")

    async def stop_charging(self) -> None:
        """Stop a charge that 0 A did not stop: the driver's configured stop method.

        The engine calls it when the charger keeps drawing current for a while after it acknowledged
        0 A. The base class can only offer 0 A again; drivers with a stronger method override it (a TWC
        sends ``FC B2`` or withholds heartbeats, whatever its protocol).
        """
        await self.set_current(0.0)

    def details(self) -> dict[str, object]:
        """Driver-specific facts for the state and the API (e.g. ``vin``, ``lifetime_kwh``, ``voltages_v``).

        Values must be JSON-friendly (str, numbers, bools, None, lists). The engine takes ``vin`` as the
        session's vehicle and ``lifetime_kwh`` as its meter reading. The base class knows none.
        """
        return {}

    def reading(self) -> ChargerReading | None:
        """The latest report, or None before the first one."""
        return self._reading

    def add_listener(self, listener: ReadingListener) -> None:
        """Call ``listener(charger_name, reading)`` on every new report."""
        self._listeners.append(listener)

    def _publish(self, reading: ChargerReading) -> None:
        """Store ``reading`` and hand it to every listener (a listener's bug is logged, not raised)."""
        self._reading = reading
        for listener in self._listeners:
            try:
                listener(self.name, reading)
            except Exception:
                log.exception("charger %s: a reading listener failed", self.name)


class WrappedCharger(Charger):
    """A charger that adds behaviour around another driver (``inner``) and forwards everything else.

    Used where a capability comes from outside the driver: a phase relay on the wallbox, a car that stops
    the charge, a car that sets the current a Gen3 only measures. The wrapper takes the driver's name,
    limits and capabilities; the engine's ``error`` is the driver's; subclasses override only what they
    change (and call ``super()`` to reach the driver).
    """

    def __init__(self, inner: Charger) -> None:
        self.inner = inner
        super().__init__(inner.name)
        self.max_a = inner.max_a
        self.step_a = inner.step_a
        self.safe_current_a = inner.safe_current_a
        self.can_control = inner.can_control
        self.can_switch_phases = inner.can_switch_phases

    # the engine reads and sets ``error`` on the driver it was given
    @property
    def error(self) -> str | None:
        return self.inner.error

    @error.setter
    def error(self, value: str | None) -> None:
        self.inner.error = value

    async def run(self) -> None:
        await self.inner.run()

    async def set_current(self, amps: float) -> None:
        await self.inner.set_current(amps)

    async def set_phases(self, phases: int) -> None:
        await self.inner.set_phases(phases)

    async def stop_charging(self) -> None:
        await self.inner.stop_charging()

    def details(self) -> dict[str, object]:
        return self.inner.details()

    def reading(self) -> ChargerReading | None:
        return self.inner.reading()

    def add_listener(self, listener: ReadingListener) -> None:
        self.inner.add_listener(listener)
