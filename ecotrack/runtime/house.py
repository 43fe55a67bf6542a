"""The whole decision path of a site, synchronous and free of I/O: from readings and user intents to the
current each charger may be sent now.

The engine owns tasks and talks to devices; everything it decides goes through a :class:`House`:

* meter readings combine into site readings (:func:`ecotrack.core.site.combine`) and reach the control
  core; charger reports reach the core and the loadpoint's session;
* on every step the rules pick each loadpoint's mode and range (:mod:`ecotrack.runtime.rules`), the core
  decides the currents, and each :class:`~ecotrack.runtime.loadpoint.Loadpoint` remembers what it wants;
* :meth:`House.next_command` tells the engine's actuator what it may send now: a cut at once, a raise
  only after the loadpoints sharing a limit carried out their cuts (:mod:`ecotrack.core.cuts`).

Because it is synchronous and takes time as a parameter, the safety property test drives this object
itself — rules, user ranges, charge-now, energy limits, cut ordering, stale meters and chargers — and
checks that no command ever exceeds a limit in force.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ecotrack.core.bounds import (
    MAX_SITE_POWER_W,
    ChargerBounds,
    LogLimiter,
    charger_reading_problem,
    meter_reading_problem,
)
from ecotrack.core.control import Controller
from ecotrack.core.cuts import pending_cuts, sharing
from ecotrack.core.model import (
    ChargerReading,
    Decision,
    LoadpointParams,
    MeterReading,
    Mode,
    SiteParams,
    SiteReading,
)
from ecotrack.core.power import ev_power_w
from ecotrack.core.safety import Limits, build_limits
from ecotrack.core.site import combine
from ecotrack.runtime.loadpoint import ChargerFacts, Loadpoint
from ecotrack.runtime.rules import ChargeNow, Rule, default_rules, evaluate
from ecotrack.runtime.sessions import Session
from ecotrack.runtime.setup import SiteSetup
from ecotrack.runtime.snapshot import Event, LoadpointSnapshot, Snapshot
from ecotrack.runtime.surface import EventListener, SessionListener

__all__ = ["DriverLimits", "House"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DriverLimits:
    """What a charger driver says about its hardware."""

    #: Largest current the hardware accepts (A).
    max_a: float
    #: Resolution of the current it accepts (1.0 or 0.1 A).
    step_a: float = 1.0
    #: What it is left at on shutdown or when the core fails.
    safe_current_a: float = 0.0
    #: False for a charger that only reports (Gen3 Wall Connector): its loadpoint only observes.
    can_control: bool = True
    #: The charger can switch 1p/3p (``Charger.can_switch_phases``).
    can_switch_phases: bool = False


def _with_driver_limits(lp: LoadpointParams, driver: DriverLimits) -> LoadpointParams:
    """``lp`` limited by its driver: the lower maximum, the coarser step, observe-only when read-only."""
    charger_max = driver.max_a if lp.charger_max_a is None else min(lp.charger_max_a, driver.max_a)
    if lp.phase_switching is not None and not (driver.can_switch_phases and driver.can_control):
        raise ValueError(
            f"loadpoint {lp.name!r}: phases auto needs a charger that can switch phases "
            "(a simulated charger with switch_phases: true, or a phase_switch relay on the loadpoint)"
        )
    return dataclasses.replace(
        lp,
        charger_max_a=charger_max,
        step_a=max(lp.step_a, driver.step_a),
        observe_only=lp.observe_only or not driver.can_control,
    )


class House:
    """See the module docstring. ``wall`` gives the wall time the rules and events see."""

    def __init__(
        self,
        setup: SiteSetup,
        drivers: Mapping[str, DriverLimits],
        *,
        wall: Callable[[], datetime],
        rules: Sequence[Rule] | None = None,
        cut_confirm_timeout_s: float = 60.0,
    ) -> None:
        self.setup = setup
        self._wall = wall
        self.cut_confirm_timeout_s = cut_confirm_timeout_s
        self.by_charger: dict[str, str] = {}
        for lp_name, charger in setup.loadpoint_chargers.items():
            if charger not in drivers:
                raise ValueError(f"loadpoint {lp_name!r}: unknown charger {charger!r}")
            if charger in self.by_charger:
                raise ValueError(
                    f"loadpoints {self.by_charger[charger]!r} and {lp_name!r} both use charger {charger!r}"
                )
            self.by_charger[charger] = lp_name
        configured = {lp.name: lp for lp in setup.params.loadpoints}
        missing = set(setup.loadpoint_chargers) ^ set(configured)
        if missing:
            raise ValueError(f"loadpoints without parameters or charger: {', '.join(sorted(missing))}")
        #: The core's parameters, each loadpoint narrowed by its driver's limits.
        self.params: SiteParams = dataclasses.replace(
            setup.params,
            loadpoints=tuple(
                _with_driver_limits(lp, drivers[setup.loadpoint_chargers[lp.name]])
                for lp in setup.params.loadpoints
            ),
        )
        self.controller = Controller(self.params)
        self.limits: Limits = build_limits(self.params)
        self._sharing = sharing(self.limits)
        self.loadpoints: dict[str, Loadpoint] = {
            lp.name: Loadpoint(
                lp,
                setup.loadpoint_chargers[lp.name],
                drivers[setup.loadpoint_chargers[lp.name]].safe_current_a,
                self,
            )
            for lp in self.params.loadpoints
        }
        #: The rule list, evaluated in order on every step.
        self.rules: list[Rule] = list(rules) if rules is not None else default_rules()
        #: Each meter's latest reading.
        self.meter_readings: dict[str, MeterReading] = {}
        #: Each loadpoint's latest charger report.
        self.charger_readings: dict[str, ChargerReading] = {}
        #: Per loadpoint, the offer its charger last reported while online, and when (see
        #: :meth:`_offer_for_cuts`).
        self._last_offer: dict[str, tuple[float, float]] = {}
        self.site: SiteReading | None = None
        self.decision: Decision | None = None
        #: Clock time of the last decision, and whether a user intent came after it: a raise carries out
        #: only a decision at most one tick old and taken after the last intent (cuts always go).
        self._decided_at_s: float | None = None
        self._intent_since_step = False
        self._fresh_s = max(setup.tick_s, 0.0)
        self._event_listeners: list[EventListener] = []
        self._session_listeners: list[SessionListener] = []
        self._was_failsafe = False
        #: Plausible range of each loadpoint's charger reports (see :mod:`ecotrack.core.bounds`).
        self.charger_bounds: dict[str, ChargerBounds] = {
            lp.name: ChargerBounds(lp.charger_max_a if lp.charger_max_a is not None else lp.max_a, lp.phases)
            for lp in self.params.loadpoints
        }
        #: Largest plausible power through a site meter.
        self.max_site_power_w = MAX_SITE_POWER_W
        #: Each loadpoint's last charger report that passed the bounds (the driver's own may not have).
        self.accepted_reports: dict[str, ChargerReading] = {}
        #: Readings and reports rejected as implausible, by device (for tests and the log).
        self.rejected: dict[str, int] = {}
        self._implausible_log = LogLimiter(60.0)
        #: A charger still drawing current this long after acknowledging 0 A is escalated (clock s).
        self.stop_escalation_s = setup.stop_escalation_s

    # ------------------------------------------------------------------ listeners and events
    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every event."""
        self._event_listeners.append(listener)

    def add_session_listener(self, listener: SessionListener) -> None:
        """Call ``listener(kind, session)`` on session start, update and end."""
        self._session_listeners.append(listener)

    def event(self, kind: str, loadpoint: str | None, message: str) -> None:
        """Hand an event to every listener (a listener's bug is logged, never raised)."""
        event = Event(self._wall(), kind, loadpoint, message)
        for listener in self._event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    def wall(self) -> datetime:
        """The wall time rules and events see."""
        return self._wall()

    # ------------------------------------------------------------------ readings in
    def loadpoint(self, name: str) -> Loadpoint:
        """Loadpoint ``name`` (KeyError when unknown)."""
        return self.loadpoints[name]

    def _implausible(self, kind: str, device: str, problem: str, t_s: float) -> None:
        """Count a rejected value and log it, one line per device per minute."""
        self.rejected[device] = self.rejected.get(device, 0) + 1
        held = self._implausible_log.allow(f"{kind}:{device}", t_s if math.isfinite(t_s) else 0.0)
        if held is not None:
            more = f" ({held} more since the last line)" if held else ""
            log.warning("%s %s: implausible reading ignored: %s%s", kind, device, problem, more)

    def record_meter_reading(self, meter: str, reading: MeterReading) -> bool:
        """Remember a meter's latest reading without deciding anything (before the engine runs, on shutdown).

        An implausible reading (:func:`~ecotrack.core.bounds.meter_reading_problem`) is logged and ignored
        like a malformed one; False then.
        """
        problem = meter_reading_problem(reading, self.max_site_power_w)
        if problem is not None:
            self._implausible("meter", meter, problem, reading.t_s)
            return False
        self.meter_readings[meter] = reading
        return True

    def on_meter_reading(self, meter: str, reading: MeterReading) -> bool:
        """Take a meter's reading; True when it was the grid meter's and the core took a new site reading."""
        if not self.record_meter_reading(meter, reading):
            return False
        if meter != self.setup.meters.grid_meter:
            return False
        site = combine(reading, self.meter_readings, self.setup.meters, self.params.max_meter_age_s)
        self.site = site
        try:
            return self.controller.on_site_reading(site)
        except Exception:  # a core bug must not look like a meter failure
            log.exception("control core rejected %s", site)
            return False

    def on_charger_reading(
        self, charger: str, reading: ChargerReading, details: Mapping[str, object]
    ) -> None:
        """Take a charger's report: into the core, and (when online) into the loadpoint's session."""
        name = self.by_charger.get(charger)
        if name is None:
            return
        problem = charger_reading_problem(reading, self.charger_bounds[name])
        if problem is not None:
            self._implausible("charger", charger, problem, reading.t_s)
            if reading.online or not math.isfinite(reading.t_s):
                return
            # "offline" still counts; the measurements that came with it do not
            reading = ChargerReading(t_s=reading.t_s, connected=reading.connected, charging=False, online=False)
        lp = self.loadpoints[name]
        if lp.switchable and reading.phases not in (1, 3):
            # A relay without feedback: the count last switched (and acknowledged) is the one in use.
            reading = dataclasses.replace(reading, phases=lp.sent_phases)
        self.accepted_reports[name] = reading
        self.charger_readings[name] = reading
        if reading.online and reading.offered_a is not None and math.isfinite(reading.offered_a):
            self._last_offer[name] = (reading.offered_a, reading.t_s)
        self.controller.on_charger_reading(name, reading)
        if not reading.online:  # an offline charger tells nothing about the car: keep the session open
            return
        try:
            self._track_session(self.loadpoints[name], reading, details)
        except Exception:  # bookkeeping must never look like a charger failure
            log.exception("%s: session accounting failed", name)

    def charger_lost(self, charger: str, now_s: float) -> None:
        """A charger's driver is down: the core must stop counting on its measurements."""
        name = self.by_charger.get(charger)
        if name is None:
            return
        last = self.charger_readings.get(name)
        lost = ChargerReading(
            t_s=now_s, connected=last.connected if last is not None else False, charging=False, online=False
        )
        self.charger_readings[name] = lost
        self.controller.on_charger_reading(name, lost)

    def power_w(self, loadpoint: str) -> float:
        """The loadpoint's car power from its charger's last report (the one rule: :func:`ev_power_w`)."""
        site_v = self.site.voltage_v if self.site is not None else None
        phases = self.controller.phases_of(loadpoint)
        return ev_power_w(self.charger_readings.get(loadpoint), phases, self.params.voltage_v, site_v)

    def _track_session(self, lp: Loadpoint, reading: ChargerReading, details: Mapping[str, object]) -> None:
        site = self.site
        site_v = site.voltage_v if site is not None else None
        events = lp.track_session(
            t_s=reading.t_s,
            now=self._wall(),
            connected=reading.connected,
            power_w=ev_power_w(reading, self.controller.phases_of(lp.name), self.params.voltage_v, site_v),
            grid_w=site.grid_w if site is not None else None,
            battery_w=site.battery_w if site is not None else None,
            details=details,
        )
        for kind, session in events:
            for listener in self._session_listeners:
                try:
                    listener(kind, session)
                except Exception:
                    log.exception("session listener failed")

    # ------------------------------------------------------------------ deciding
    def apply_rules(self, soc_pct: Mapping[str, float | None] | None = None) -> None:
        """Evaluate the rule list for every loadpoint and hand the mode and range in force to the core."""
        now = self._wall()
        for lp in self.loadpoints.values():
            outcome = evaluate(self.rules, lp.rule_context(now, (soc_pct or {}).get(lp.name)))
            lo, hi = lp.range_for(outcome)
            self.controller.set_current_range(lp.name, lo, hi)
            if lp.switchable:
                self.controller.set_phase_choice(lp.name, lp.phase_choice)
            if self.controller.mode_of(lp.name) is not outcome.mode:
                self.controller.set_mode(lp.name, outcome.mode)
            lp.note_rule(outcome)

    def step(self, now_s: float, soc_pct: Mapping[str, float | None] | None = None) -> Decision | None:
        """Rules, then one core step; each loadpoint remembers the current it wants.

        The core is meant never to raise; if it does anyway (a bug), every loadpoint wants its charger's
        safe current rather than the last command, and None is returned.
        """
        try:
            self.apply_rules(soc_pct)
        except Exception:  # a rule bug falls back to the modes already in force
            log.exception("applying the rules failed")
        try:
            decision = self.controller.step(now_s)
        except Exception:
            log.exception("control core failed; sending every charger to its safe current")
            self.fail_safe()
            return None
        self.decision = decision
        self._decided_at_s = now_s
        self.watch_stops(now_s)
        self._intent_since_step = False
        for lpd in decision.loadpoints:
            if (wanting := self.loadpoints.get(lpd.name)) is not None:
                wanting.desired_a = lpd.current_a
                wanting.desired_phases = lpd.phases
        return decision

    def log_decision(self, decision: Decision) -> None:
        """One log line per loadpoint whose current or status changed."""
        grid = self.site.grid_w if self.site is not None else None
        for lpd in decision.loadpoints:
            lp = self.loadpoints.get(lpd.name)
            if lp is None or not lp.should_log(lpd):
                continue
            log.info(
                "%s [%s] grid %s, surplus %s -> %g A (%s: %s)",
                lpd.name,
                lpd.mode.value,
                _fmt_w(grid),
                _fmt_w(decision.surplus_w),
                lpd.current_a,
                lpd.status,
                lpd.reason,
            )

    def watch_stops(self, now_s: float) -> None:
        """Escalate a charger that keeps drawing current after it acknowledged 0 A (issue 12, defect 6).

        When the charger's latest report, taken more than ``stop_escalation_s`` after the 0 A was
        acknowledged, still shows current (>= 1 A), the loadpoint goes into ``fault`` with the reason,
        an event and an error line are written, and the actuator runs the charger's stop method
        (:meth:`~ecotrack.chargers.base.Charger.stop_charging`). The fault clears when the charger
        stops drawing or when current is offered again.
        """
        for name, lp in self.loadpoints.items():
            if lp.sent_a != 0.0 or lp.in_flight_a is not None:
                lp.zero_since_s = None
                if lp.stop_fault is not None and lp.sent_a:
                    self._stop_fault_cleared(lp, "current is offered again")
                continue
            if lp.zero_since_s is None:
                lp.zero_since_s = now_s
            report = self.charger_readings.get(name)
            if report is None or not report.online or report.t_s < lp.zero_since_s + self.stop_escalation_s:
                continue
            if report.actual_a < 1.0:
                if lp.stop_fault is not None:
                    self._stop_fault_cleared(lp, "it stopped drawing current")
                continue
            if lp.stop_fault is None:
                lp.stop_fault = (
                    f"the charger still draws {report.actual_a:.1f} A "
                    f"{report.t_s - lp.zero_since_s:.0f} s after it acknowledged 0 A; its stop method was run"
                )
                lp.escalation_due = True
                lp.escalations += 1
                log.error("%s: %s", name, lp.stop_fault)
                self.event("fault", name, lp.stop_fault)

    def _stop_fault_cleared(self, lp: Loadpoint, why: str) -> None:
        log.warning("%s: fault cleared (%s)", lp.name, why)
        self.event("recovered", lp.name, f"fault cleared: {why}")
        lp.stop_fault = None
        lp.escalation_due = False

    def fail_safe(self) -> None:
        """Every loadpoint wants its charger's safe current (a bug around the core)."""
        for lp in self.loadpoints.values():
            lp.desired_a = lp.safe_current_a

    # ------------------------------------------------------------------ what to send
    def needs_command(self, loadpoint: str) -> bool:
        """The wanted current (or phase count) differs from what was sent (or what was sent is unknown)."""
        lp = self.loadpoints[loadpoint]
        return lp.desired_a != lp.sent_a or lp.phases_pending()

    def next_phase_command(self, loadpoint: str) -> int | None:
        """The phase count the loadpoint's charger may be told now, or None.

        Only while the charger is at 0 A for certain: the core asked for 0 A, the charger acknowledged it,
        nothing is in flight, and its latest report (online) measures no current. The core only asks for a
        new count after it saw 0 A measured; this re-checks on the actuator's side.
        """
        lp = self.loadpoints[loadpoint]
        if not lp.phases_pending() or lp.desired_phases is None:
            return None
        report = self.charger_readings.get(loadpoint)
        at_zero = (
            lp.desired_a == 0.0
            and lp.sent_a == 0.0
            and lp.delivered_a == 0.0
            and lp.in_flight_a is None
            and report is not None
            and report.online
            and report.actual_a <= 0.5
        )
        if not at_zero:
            return None
        lp.phases_sending(lp.desired_phases)
        return lp.desired_phases

    def command_state(self) -> tuple[tuple[float | None, float | None, str | None], ...]:
        """What every loadpoint's charger was sent, has in flight and failed with: when this changes, the
        published snapshot is out of date (a delivered failsafe cut must show at once, not at the next
        quiet publish)."""
        return tuple((lp.sent_a, lp.in_flight_a, lp.command_error) for lp in self.loadpoints.values())

    def next_command(self, loadpoint: str, now_s: float) -> float | None:
        """The current the loadpoint's charger may be sent now, or None (nothing to send, or a raise held).

        A cut goes at once. A raise carries out only a decision taken after the last user intent and at
        most one tick ago (the engine steps on every intent and every tick). It waits until every
        loadpoint sharing a circuit or the wiring limit has
        been delivered its cut; it also waits until they no longer report offering more, for at most
        ``cut_confirm_timeout_s`` (a charger that ignores its cut is logged rather than starving the
        others; an undelivered cut is never waived).
        """
        lp = self.loadpoints[loadpoint]
        want = lp.desired_a
        if want == lp.sent_a:
            lp.raise_held = None
            return None
        if want > 0.0 and (lp.phases_in_flight is not None or lp.phases_pending()):
            return None  # never current while the contactor may be moving or is still to move
        if want <= (lp.sent_a or 0.0):
            lp.raise_held = None
            lp.command_sending(want)
            return want
        if (
            self._intent_since_step
            or self._decided_at_s is None
            or not now_s - self._decided_at_s <= self._fresh_s
        ):
            return None  # a raise carries out only a fresh decision: wait for the next step
        desired = {name: other.desired_a for name, other in self.loadpoints.items()}
        delivered = {
            name: _highest(other.delivered_a, other.in_flight_a) for name, other in self.loadpoints.items()
        }
        offered = {name: self._offer_for_cuts(name, now_s) for name in self.loadpoints}
        pending = pending_cuts(loadpoint, self._sharing, desired, delivered, offered)
        if not pending:
            lp.raise_held = None
            lp.command_sending(want)
            return want
        if lp.raise_held is None or lp.raise_held[0] != want:
            lp.raise_held = (want, now_s)
        if any(p.unsent for p in pending):
            return None
        if now_s - lp.raise_held[1] < self.cut_confirm_timeout_s:
            return None
        log.warning(
            "%s: raising to %g A although %s did not confirm a cut within %g s",
            loadpoint,
            want,
            ", ".join(p.loadpoint for p in pending),
            self.cut_confirm_timeout_s,
        )
        lp.raise_held = None
        lp.command_sending(want)
        return want

    def _offer_for_cuts(self, loadpoint: str, now_s: float) -> float | None:
        """What a sharing loadpoint's charger may still be offering, for the cut-before-raise check.

        Online: what it reports. Offline (its link or driver is down, a Gen3 whose car is told to stop but
        whose vitals are gone): the offer it last reported online, for up to ``cut_confirm_timeout_s`` after
        that report. Going silent is not confirming a cut; a charger offline for longer has fallen back on
        its own (a TWC after 10 s without heartbeats, an OCPP profile's validity, a car told to stop).
        """
        reading = self.charger_readings.get(loadpoint)
        if reading is not None and reading.online:
            return reading.offered_a
        last = self._last_offer.get(loadpoint)
        if last is None or not now_s - last[1] <= self.cut_confirm_timeout_s:
            return None
        return last[0]

    def resend(self, loadpoint: str) -> None:
        """The charger's driver restarted and may have lost its state: send the wanted current again."""
        self.loadpoints[loadpoint].sent_a = None

    def left_safe(self, loadpoint: str, amps: float) -> None:
        """The charger was left at ``amps`` on shutdown."""
        lp = self.loadpoints[loadpoint]
        lp.command_delivered(amps)
        lp.desired_a = amps

    # ------------------------------------------------------------------ user intents
    def set_mode(self, loadpoint: str, mode: Mode | str) -> None:
        """The user's mode (KeyError: unknown loadpoint, ValueError: unknown mode)."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        lp.set_mode(mode)

    def set_current_range(
        self, loadpoint: str, min_a: float | None = None, max_a: float | None = None
    ) -> None:
        """The user's range, inside the configured one (ValueError naming the bound)."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        lp.set_current_range(min_a, max_a)

    def charge_now(
        self, loadpoint: str, amps: float | None = None, until: datetime | None = None
    ) -> ChargeNow:
        """Charge at full power (or ``amps``) until ``until`` or cancelled."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        return lp.charge_now(self._wall(), amps, until)

    def cancel_charge_now(self, loadpoint: str) -> bool:
        """End a charge-now request; False when there was none."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        return lp.cancel_charge_now()

    def set_phases(self, loadpoint: str, choice: int | str | None) -> None:
        """The user's phase choice: 1, 3 or auto/None (ValueError: not switchable or not one of these)."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        lp.set_phase_choice(choice)

    def set_energy_limit(self, loadpoint: str, kwh: float | None) -> None:
        """Per-session energy limit (None or 0: none)."""
        lp = self.loadpoints[loadpoint]
        self._intent_since_step = True
        lp.set_energy_limit(kwh)

    def restore_session(self, session: Session) -> None:
        """An open session recorded before a restart (ValueError: ended; KeyError: unknown loadpoint).

        Energy that no charger can have delivered (a store written before values were bounded) is not
        carried on: the session resumes from zero rather than from, say, 1.5e303 Wh.
        """
        lp = self.loadpoints[session.loadpoint]
        if not plausible_session_energy(session):
            log.warning(
                "%s: session %s recorded an implausible energy (%r Wh); resuming it from 0",
                session.loadpoint,
                session.id[:8],
                session.energy_wh,
            )
            session = dataclasses.replace(session, energy_wh=0.0, solar_wh=0.0, grid_wh=0.0, max_power_w=0.0)
        lp.tracker.restore(session)

    # ------------------------------------------------------------------ state out
    def loadpoint_snapshots(self, facts: Mapping[str, ChargerFacts]) -> tuple[LoadpointSnapshot, ...]:
        """Every loadpoint's state, given what the engine knows of each charger driver (by loadpoint)."""
        decision = self.decision
        by_name = {lp.name: lp for lp in decision.loadpoints} if decision is not None else {}
        out = []
        for name, lp in self.loadpoints.items():
            snap = lp.snapshot(
                by_name.get(name), self.controller.mode_of(name), facts[name], self.power_w(name)
            )
            phase = self.controller.phase_state(name)
            snap = dataclasses.replace(
                snap,
                phases=self.controller.phases_of(name),
                phase_switching=phase.stage.value if phase is not None else None,
                phase_switches=phase.switches if phase is not None else 0,
            )
            out.append(snap)
        return tuple(out)

    def watch(self, snap: Snapshot) -> None:
        """Turn failsafe and charger-fault transitions of ``snap`` into events."""
        if snap.failsafe != self._was_failsafe:
            self._was_failsafe = snap.failsafe
            self.event(
                "failsafe", None, "failsafe: no recent grid reading" if snap.failsafe else "failsafe cleared"
            )
        for state in snap.loadpoints:
            lp = self.loadpoints.get(state.name)
            if lp is None or state.charger_error == lp.fault:
                continue
            old, lp.fault = lp.fault, state.charger_error
            if state.charger_error is not None:
                self.event("fault", state.name, f"charger {state.charger}: {state.charger_error}")
            elif old is not None:
                self.event("recovered", state.name, f"charger {state.charger} recovered")

    def failsafe(self) -> bool:
        """The last decision was taken without a fresh grid reading."""
        return self.decision.failsafe if self.decision is not None else False

    def data_age_s(self, now_s: float) -> float | None:
        """Age of the last site reading (None before one)."""
        return max(0.0, now_s - self.site.t_s) if self.site is not None else None


#: More energy than any session can hold (Wh): three months at 4.6 kW.
MAX_SESSION_ENERGY_WH = 1e7


def plausible_session_energy(session: Session) -> bool:
    """The session's energy figures are finite, not negative and below :data:`MAX_SESSION_ENERGY_WH`."""
    values = (session.energy_wh, session.solar_wh, session.grid_wh, session.max_power_w)
    return all(math.isfinite(v) and -1.0 <= v <= MAX_SESSION_ENERGY_WH for v in values)


def _highest(*values: float | None) -> float | None:
    """The highest of the known values (None when none is known)."""
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _fmt_w(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.0f} W"
