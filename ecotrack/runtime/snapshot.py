"""Immutable pictures of the running house: snapshots, loadpoint states, device health and events.

The engine publishes a :class:`Snapshot` after every step; services (web, MQTT, store) read nothing else.
These are values: they never change after they are built, so a service can keep one as long as it likes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from ecotrack.core.model import Decision, Mode
from ecotrack.runtime.rules import ChargeNow
from ecotrack.runtime.sessions import Session

__all__ = ["DeviceStatus", "Event", "LoadpointSnapshot", "Snapshot"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth a line in the history: a mode or rule change, a fault, the failsafe, charge now.

    ``kind`` is one of ``mode``, ``rule``, ``fault``, ``recovered``, ``failsafe``, ``charge-now``,
    ``energy-limit``, ``current-range``.
    """

    time: datetime
    kind: str
    loadpoint: str | None
    message: str


@dataclass(frozen=True, slots=True)
class LoadpointSnapshot:
    """State of one loadpoint as of a snapshot."""

    name: str
    charger: str
    mode: Mode
    #: The core's short status word (e.g. ``charging``, ``waiting``, ``failsafe``).
    status: str
    #: Why, in a sentence.
    reason: str
    #: The current the core decided (A); what the engine is sending to the charger.
    commanded_a: float
    #: The current last confirmed sent to the charger (None before the first command).
    sent_a: float | None
    #: What the charger says it offers to the car (None when it does not report it).
    offered_a: float | None
    actual_a: float
    power_w: float
    connected: bool
    charging: bool
    #: The charger driver runs without error and has reported.
    charger_online: bool
    charger_error: str | None
    #: The mode the user chose (``mode`` is the one in force, which a rule may have changed).
    user_mode: Mode = Mode.PV
    #: Label of the rule that decided ``mode`` (``manual``, ``charge-now``, ``energy-limit``, ...).
    active_rule: str = "manual"
    #: The user's current range (A), within the configured ``limit_min_a``..``limit_max_a``.
    min_a: float = 0.0
    max_a: float = 0.0
    limit_min_a: float = 0.0
    limit_max_a: float = 0.0
    #: Phases the charger uses now.
    phases: int = 1
    #: 1p/3p switching: None when the charger cannot switch, else the stage (``steady``, ``pausing``,
    #: ``switching``); ``phases_choice`` is the user's ``1``, ``3`` or ``auto``.
    phase_switching: str | None = None
    phases_choice: str | None = None
    phase_switches: int = 0
    energy_limit_wh: float | None = None
    charge_now: ChargeNow | None = None
    #: The open session (car connected), or None.
    session: Session | None = None
    #: Driver-specific facts (``vin``, ``lifetime_kwh``, ``voltages_v``, ...).
    details: dict[str, object] = dataclasses.field(default_factory=dict)
    #: Times the charger's stop method was run because it kept drawing current after 0 A.
    escalations: int = 0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """Health of one meter source, charger driver or service (MQTT, HTTP, store)."""

    name: str
    kind: str  #: ``"meter"``, ``"charger"`` or ``"service"``
    online: bool
    error: str | None
    #: Clock time of the device's last reading, or None.
    last_t_s: float | None
    #: Consecutive failures of its task (0 when healthy).
    failures: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Immutable picture of the whole state, published after every core step."""

    #: Engine clock time (monotonic seconds).
    t_s: float
    #: Wall time (aware UTC) when the snapshot was taken, for storage and the API.
    time: datetime
    grid_w: float | None
    pv_w: float | None
    battery_w: float | None
    battery_soc_pct: float | None
    voltage_v: float | None
    #: Surplus for the cars as the core computed it (W).
    surplus_w: float | None
    #: Age of the last grid reading (s), None before the first one.
    data_age_s: float | None
    failsafe: bool
    loadpoints: tuple[LoadpointSnapshot, ...]
    devices: tuple[DeviceStatus, ...]
    decision: Decision | None
    #: Per-phase voltages (V) and currents (A, + import) at the grid connection, when the grid meter has them.
    grid_voltages_v: tuple[float, ...] | None = None
    grid_currents_a: tuple[float, ...] | None = None

    def loadpoint(self, name: str) -> LoadpointSnapshot:
        """The loadpoint called ``name`` (KeyError when unknown)."""
        for lp in self.loadpoints:
            if lp.name == name:
                return lp
        raise KeyError(name)

    def device(self, name: str, kind: str | None = None) -> DeviceStatus:
        """The meter or charger called ``name`` (KeyError when unknown)."""
        for d in self.devices:
            if d.name == name and (kind is None or d.kind == kind):
                return d
        raise KeyError(name)
