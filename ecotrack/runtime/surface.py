"""The engine as services see it: snapshots out, user intents in, and nothing else.

Services (web, MQTT, store) are typed against :class:`EngineSurface`, not against the engine class, so
they cannot reach into drivers or the control core, and a test can hand them a small fake. The engine
implements it; :mod:`ecotrack.app` passes the engine to each service it builds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Protocol

from ecotrack.clock import Clock
from ecotrack.core.model import Mode, SiteParams
from ecotrack.runtime.rules import ChargeNow
from ecotrack.runtime.sessions import Session, SessionEvent
from ecotrack.runtime.setup import SiteSetup
from ecotrack.runtime.snapshot import Event, Snapshot

__all__ = ["EngineSurface", "EventListener", "ServiceFactory", "SessionListener", "SnapshotListener"]

SnapshotListener = Callable[[Snapshot], None]
SessionListener = Callable[[SessionEvent, Session], None]
EventListener = Callable[[Event], None]
ServiceFactory = Callable[[], Awaitable[None]]


class EngineSurface(Protocol):
    """What a service may use of the engine (see the module docstring)."""

    #: The engine's clock (monotonic seconds; the demo's runs faster than the wall).
    clock: Clock
    #: Period of the engine's timer tick (clock seconds).
    tick_s: float
    #: The site as configured: loadpoints with their limits, meter roles, nominal voltage.
    setup: SiteSetup
    #: Loadpoint name -> charger name.
    loadpoint_charger: dict[str, str]

    @property
    def site_params(self) -> SiteParams:
        """``setup.params`` with each charger driver's limits applied: the maximum and current step the core
        really uses (a whole-amp charger never gets tenths), which is what a control's range must offer."""
        ...

    # ------------------------------------------------------------------ state out
    def snapshot(self) -> Snapshot:
        """The latest snapshot."""
        ...

    def subscribe(self) -> AsyncIterator[Snapshot]:
        """Snapshots as they are published (a slow reader sees only the latest); ends when the engine stops."""
        ...

    def add_listener(self, listener: SnapshotListener) -> None:
        """Call ``listener(snapshot)`` after every step."""
        ...

    def add_session_listener(self, listener: SessionListener) -> None:
        """Call ``listener(kind, session)`` on session start, update and end."""
        ...

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for mode/rule changes, faults, failsafe, charge now."""
        ...

    def wall(self) -> datetime:
        """The engine's wall time (aware UTC; the demo's simulated day)."""
        ...

    def session_of(self, loadpoint: str) -> Session | None:
        """The loadpoint's open session."""
        ...

    # ------------------------------------------------------------------ user intents in
    def set_mode(self, loadpoint: str, mode: Mode | str) -> None:
        """The user's mode (KeyError: unknown loadpoint; ValueError: bad mode)."""
        ...

    def mode_of(self, loadpoint: str) -> Mode:
        """The mode in force (a rule may override the user's)."""
        ...

    def user_mode_of(self, loadpoint: str) -> Mode:
        """The mode the user chose."""
        ...

    def current_range(self, loadpoint: str) -> tuple[float, float]:
        """The user's ``(min_a, max_a)``."""
        ...

    def set_current_range(
        self, loadpoint: str, min_a: float | None = None, max_a: float | None = None
    ) -> None:
        """Narrow the loadpoint's current range (ValueError outside the configured one)."""
        ...

    def charge_now(
        self, loadpoint: str, amps: float | None = None, until: datetime | None = None
    ) -> ChargeNow:
        """Charge at full power (or ``amps``) until ``until`` or cancelled."""
        ...

    def cancel_charge_now(self, loadpoint: str) -> bool:
        """End a charge-now request; False when there was none."""
        ...

    def set_energy_limit(self, loadpoint: str, kwh: float | None) -> None:
        """Stop the session's charge after ``kwh`` (None or 0: no limit)."""
        ...

    def set_phases(self, loadpoint: str, choice: int | str | None) -> None:
        """Fix the loadpoint on 1 or 3 phases, or let it switch (``auto``/None); ValueError when it cannot."""
        ...

    def vehicle_names(self) -> list[str]:
        """The configured vehicles (for a choice in the dashboard)."""
        ...

    def choose_vehicle(self, loadpoint: str, vehicle: str | None) -> None:
        """The user's choice of car on a loadpoint (None: automatic); KeyError for an unknown name."""
        ...

    def restore_session(self, session: Session) -> None:
        """Hand back an open session recorded before a restart (the store's crash recovery)."""
        ...

    # ------------------------------------------------------------------ services
    def add_service(self, name: str, factory: ServiceFactory) -> None:
        """Run ``factory()`` alongside the devices, restarted with backoff, cancelled after chargers are safe."""
        ...

    def report_service_error(self, name: str, error: str | None) -> None:
        """A running service tells its health (shown in the devices)."""
        ...
