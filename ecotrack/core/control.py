"""The control law: from meter readings and charger states to charging currents.

One :class:`Controller` per site. The engine (or the simulator) feeds it
readings as they arrive and calls :meth:`Controller.step` on every new grid
reading and on a periodic tick. It is pure: no I/O, no clock, no randomness;
the same inputs at the same times give the same commands.

The law, per loadpoint in ``pv``/``minpv`` mode:

* **Surplus** = ``-grid`` + the power the cars *measured* at the time of that
  grid reading - the residual margin (+ home-battery charging power unless the
  battery has priority; - battery discharge). Using measured power instead of
  the last command is what prevents integrator wind-up. While a charger's report
  is older than the reading (right after a command), the draw is estimated from
  the commands instead (:mod:`ecotrack.core.follow`), until the report shows the
  car followed or the settle time passed.
* The surplus is shared between loadpoints (:mod:`ecotrack.core.allocate`) and
  turned into amps with the configured phases and the measured voltage.
* **Cut at once, raise gently**: a lower target is applied on the reading that
  shows it; a higher one only once the charger has reported following the
  previous command, a raise or a cut (or the settle time passed: ``settle_s``
  + how late the charger's reports run, learned from its cuts).
* **Start/stop hysteresis** (``pv`` only): start after the surplus covered the
  minimum for ``enable_delay_s``; when it drops below the minimum, hold the
  minimum while the grid energy spent doing so stays within
  ``disable_energy_wh`` (surplus above the minimum pays it back) and for at
  most ``disable_delay_s``.
* **Failsafe**: a grid reading older than ``max_meter_age_s`` (or none, or
  NaN) stops ``pv`` and drops ``minpv`` to its minimum within one step.
* Finally :func:`ecotrack.core.safety.clamp` cuts everything to the charger,
  circuit and wiring limits.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ecotrack.core.allocate import Claim, share
from ecotrack.core.follow import REPORT_DELAY_CUTS, estimated_draw_a, learned_report_delay_s
from ecotrack.core.hold import hold_verdict
from ecotrack.core.model import (
    ChargerReading,
    Decision,
    LoadpointDecision,
    LoadpointParams,
    Mode,
    PhaseSwitching,
    SiteParams,
    SiteReading,
)
from ecotrack.core.phases import PhaseInputs, PhaseState, initial_phase_state, phase_step
from ecotrack.core.power import ev_power_w, plausible_voltage
from ecotrack.core.safety import build_limits, clamp, static_ceilings
from ecotrack.core.units import finite_or_none, nonneg, quantize

#: A reading stamped further than this in the future (s) comes from a broken clock.
_FUTURE_TOLERANCE_S = 5.0
#: Timers for a loadpoint without its own (never used: only switchable loadpoints are advanced).
_NO_SWITCHING = PhaseSwitching()


def check_current_range(min_a: float, max_a: float, limit_min_a: float, limit_max_a: float) -> None:
    """Raise ValueError (naming the bound) unless ``min_a..max_a`` lies inside ``limit_min_a..limit_max_a``.

    The one rule for run-time ranges, shared by the core and the engine's user settings.
    """
    for name, value in (("min_a", min_a), ("max_a", max_a)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number of amps, got {value!r}")
    if min_a < limit_min_a - 1e-9:
        raise ValueError(f"min_a {min_a:g} A is below the configured minimum {limit_min_a:g} A")
    if max_a > limit_max_a + 1e-9:
        raise ValueError(f"max_a {max_a:g} A is above the configured maximum {limit_max_a:g} A")
    if min_a > max_a + 1e-9:
        raise ValueError(f"min_a {min_a:g} A is above max_a {max_a:g} A")


@dataclass(slots=True)
class _LoadpointState:
    """Mutable per-loadpoint memory of the controller."""

    params: LoadpointParams
    mode: Mode
    charger: ChargerReading | None = None
    #: Car power (W) as measured when the latest grid reading was taken.
    ev_w_at_reading: float = 0.0
    #: Measured current of the charger report before the latest one (to tell a ramping car).
    previous_actual_a: float = 0.0
    offered_a: float = 0.0
    offered_at_s: float = -math.inf
    #: The command before ``offered_a``; what the car drew when it was last seen following its command,
    #: and since when it has been asked for more (for the draw estimate, :mod:`ecotrack.core.follow`).
    previous_offered_a: float = 0.0
    follow_from_a: float = 0.0
    follow_from_s: float = -math.inf
    #: The car's estimated draw (A) at the latest grid reading (:mod:`ecotrack.core.follow`).
    drawn_at_reading_a: float = 0.0
    #: The last command was a cut: the longest a report after it still showed the draw before it (s;
    #: None before the first report after the cut).
    cut_stale_s: float | None = None
    cut_watched: bool = False
    #: How long recent cuts took to show in the reports (s), and what that says about the report lag.
    cut_delays_s: tuple[float, ...] = ()
    report_delay_s: float = 0.0
    #: ``pv`` hysteresis: True while a charge is on (including holding at minimum).
    enabled: bool = False
    enabled_at_s: float = 0.0
    enable_since_s: float | None = None
    enable_wh: float = 0.0
    deficit_since_s: float | None = None
    deficit_wh: float = 0.0
    #: Solar the car took while holding its minimum through the current dip (grows the stop budget).
    hold_solar_wh: float = 0.0
    available_w: float | None = None
    #: The surplus this loadpoint could take if its charger had no maximum (the pool less the other
    #: loadpoints' shares): what 1p/3p switching decides on (W).
    headroom_w: float | None = None
    #: Times of the recent stops for lack of surplus (for the restart back-off).
    stops_s: list[float] = field(default_factory=list)
    status: str = "init"
    reason: str = ""

    #: The charger's last report is older than the site's max charger age.
    stale: bool = False

    def active(self) -> bool:
        """A car is connected to an online charger whose report is recent."""
        c = self.charger
        return c is not None and c.online and c.connected and not self.stale

    def reset_hysteresis(self) -> None:
        self.enabled = False
        self.enable_since_s = None
        self.enable_wh = 0.0
        self.deficit_since_s = None
        self.deficit_wh = 0.0
        self.hold_solar_wh = 0.0


class Controller:
    """Decides the charging current of every loadpoint of one site."""

    def __init__(self, site: SiteParams) -> None:
        self._site = site
        self._limits = build_limits(site)
        #: What each loadpoint can ever get: its own, its charger's, its circuits' and the wiring's
        #: maximum. Sharing uses it so that power a capped loadpoint cannot take goes to the others.
        self._ceiling_a = static_ceilings(self._limits)
        self._lps: dict[str, _LoadpointState] = {
            lp.name: _LoadpointState(lp, lp.mode) for lp in site.loadpoints
        }
        #: The configured parameters: run-time ranges may only narrow these.
        self._base: dict[str, LoadpointParams] = {lp.name: lp for lp in site.loadpoints}
        self._reading: SiteReading | None = None
        self._new_reading = False
        self._dirty = True
        self._was_fresh: bool | None = None
        self._pool_w: float | None = None
        self._last_eval_reading_s: float | None = None
        self._last: Decision | None = None
        #: 1p/3p switching (:mod:`ecotrack.core.phases`) of the loadpoints whose charger can switch.
        self._phase: dict[str, PhaseState] = {
            lp.name: initial_phase_state(lp.phases)
            for lp in site.loadpoints
            if lp.phase_switching is not None
        }
        #: The user's phase choice per switchable loadpoint: 1, 3 or None (auto).
        self._phase_choice: dict[str, int | None] = dict.fromkeys(self._phase)

    # ----------------------------------------------------------------- inputs
    def set_phase_choice(self, loadpoint: str, choice: int | None) -> None:
        """Fix a switchable loadpoint on 1 or 3 phases, or let it switch (None: auto).

        ValueError for a loadpoint whose charger cannot switch or a count other than 1 or 3.
        """
        if loadpoint not in self._phase:
            raise ValueError(f"loadpoint {loadpoint!r} cannot switch phases")
        if choice not in (None, 1, 3):
            raise ValueError(f"phases must be 1, 3 or auto, got {choice!r}")
        if self._phase_choice[loadpoint] != choice:
            self._phase_choice[loadpoint] = choice
            self._dirty = True

    def phase_choice(self, loadpoint: str) -> int | None:
        """The user's phase choice (1, 3, None for auto); KeyError for a loadpoint that cannot switch."""
        return self._phase_choice[loadpoint]

    def phase_state(self, loadpoint: str) -> PhaseState | None:
        """Where a switchable loadpoint is in its phase switching; None when its charger cannot switch."""
        return self._phase.get(loadpoint)

    def phases_of(self, loadpoint: str) -> int:
        """Phases the loadpoint's charger uses now (what its power and share are computed with)."""
        return self._lps[loadpoint].params.phases

    @property
    def site(self) -> SiteParams:
        """The parameters this controller was built with."""
        return self._site

    def set_mode(self, loadpoint: str, mode: Mode) -> None:
        """Change a loadpoint's mode (takes effect on the next step)."""
        state = self._lps[loadpoint]
        mode = Mode(mode)
        if state.mode is not mode:
            state.mode = mode
            state.reset_hysteresis()
            if mode is Mode.PV and state.active() and state.offered_a >= state.params.min_a:
                # Already charging (now/minpv): pv takes the charge over instead of
                # stopping it and paying a start a minute later.
                state.enabled = True
                state.enabled_at_s = state.offered_at_s
            self._dirty = True

    def mode_of(self, loadpoint: str) -> Mode:
        """The loadpoint's current mode."""
        return self._lps[loadpoint].mode

    def current_range(self, loadpoint: str) -> tuple[float, float]:
        """The loadpoint's ``(min_a, max_a)`` as currently in force."""
        p = self._lps[loadpoint].params
        return p.min_a, p.max_a

    def set_current_range(self, loadpoint: str, min_a: float, max_a: float) -> None:
        """Narrow a loadpoint's current range at run time (a user setting, a charge-now amps).

        The range can only be narrowed inside the configured one: a user or a rule can never raise a
        loadpoint above what the configuration (and with it the wiring) allows. The safety clamp and
        the sharing ceilings are rebuilt from the new range, so the lower maximum is a hard limit.
        Raises ValueError (naming the bound) for a range outside the configured one or min > max.
        """
        state = self._lps[loadpoint]
        base = self._base[loadpoint]
        check_current_range(min_a, max_a, base.min_a, base.max_a)
        if base.observe_only:
            return  # nothing is commanded: a narrower range must not shrink the room kept for its draw
        if (state.params.min_a, state.params.max_a) == (min_a, max_a):
            return
        state.params = dataclasses.replace(state.params, min_a=min_a, max_a=max_a)
        live = dataclasses.replace(self._site, loadpoints=tuple(s.params for s in self._lps.values()))
        self._limits = build_limits(live)
        self._ceiling_a = static_ceilings(self._limits)
        self._dirty = True

    def on_site_reading(self, reading: SiteReading) -> bool:
        """Take a new site reading; returns False when it was unusable and ignored.

        A reading without a usable grid value, or older than the one already
        held, is ignored: the held reading then ages until the failsafe fires.
        """
        if finite_or_none(reading.grid_w) is None or not math.isfinite(reading.t_s):
            return False
        if self._reading is not None and reading.t_s < self._reading.t_s:
            return False
        self._reading = reading
        self._new_reading = True
        max_age = self._site.max_charger_age_s
        for state in self._lps.values():
            c = state.charger
            recent = c is not None and reading.t_s - c.t_s <= max_age
            counted = recent and state.active()
            state.ev_w_at_reading = self._estimated_w(state, reading.t_s) if counted else 0.0
            if not counted:
                state.drawn_at_reading_a = 0.0
        return True

    def on_charger_reading(self, loadpoint: str, reading: ChargerReading) -> bool:
        """Take a charger status report; returns False for an unknown loadpoint."""
        state = self._lps.get(loadpoint)
        if state is None:
            return False
        before = state.active()
        if state.charger is not None:
            state.previous_actual_a = nonneg(state.charger.actual_a)
        state.charger = reading
        if state.cut_watched:
            self._watch_cut(state, reading)
        phase = self._phase.get(loadpoint)
        if state.active() != before or (phase is not None and phase.pausing):
            self._dirty = True
        return True

    # ------------------------------------------------------------------ step
    def step(self, now_s: float) -> Decision:
        """Decide the currents at time ``now_s`` (monotonic seconds)."""
        for state in self._lps.values():
            c = state.charger
            stale = c is not None and not now_s - c.t_s <= self._site.max_charger_age_s
            if stale != state.stale:
                state.stale = stale
                self._dirty = True
        reading = self._reading
        if reading is not None and reading.t_s > now_s + _FUTURE_TOLERANCE_S:
            # A meter with a broken clock: its reading is garbage, and holding it
            # would make every correctly stamped reading look out of order.
            self._reading = reading = None
        max_age = self._site.max_meter_age_s
        fresh = reading is not None and now_s - reading.t_s <= max_age
        # Nothing changed: the last decision stands — except while a held reading is stale, whose
        # reason names its age ("grid reading 85 s old") and must not stay frozen at the first step's.
        stale_reading = reading is not None and not fresh
        if (
            self._last is not None
            and not self._new_reading
            and not self._dirty
            and fresh == self._was_fresh
            and not stale_reading
        ):
            return self._last
        dt_s = 0.0
        if fresh and reading is not None and self._new_reading:
            self._pool_w = self._pool_from(reading)
            if self._last_eval_reading_s is not None:
                dt_s = min(max(reading.t_s - self._last_eval_reading_s, 0.0), max_age)
            self._last_eval_reading_s = reading.t_s
        self._new_reading = False
        self._dirty = False
        self._was_fresh = fresh
        desired = self._decide(now_s, fresh, dt_s)
        self._switch_phases(now_s, fresh, desired)
        final = clamp(self._limits, desired)
        decisions = []
        for name, state in self._lps.items():
            amps = final.get(name, 0.0)
            observed = ("off", "disconnected", "offline", "observing")
            if amps < desired.get(name, 0.0) - 1e-9 and state.status not in observed:
                state.status = "limited" if amps > 0 else "limited-off"
                state.reason = (
                    f"cut to {amps:g} A by charger/circuit/wiring limits (wanted {desired[name]:g} A)"
                )
            phase = self._phase.get(name)
            pausing = phase is not None and phase.pausing
            if amps == 0.0 and state.enabled and state.mode is Mode.PV and not pausing:
                state.reset_hysteresis()
            if amps != state.offered_a:
                self._learn_report_delay(state)
                if not self._raise_pending(state, now_s):
                    state.follow_from_a = min(state.offered_a, state.drawn_at_reading_a)
                    state.follow_from_s = now_s
                state.cut_watched = amps < state.offered_a
                state.cut_stale_s = None
                state.previous_offered_a = state.offered_a
                state.offered_a = amps
                state.offered_at_s = now_s
            decisions.append(
                LoadpointDecision(
                    name,
                    state.mode,
                    amps,
                    state.status,
                    state.reason,
                    state.available_w,
                    phase.requested if phase is not None else None,
                )
            )
        self._last = Decision(now_s, tuple(decisions), self._pool_w if fresh else None, not fresh)
        return self._last

    # -------------------------------------------------------------- internals
    def _voltage(self, state: _LoadpointState) -> float:
        return plausible_voltage(
            state.charger.voltage_v if state.charger is not None else None,
            self.site_voltage_v(),
            nominal_v=self._site.voltage_v,
        )

    def site_voltage_v(self) -> float | None:
        """The voltage of the latest site reading (None before one, or when the meter has none)."""
        return self._reading.voltage_v if self._reading is not None else None

    def _measured_w(self, state: _LoadpointState) -> float:
        return ev_power_w(state.charger, state.params.phases, self._site.voltage_v, self.site_voltage_v())

    def _watch_cut(self, state: _LoadpointState, reading: ChargerReading) -> None:
        """Note how long after the last cut this report still shows the draw before it."""
        stale_s = 0.0
        if nonneg(reading.actual_a) > state.offered_a + self._site.tuning.follow_tolerance_a:
            stale_s = max(reading.t_s - state.offered_at_s, 0.0)
        state.cut_stale_s = stale_s if state.cut_stale_s is None else max(state.cut_stale_s, stale_s)

    def _learn_report_delay(self, state: _LoadpointState) -> None:
        """A new command ends the watch on the last cut: learn from it (:func:`learned_report_delay_s`)."""
        if state.cut_watched and state.cut_stale_s is not None:
            state.cut_delays_s = (*state.cut_delays_s, state.cut_stale_s)[-REPORT_DELAY_CUTS:]
            state.report_delay_s = learned_report_delay_s(state.cut_delays_s)

    def _raise_pending(self, state: _LoadpointState, now_s: float) -> bool:
        """The car was asked for more than it drew and its charger has not yet reported following."""
        c = state.charger
        measured = nonneg(c.actual_a) if c is not None else 0.0
        return (
            state.offered_a > state.follow_from_a
            and measured < state.offered_a - self._site.tuning.follow_tolerance_a
            and now_s - state.follow_from_s < self._settle_s(state)
        )

    def _settle_s(self, state: _LoadpointState) -> float:
        """How long a charger gets to show that it followed a command.

        ``settle_s`` (a charging car following a raise) + how late its reports run, + the car's start
        delay when the command started it from a pause.
        """
        tuning = self._site.tuning
        started = state.offered_a > 0.0 and state.follow_from_a <= 0.0
        return tuning.settle_s + state.report_delay_s + (tuning.car_follow.start_s if started else 0.0)

    def _estimated_w(self, state: _LoadpointState, t_s: float) -> float:
        """The car's power at a grid reading taken at ``t_s``: its report, unless that is older than the reading.

        See :mod:`ecotrack.core.follow`: right after a command the report may still show the draw before it.
        """
        measured_w = self._measured_w(state)
        p = state.params
        wpa = p.phases * self._voltage(state)
        reported_a = measured_w / wpa if wpa > 0.0 else 0.0
        tuning = self._site.tuning
        estimate_a = estimated_draw_a(
            reported_a=reported_a,
            previous_a=state.previous_offered_a,
            command_a=state.offered_a,
            from_a=state.follow_from_a,
            since_from_s=t_s - state.follow_from_s,
            since_command_s=t_s - state.offered_at_s,
            min_a=p.min_a,
            window_s=self._settle_s(state),
            tolerance_a=tuning.follow_tolerance_a,
            model=tuning.car_follow,
        )
        state.drawn_at_reading_a = estimate_a
        return measured_w if estimate_a == reported_a else estimate_a * wpa

    def _pool_from(self, reading: SiteReading) -> float:
        grid = finite_or_none(reading.grid_w)
        pool = -(grid if grid is not None else 0.0) - self._site.residual_w
        for state in self._lps.values():
            if state.mode in (Mode.PV, Mode.MINPV) and not state.params.observe_only:
                pool += state.ev_w_at_reading
        battery = finite_or_none(reading.battery_w)
        if battery is not None:
            if battery > 0.0:
                pool -= battery  # never drain the home battery into the car
            else:
                soc = finite_or_none(reading.battery_soc_pct)
                prio = self._site.battery_priority_soc_pct
                battery_first = prio is not None and (soc is None or soc < prio)
                if not battery_first:
                    pool -= battery  # battery charging power is surplus the car may take
        return pool

    def _switch_phases(self, now_s: float, fresh: bool, desired: dict[str, float]) -> None:
        """Advance each switchable loadpoint's phase switching; a loadpoint in the sequence gets 0 A."""
        for name, phase in self._phase.items():
            state = self._lps[name]
            follows = state.mode in (Mode.PV, Mode.MINPV) and fresh
            choice = self._phase_choice[name]
            if choice is None and state.mode is Mode.NOW:
                choice = 3  # charge now: as fast as the charger can
            c = state.charger
            phase = phase_step(
                phase,
                state.params.phase_switching or _NO_SWITCHING,
                PhaseInputs(
                    now_s=now_s,
                    choice=choice if state.active() else None,
                    available_w=state.headroom_w if follows else None,
                    active=state.active(),
                    min_a=state.params.min_a,
                    voltage_v=self._voltage(state),
                    measured_a=nonneg(c.actual_a) if c is not None and c.online else 0.0,
                    reported_phases=c.phases if c is not None else None,
                    settling=self._catching_up(state, now_s),
                ),
            )
            self._phase[name] = phase
            if phase.phases != state.params.phases:
                state.params = dataclasses.replace(state.params, phases=phase.phases)
            if phase.pausing:
                desired[name] = 0.0
                state.status = "switching-phases"
                wait = "0 A" if phase.stage.value == "pausing" else f"{phase.target} phase(s)"
                state.reason = f"switching {phase.phases} -> {phase.target} phase(s): waiting for the charger to confirm {wait}"
            elif phase.note and state.status != "off":
                state.reason = f"{state.reason} ({phase.note})"

    def _decide(self, now_s: float, fresh: bool, dt_s: float) -> dict[str, float]:
        desired: dict[str, float] = {}
        solar: list[_LoadpointState] = []
        for name, state in self._lps.items():
            p = state.params
            state.available_w = state.headroom_w = None
            if p.observe_only:
                state.reset_hysteresis()
                desired[name] = self._observed_draw_a(state)
                state.status = "observing"
                state.reason = f"read-only charger: its car is house load; {desired[name]:g} A kept free on its limits"
            elif (phase := self._phase.get(name)) is not None and phase.pausing:
                desired[name] = 0.0  # the switch sequence holds it at 0 A (see _switch_phases)
            elif state.mode is Mode.OFF:
                state.reset_hysteresis()
                desired[name] = 0.0
                state.status, state.reason = "off", "mode off"
            elif not state.active():
                state.reset_hysteresis()
                desired[name] = 0.0
                c = state.charger
                if c is None or not c.online or state.stale:
                    state.status, state.reason = "offline", "no recent status from the charger"
                else:
                    state.status, state.reason = "disconnected", "no car connected"
            elif state.mode is Mode.NOW:
                desired[name] = p.max_a
                state.status, state.reason = "charging", f"charge now at {p.max_a:g} A"
            elif not fresh:
                state.reset_hysteresis()
                age = (
                    "no grid reading"
                    if self._reading is None
                    else (f"grid reading {now_s - self._reading.t_s:.0f} s old")
                )
                if state.mode is Mode.MINPV:
                    desired[name] = p.min_a
                    state.status, state.reason = "failsafe", f"{age}: holding minimum {p.min_a:g} A"
                else:
                    desired[name] = 0.0
                    state.status, state.reason = "failsafe", f"{age}: solar charging stopped"
            else:
                solar.append(state)
        if solar:
            self._decide_solar(now_s, dt_s, solar, desired)
        return desired

    def _decide_solar(
        self, now_s: float, dt_s: float, solar: list[_LoadpointState], desired: dict[str, float]
    ) -> None:
        pool = self._pool_w if self._pool_w is not None else 0.0
        volts = {s.params.name: self._voltage(s) for s in solar}
        # Let idle pv loadpoints start (which changes the shares), then settle the shares.
        # Idle pv loadpoints advance their start timers on what they could get now;
        # those that are ready start one at a time (highest priority, longest
        # waiting first), each re-checked against the shares left after the last start.
        shares = share(pool, [self._claim(s, volts[s.params.name]) for s in solar])
        ready = [
            s
            for s in solar
            if s.mode is Mode.PV
            and not s.enabled
            and self._start_timer(s, now_s, dt_s, shares[s.params.name], volts[s.params.name])
        ]
        ready.sort(
            key=lambda s: (
                -s.params.priority,
                now_s if s.enable_since_s is None else s.enable_since_s,
                s.params.name,
            )
        )
        for state in ready:
            if shares[state.params.name] >= self._start_need_w(state, volts[state.params.name]):
                self._start(state, now_s)
                shares = share(pool, [self._claim(s, volts[s.params.name]) for s in solar])
        tuning = self._site.tuning
        taken_w = sum(shares.values())
        for state in solar:
            p = state.params
            name = p.name
            avail = shares[name]
            state.headroom_w = pool - (taken_w - avail)
            state.available_w = avail
            wpa = p.phases * volts[name]
            min_w = p.min_a * wpa
            if state.mode is Mode.MINPV:
                target = max(p.min_a, quantize(avail / wpa, p.step_a, tuning.round_up_fraction))
                state.status = "charging"
                state.reason = f"min+pv: {avail:.0f} W available -> {target:g} A"
            elif not state.enabled:
                desired[name] = 0.0
                continue
            elif avail >= min_w - p.disable_threshold_w:
                if avail > min_w:
                    payback = tuning.deficit_payback * (avail - min_w) * dt_s / 3600.0
                    state.deficit_wh = max(0.0, state.deficit_wh - payback)
                if state.deficit_wh <= 0.0:
                    state.hold_solar_wh = 0.0
                state.deficit_since_s = None
                target = max(p.min_a, quantize(avail / wpa, p.step_a, tuning.round_up_fraction))
                state.status = "charging"
                state.reason = f"pv: {avail:.0f} W surplus -> {target:g} A"
            elif self._catching_up(state, now_s):
                # Just after a start or a raise the meter already sees the car drawing more than its
                # (older) report says, so the surplus reads low: not a dip. Hold the minimum without
                # counting it against the stop budget until the charger has followed (at most settle_s).
                target = p.min_a
                state.status = "holding"
                state.reason = f"pv: {avail:.0f} W < {min_w:.0f} W while the charger follows the last command"
            else:
                state.deficit_wh += (min_w - avail) * dt_s / 3600.0
                state.hold_solar_wh += min(max(avail, 0.0), min_w) * dt_s / 3600.0
                if state.deficit_since_s is None:
                    state.deficit_since_s = now_s
                held_s = now_s - state.deficit_since_s
                verdict = hold_verdict(
                    deficit_wh=state.deficit_wh,
                    solar_wh=state.hold_solar_wh,
                    held_s=held_s,
                    budget_wh=p.disable_energy_wh,
                    solar_credit=p.disable_solar_credit,
                    max_hold_s=p.disable_delay_s,
                )
                if not verdict.keep:
                    why = (
                        f"grid energy {state.deficit_wh:.0f} Wh > {verdict.budget_wh:.0f} Wh"
                        if verdict.why == "energy"
                        else f"deficit for {held_s:.0f} s"
                    )
                    state.reset_hysteresis()
                    state.stops_s = [t for t in state.stops_s if now_s - t < p.restart_window_s]
                    state.stops_s.append(now_s)
                    desired[name] = 0.0
                    state.status, state.reason = "waiting", f"pv: stopped, {why}"
                    continue
                target = p.min_a
                state.status = "holding"
                state.reason = (
                    f"pv: {avail:.0f} W < {min_w:.0f} W; holding {p.min_a:g} A "
                    f"({state.deficit_wh:.0f}/{verdict.budget_wh:.0f} Wh, {held_s:.0f}/{p.disable_delay_s:g} s)"
                )
            desired[name] = self._settle(state, now_s, target)

    def _observed_draw_a(self, state: _LoadpointState) -> float:
        """What an observe-only charger may draw: its maximum unless it reports, fresh, that no car is there.

        Nobody can cut it, so a connected car (even a full one: it may start any time) or an unknown state
        (offline, stale, no report yet) counts at the charger's ceiling; without a car, what it measures.
        """
        c = state.charger
        ceiling = self._limits.own_max_a[state.params.name]
        if c is None or not c.online or state.stale or c.connected:
            return ceiling
        return min(nonneg(c.actual_a), ceiling)

    def _claim(self, state: _LoadpointState, volts: float) -> Claim:
        p = state.params
        wpa = p.phases * volts
        holds = state.mode is Mode.MINPV or state.enabled
        ceiling_w = self._ceiling_a[p.name] * wpa
        return Claim(p.name, p.priority, p.min_a * wpa, ceiling_w, holds, state.enabled_at_s)

    @staticmethod
    def _start_need_w(state: _LoadpointState, volts: float) -> float:
        p = state.params
        return p.min_a * p.phases * volts + p.enable_threshold_w

    def _start_timer(
        self, state: _LoadpointState, now_s: float, dt_s: float, avail_w: float, volts: float
    ) -> bool:
        """Advance the start timer of an idle ``pv`` loadpoint; True when it may start now."""
        p = state.params
        state.available_w = avail_w
        if self._ceiling_a[p.name] < p.min_a:
            state.enable_since_s = None
            state.status = "limited-off"
            state.reason = f"limits allow {self._ceiling_a[p.name]:g} A, below the minimum {p.min_a:g} A"
            return False
        if self._stop_unconfirmed(state, now_s):
            # Right after a stop a lagging report still shows the car drawing, which reads as surplus.
            state.enable_since_s = None
            state.enable_wh = 0.0
            state.status, state.reason = "waiting", "pv: waiting for the charger to report the stop"
            return False
        need_w = self._start_need_w(state, volts)
        if avail_w < need_w:
            state.enable_since_s = None
            state.enable_wh = 0.0
            state.status, state.reason = (
                "waiting",
                f"pv: waiting for surplus ({avail_w:.0f} of {need_w:.0f} W)",
            )
            return False
        if state.enable_since_s is None:
            state.enable_since_s = now_s
        waited = now_s - state.enable_since_s
        delay_s = p.enable_delay_s
        if p.restart_penalty_s > 0.0 and state.stops_s:
            state.stops_s = [t for t in state.stops_s if now_s - t < p.restart_window_s]
            delay_s += p.restart_penalty_s * len(state.stops_s)
        state.enable_wh += (avail_w - need_w) * dt_s / 3600.0
        early = p.enable_energy_wh is not None and state.enable_wh >= p.enable_energy_wh
        if waited < delay_s and not early:
            state.status = "starting"
            state.reason = f"pv: surplus {avail_w:.0f} W for {waited:.0f}/{delay_s:g} s"
            return False
        return True

    @staticmethod
    def _start(state: _LoadpointState, now_s: float) -> None:
        state.enabled = True
        state.enabled_at_s = now_s
        state.enable_since_s = None
        state.enable_wh = 0.0
        state.deficit_wh = 0.0
        state.deficit_since_s = None
        state.hold_solar_wh = 0.0

    def _settle(self, state: _LoadpointState, now_s: float, target_a: float) -> float:
        """Cut on import at once; raise only once the charger followed the last command.

        While a car is still ramping up towards its offer and the site exports,
        a lower target is an artefact of timing (the meter already saw more car
        power than the charger's last report), so the offer is held instead of
        cut. A car that is not rising (capped below the offer) is cut at once.
        "Followed" also counts as true after ``settle_s``.
        """
        offered = state.offered_a
        if offered <= 0.0 or target_a == offered:
            return target_a
        tuning = self._site.tuning
        c = state.charger
        measured = nonneg(c.actual_a) if c is not None else 0.0
        # Followed: the report shows the offer, from below (a raise) and from above (a cut: a report still
        # showing the draw before a cut would make the surplus read high and raise right back).
        followed = offered - tuning.follow_tolerance_a <= measured <= offered + tuning.follow_tolerance_a
        settled = followed or now_s - state.offered_at_s >= self._settle_s(state)
        if target_a < offered:
            ramping = measured > state.previous_actual_a + 0.05
            if not settled and ramping and self._exporting() and target_a >= state.params.min_a:
                return offered
            if offered - target_a <= state.params.step_a + 1e-9 and self._import_within_rounding(state):
                # A one-step cut while the meter shows no more import than rounding up allows comes
                # from a charger report lagging the meter (the car already draws the new current):
                # cutting would flip between two steps on every reading.
                return offered
            return target_a
        if not settled:
            return offered
        return min(target_a, offered + tuning.max_step_up_a)

    def _catching_up(self, state: _LoadpointState, now_s: float) -> bool:
        """The charger has not yet reported following a raise (or start) given less than its settle time ago."""
        return state.offered_a > 0.0 and self._raise_pending(state, now_s)

    def _stop_unconfirmed(self, state: _LoadpointState, now_s: float) -> bool:
        """The charger still reports drawing more than its offer, less than ``settle_s`` after the command."""
        tuning = self._site.tuning
        c = state.charger
        measured = nonneg(c.actual_a) if c is not None else 0.0
        return (
            measured > state.offered_a + tuning.follow_tolerance_a
            and now_s - state.offered_at_s < self._settle_s(state)
        )

    def _import_within_rounding(self, state: _LoadpointState) -> bool:
        """The latest grid reading imports no more than rounding a target up is allowed to cost."""
        grid = finite_or_none(self._reading.grid_w) if self._reading is not None else None
        if grid is None:
            return False
        p = state.params
        allowance_w = (1.0 - self._site.tuning.round_up_fraction) * p.step_a * p.phases * self._voltage(state)
        return grid + self._site.residual_w <= allowance_w

    def _exporting(self) -> bool:
        """The latest grid reading shows export (beyond the residual margin)."""
        grid = finite_or_none(self._reading.grid_w) if self._reading is not None else None
        return grid is not None and grid < -self._site.residual_w
