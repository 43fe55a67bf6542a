"""One loadpoint (a charger with a car behind it): its user intents, the rule in force, its session and
what the engine has commanded its charger.

Before this object existed the engine kept all of this in about fourteen parallel dictionaries keyed by
loadpoint name. A :class:`Loadpoint` holds it in one place and checks every user input itself, so the
web API, MQTT and the property tests all go through the same validation. It is synchronous and does no
I/O: the :class:`~ecotrack.runtime.house.House` drives it, the engine only sends what it decided.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ecotrack.core.bounds import ChargerBounds, EnergyCounter
from ecotrack.core.control import check_current_range
from ecotrack.core.model import ChargerReading, LoadpointDecision, LoadpointParams, Mode
from ecotrack.runtime.rules import ChargeNow, RuleContext, RuleOutcome
from ecotrack.runtime.sessions import Session, SessionEvent, SessionTracker
from ecotrack.runtime.snapshot import LoadpointSnapshot

__all__ = ["ChargerFacts", "EventSink", "Loadpoint"]

log = logging.getLogger(__name__)

#: Largest per-session energy limit accepted (kWh); more is a typo, not a car.
MAX_ENERGY_LIMIT_KWH = 1000.0


class EventSink(Protocol):
    """Where a loadpoint reports what is worth a line in the history (the house forwards it)."""

    def event(self, kind: str, loadpoint: str | None, message: str) -> None:
        """Record one event (``mode``, ``rule``, ``charge-now``, ``energy-limit``, ``current-range``, ...)."""
        ...


@dataclass(frozen=True, slots=True)
class ChargerFacts:
    """What the engine knows about a loadpoint's charger driver when a snapshot is taken."""

    reading: ChargerReading | None
    #: The driver's own error (its task failed), or None.
    error: str | None
    #: The driver's task is running.
    running: bool
    #: Driver-specific facts (``vin``, ``lifetime_kwh``, ``soc_pct``, ...), JSON-friendly.
    details: Mapping[str, object]


class Loadpoint:
    """State and user intents of one loadpoint (see the module docstring).

    ``params`` are the configured parameters already narrowed by the driver's limits (its maximum and
    current step); ``safe_current_a`` is what the charger is left at on shutdown or a core failure.
    """

    def __init__(
        self, params: LoadpointParams, charger: str, safe_current_a: float, events: EventSink
    ) -> None:
        self.name = params.name
        self.charger = charger
        self.params = params
        self.phases = params.phases
        self.safe_current_a = safe_current_a
        self._events = events
        #: The mode the user chose (the mode in force may differ while a rule claims the loadpoint).
        self.user_mode: Mode = params.mode
        #: The configured range: run-time settings may only narrow it.
        self.limit_range: tuple[float, float] = (params.min_a, params.max_a)
        #: The user's range, inside :attr:`limit_range`.
        self.user_range: tuple[float, float] = self.limit_range
        self.charge_now_request: ChargeNow | None = None
        self.energy_limit_wh: float | None = None
        #: Label of the rule that decided the mode in force.
        self.active_rule = "manual"
        self.tracker = SessionTracker(self.name, charger)
        # ---- a charger that ignores 0 A (see House.watch_stops)
        #: Clock time from which the charger has acknowledged 0 A (None while it is offered current).
        self.zero_since_s: float | None = None
        #: Why the loadpoint is in fault (the charger kept drawing current after 0 A), or None.
        self.stop_fault: str | None = None
        #: The charger's stop method is due (the actuator runs it and clears this).
        self.escalation_due = False
        #: Escalations so far (for /metrics).
        self.escalations = 0
        #: The charger's lifetime meter, accepted only in plausible steps (a reset is a new base).
        self.lifetime = EnergyCounter(
            ChargerBounds(
                params.charger_max_a if params.charger_max_a is not None else params.max_a, params.phases
            ).power_w
        )
        # ---- actuation: what the core wants and what the charger was told
        #: The current the core decided (A).
        self.desired_a = 0.0
        #: The current last sent successfully; None: unknown (never sent, or the driver restarted): send again.
        self.sent_a: float | None = None
        #: The highest current the charger may be delivering: the last one it acknowledged, or one whose
        #: command failed (it may have arrived all the same); kept across driver restarts.
        self.delivered_a: float | None = None
        #: A command on its way to the charger (sent, not yet acknowledged or failed).
        self.in_flight_a: float | None = None
        #: Why the last command failed, or None.
        self.command_error: str | None = None
        #: The raise being held for other loadpoints' cuts, and since when (clock s).
        self.raise_held: tuple[float, float] | None = None
        #: The charger error last turned into an event (for fault/recovered transitions).
        self.fault: str | None = None
        self._logged: tuple[float, str] | None = None
        # ---- 1p/3p switching (loadpoints with ``phases: auto`` on a charger that can switch)
        #: The charger can switch phases and the loadpoint was configured to.
        self.switchable = params.phase_switching is not None
        #: The user's phase choice: 1, 3, or None (auto).
        self.phase_choice: int | None = None
        #: The phase count the core wants the charger to use (None: not switchable).
        self.desired_phases: int | None = None
        #: The phase count last acknowledged by the charger (None: never told, or unknown).
        self.sent_phases: int | None = None
        #: A phase switch on its way to the charger.
        self.phases_in_flight: int | None = None

    # ------------------------------------------------------------------ user intents
    def set_mode(self, mode: Mode | str) -> bool:
        """The user's mode; ValueError for an unknown one. True when it changed."""
        new = Mode(mode)
        old = self.user_mode
        self.user_mode = new
        if new is old:
            return False
        log.info("%s: mode %s -> %s", self.name, old.value, new.value)
        self._events.event("mode", self.name, f"mode {old.value} -> {new.value}")
        return True

    def set_current_range(self, min_a: float | None = None, max_a: float | None = None) -> bool:
        """Set the user's minimum and/or maximum (A) inside the configured range; ValueError naming the bound.

        Lowering the maximum below the minimum takes the minimum along (and raising the minimum above the
        maximum the maximum), as far as the configured range allows. True when the range changed.
        """
        lo_cfg, hi_cfg = self.limit_range
        lo_old, hi_old = self.user_range
        lo = lo_old if min_a is None else float(min_a)
        hi = hi_old if max_a is None else float(max_a)
        if max_a is not None and min_a is None and lo > hi:
            lo = max(lo_cfg, hi)
        if min_a is not None and max_a is None and lo > hi:
            hi = min(hi_cfg, lo)
        check_current_range(lo, hi, lo_cfg, hi_cfg)
        if (lo, hi) == (lo_old, hi_old):
            return False
        self.user_range = (lo, hi)
        self._events.event("current-range", self.name, f"current range {lo:g}-{hi:g} A")
        return True

    def charge_now(
        self, now: datetime, amps: float | None = None, until: datetime | None = None
    ) -> ChargeNow:
        """Charge at full power (or ``amps`` within the configured range) until ``until`` or cancelled.

        ``until`` must be timezone-aware and after ``now``. ValueError otherwise.
        """
        lo_cfg, hi_cfg = self.limit_range
        if amps is not None:
            amps = float(amps)
            if not math.isfinite(amps) or not lo_cfg - 1e-9 <= amps <= hi_cfg + 1e-9:
                raise ValueError(f"amps must be between {lo_cfg:g} and {hi_cfg:g} A, got {amps!r}")
        if until is not None:
            if until.tzinfo is None:
                raise ValueError("until must carry a timezone")
            if until <= now:
                raise ValueError(f"until {until.isoformat()} is not in the future")
        request = ChargeNow(started=now, amps=amps, until=until)
        self.charge_now_request = request
        what = f"{amps:g} A" if amps is not None else "full power"
        suffix = f" until {until.isoformat()}" if until is not None else ""
        self._events.event("charge-now", self.name, f"charge now at {what}{suffix}")
        return request

    def cancel_charge_now(self) -> bool:
        """End a charge-now request; False when there was none."""
        had = self.charge_now_request is not None
        self.charge_now_request = None
        if had:
            self._events.event("charge-now", self.name, "charge now cancelled")
        return had

    def set_energy_limit(self, kwh: float | None) -> bool:
        """Stop the session's charge once it has taken ``kwh`` (None or 0: no limit); ValueError when absurd."""
        if kwh is not None and (not math.isfinite(kwh) or kwh < 0 or kwh > MAX_ENERGY_LIMIT_KWH):
            raise ValueError(f"energy limit must be between 0 and {MAX_ENERGY_LIMIT_KWH:g} kWh, got {kwh!r}")
        wh = None if not kwh else float(kwh) * 1000.0
        if wh == self.energy_limit_wh:
            return False
        self.energy_limit_wh = wh
        message = "energy limit removed" if wh is None else f"energy limit {kwh:g} kWh"
        self._events.event("energy-limit", self.name, message)
        return True

    # ------------------------------------------------------------------ rules
    def rule_context(self, now: datetime, soc_pct: float | None) -> RuleContext:
        """What the rules see of this loadpoint at ``now`` (an expired charge-now is dropped first)."""
        request = self.charge_now_request
        if request is not None and not request.active(now):
            self.charge_now_request = request = None
            self._events.event("charge-now", self.name, "charge now ended")
        return RuleContext(
            loadpoint=self.name,
            now=now,
            user_mode=self.user_mode,
            charge_now=request,
            session=self.tracker.session,
            energy_limit_wh=self.energy_limit_wh,
            soc_pct=soc_pct,
        )

    def range_for(self, outcome: RuleOutcome) -> tuple[float, float]:
        """The current range in force under ``outcome``: the user's, or a rule's lower maximum.

        A rule's ``max_a`` (a charge-now's or a schedule's amps) replaces the user's maximum but stays inside
        the configured range; the minimum follows it down.
        """
        lo_cfg, hi_cfg = self.limit_range
        lo, hi = self.user_range
        if outcome.max_a is not None and math.isfinite(outcome.max_a):
            hi = min(max(outcome.max_a, lo_cfg), hi_cfg)
            lo = min(lo, hi)
        return lo, hi

    def note_rule(self, outcome: RuleOutcome) -> None:
        """Remember which rule decided; a change is logged and becomes an event."""
        if outcome.rule == self.active_rule:
            return
        log.info("%s: rule %s -> %s (%s)", self.name, self.active_rule, outcome.rule, outcome.mode.value)
        self._events.event(
            "rule", self.name, f"rule {self.active_rule} -> {outcome.rule} ({outcome.mode.value})"
        )
        self.active_rule = outcome.rule

    # ------------------------------------------------------------------ sessions
    def track_session(
        self,
        *,
        t_s: float,
        now: datetime,
        connected: bool,
        power_w: float,
        grid_w: float | None,
        battery_w: float | None,
        details: Mapping[str, object],
    ) -> list[tuple[SessionEvent, Session]]:
        """Account one online charger report in the session (start, update, end)."""
        vin = details.get("vin")
        car = details.get("vehicle")  # a configured vehicle's name, when the garage knows the car
        lifetime = details.get("lifetime_kwh")
        soc = details.get("soc_pct")
        meter_wh = (
            self.lifetime.accept(float(lifetime) * 1000.0, t_s)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else None
        )
        events = self.tracker.update(
            t_s=t_s,
            now=now,
            connected=connected,
            power_w=power_w,
            grid_w=grid_w,
            battery_w=battery_w,
            vehicle=vin if isinstance(vin, str) and vin else car if isinstance(car, str) and car else None,
            meter_wh=meter_wh,
            soc_pct=float(soc) if isinstance(soc, int | float) and not isinstance(soc, bool) else None,
        )
        for kind, session in events:
            if kind != "update":
                log.info(
                    "%s: session %s %s (%.2f kWh, %.2f kWh solar)",
                    self.name,
                    session.id[:8],
                    "started" if kind == "start" else "ended",
                    session.energy_wh / 1000,
                    session.solar_wh / 1000,
                )
        return events

    def set_phase_choice(self, choice: int | str | None) -> bool:
        """The user's phase choice: 1, 3, or ``auto``/None. ValueError when not switchable or bad. True on change."""
        if not self.switchable:
            raise ValueError(f"loadpoint {self.name!r} cannot switch phases (its phases are fixed)")
        value: int | None
        if choice is None or (isinstance(choice, str) and choice.strip().lower() == "auto"):
            value = None
        elif (
            isinstance(choice, int | str)
            and not isinstance(choice, bool)
            and str(choice).strip() in ("1", "3")
        ):
            value = int(str(choice).strip())
        else:
            raise ValueError(f"phases must be 1, 3 or auto, got {str(choice)[:20]!r}")
        if value == self.phase_choice:
            return False
        self.phase_choice = value
        self._events.event("phases", self.name, f"phases {'auto' if value is None else value}")
        return True

    def phases_pending(self) -> bool:
        """The core wants a phase count the charger has not acknowledged."""
        return self.desired_phases is not None and self.desired_phases != self.sent_phases

    def phases_sending(self, phases: int) -> None:
        """A phase switch to ``phases`` is on its way (until delivered or failed)."""
        self.phases_in_flight = phases

    def phases_delivered(self, phases: int) -> None:
        """The charger acknowledged switching to ``phases``."""
        self.sent_phases = phases
        self.phases_in_flight = None
        self.command_error = None

    def phases_failed(self, phases: int, reason: str) -> None:
        """Switching to ``phases`` failed: the contactor's state is unknown until a switch succeeds."""
        self.phases_in_flight = None
        self.sent_phases = None
        self.command_error = f"switching to {phases} phase(s) failed: {reason}"

    # ------------------------------------------------------------------ actuation
    def command_sending(self, amps: float) -> None:
        """A command for ``amps`` is on its way (until :meth:`command_delivered` or :meth:`command_failed`)."""
        self.in_flight_a = amps

    def command_delivered(self, amps: float) -> None:
        """The charger acknowledged ``amps``."""
        self.sent_a = amps
        self.delivered_a = amps
        self.in_flight_a = None
        self.command_error = None

    def command_failed(self, amps: float, reason: str) -> None:
        """Setting ``amps`` failed (the actuator retries with backoff).

        A failed command may have reached the charger all the same (a timeout after the frame went out),
        so until a later command is acknowledged the charger counts as possibly delivering the higher of
        the two.
        """
        self.in_flight_a = None
        self.delivered_a = max(self.delivered_a or 0.0, amps)
        self.command_error = f"setting {amps:g} A failed: {reason}"

    def should_log(self, decision: LoadpointDecision) -> bool:
        """True when the decision's current or status differs from the last one logged."""
        key = (decision.current_a, decision.status)
        if self._logged == key:
            return False
        self._logged = key
        return True

    # ------------------------------------------------------------------ state
    def snapshot(
        self,
        decision: LoadpointDecision | None,
        mode_in_force: Mode,
        facts: ChargerFacts,
        power_w: float,
    ) -> LoadpointSnapshot:
        """This loadpoint's part of a snapshot."""
        reading = facts.reading
        online = (
            facts.error is None
            and self.command_error is None
            and facts.running
            and reading is not None
            and reading.online
        )
        status = decision.status if decision is not None else "starting"
        reason = decision.reason if decision is not None else "no decision yet"
        if self.stop_fault is not None:
            status, reason = "fault", self.stop_fault
        return LoadpointSnapshot(
            name=self.name,
            charger=self.charger,
            mode=decision.mode if decision is not None else mode_in_force,
            status=status,
            reason=reason,
            commanded_a=decision.current_a if decision is not None else 0.0,
            sent_a=self.sent_a,
            offered_a=reading.offered_a if reading is not None else None,
            actual_a=reading.actual_a if reading is not None else 0.0,
            power_w=power_w,
            connected=reading.connected if reading is not None else False,
            charging=reading.charging if reading is not None else False,
            charger_online=online,
            charger_error=facts.error or self.command_error,
            user_mode=self.user_mode,
            active_rule=self.active_rule,
            min_a=self.user_range[0],
            max_a=self.user_range[1],
            limit_min_a=self.limit_range[0],
            limit_max_a=self.limit_range[1],
            phases=self.phases,
            phases_choice=(
                None
                if not self.switchable
                else "auto"
                if self.phase_choice is None
                else str(self.phase_choice)
            ),
            energy_limit_wh=self.energy_limit_wh,
            charge_now=self.charge_now_request,
            session=self.tracker.session,
            details=dict(facts.details),
            escalations=self.escalations,
        )
