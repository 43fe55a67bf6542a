"""Control strategies the simulator can run: ecotrack's own core and the peers' baselines.

A strategy sees what a real controller would see: each meter reading (grid
power at that instant) and the charger's report (measured current), and answers
with the current to offer. It keeps its own clock (the simulated one) and may
ignore readings between its own control intervals, as the peers do.

Baselines follow ``shared/specs/seed-ecotrack.md``, ``seed-twcmanager.md`` and
``peers-pv-control.md`` as faithfully as those specs allow; every place where a
spec is silent is marked "assumption" below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ecotrack.core.control import Controller
from ecotrack.core.model import ChargerReading, LoadpointParams, Mode, SiteParams, SiteReading, Tuning
from ecotrack.core.profiles import apply_profile
from ecotrack.world.battery import HomeBatteryParams
from ecotrack.world.car import CarParams


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything about the simulated site that is not in the trace."""

    meter_interval_s: float = 2.0
    #: How old the charger's report of the car's current is when the meter reading arrives (s). Real
    #: chargers report on their own clock (the Prism once a second while charging, ``specs/prism.md``;
    #: a TWC answers the master's heartbeat, one slave per ~1 s slot, ``specs/twc-gen2.md``), so the
    #: controller can see a meter that already shows a new current next to a report that does not yet.
    #: 0 (the default) reports the current of the same second.
    report_lag_s: float = 0.0
    voltage_v: float = 230.0
    loadpoint: LoadpointParams = field(
        default_factory=lambda: LoadpointParams(name="sim", min_a=6.0, max_a=16.0, phases=1, mode=Mode.PV)
    )
    car: CarParams = field(default_factory=CarParams)
    #: Seconds a switchable charger takes to move its contactor once the car is at 0 A (a wallbox's
    #: relay plus its own checks; with ``loadpoint.phase_switching``).
    phase_switch_delay_s: float = 5.0
    #: A home battery behind the grid meter (:mod:`ecotrack.world.battery`); None: none.
    battery: HomeBatteryParams | None = None
    residual_w: float = 0.0
    tuning: Tuning = field(default_factory=Tuning)

    @property
    def offer_max_a(self) -> float:
        """The most any strategy may offer: the loadpoint's max and the charger's own max."""
        lp = self.loadpoint
        return lp.max_a if lp.charger_max_a is None else min(lp.max_a, lp.charger_max_a)


class Strategy(Protocol):
    """A controller under test in the simulator."""

    name: str

    def on_reading(self, t_s: float, grid_w: float, charger: ChargerReading) -> float:
        """A meter reading arrived at ``t_s``; return the current to offer now (A)."""
        ...


class DefaultStrategy:
    """ecotrack's own control core, exactly as the engine runs it (with the loadpoint's own settings)."""

    name = "default"
    #: A charging profile (:mod:`ecotrack.core.profiles`) applied over the loadpoint's settings, or None.
    profile: str | None = None

    def __init__(self, settings: SimSettings) -> None:
        lp = settings.loadpoint
        if self.profile is not None:
            lp = apply_profile(lp, self.profile)
        site = SiteParams(
            loadpoints=(lp,),
            voltage_v=settings.voltage_v,
            residual_w=settings.residual_w,
            battery_priority_soc_pct=settings.battery.priority_soc_pct
            if settings.battery is not None
            else None,
            tuning=settings.tuning,
        )
        self._lp = lp.name
        self._controller = Controller(site)
        self._phases = lp.phases
        self._battery: tuple[float, float] | None = None

    def on_battery(self, battery_w: float, soc_pct: float) -> None:
        """The home battery's power (+ discharge) and state of charge, read with the next meter reading."""
        self._battery = (battery_w, soc_pct)

    def requested_phases(self) -> int:
        """The phase count the core last asked the charger to use."""
        return self._phases

    def on_reading(self, t_s: float, grid_w: float, charger: ChargerReading) -> float:
        c = self._controller
        c.on_charger_reading(self._lp, charger)
        battery_w, soc = self._battery if self._battery is not None else (None, None)
        c.on_site_reading(
            SiteReading(
                t_s=t_s, grid_w=grid_w, voltage_v=charger.voltage_v, battery_w=battery_w, battery_soc_pct=soc
            )
        )
        decision = c.step(t_s).loadpoints[0]
        if decision.phases is not None:
            self._phases = decision.phases
        return decision.current_a


class NoGridStrategy(DefaultStrategy):
    """ecotrack's core with the ``no-grid`` profile."""

    name = "no-grid"
    profile = "no-grid"


class FewerStartsStrategy(DefaultStrategy):
    """ecotrack's core with the ``fewer-starts`` profile."""

    name = "fewer-starts"
    profile = "fewer-starts"


class SeedEcotrackStrategy:
    """The seed program's ``eco`` mode (``seed-ecotrack.md``).

    On each ``power`` message while charging: ``step = floor(-0.93*pwr1/volts) + 1``,
    ``setpoint = clamp(last_setpoint + step, 6, 16)``. Pauses when
    ``ev - pwr1 < -250 W`` and resumes when ``ev - pwr1 > 700 W``, no dwell.
    Assumption: on resume it continues with the last setpoint; min/max come
    from the simulated loadpoint (the seed's defaults are 6 and 16 A).
    """

    name = "seed-ecotrack"

    def __init__(self, settings: SimSettings) -> None:
        lp = settings.loadpoint
        self._min = lp.min_a
        self._max = settings.offer_max_a
        self._volts = settings.voltage_v
        self._setpoint = lp.min_a
        self._paused = True

    def on_reading(self, t_s: float, grid_w: float, charger: ChargerReading) -> float:
        volts = charger.voltage_v or self._volts
        ev_w = charger.power_w if charger.power_w is not None else charger.actual_a * volts
        available = ev_w - grid_w
        if self._paused:
            if available > 700.0:
                self._paused = False
        elif available < -250.0:
            self._paused = True
        if self._paused:
            return 0.0
        step = math.floor(-0.93 * grid_w / volts) + 1
        self._setpoint = min(max(self._setpoint + step, self._min), self._max)
        return float(self._setpoint)


class SeedTwcManagerStrategy:
    """TWCManager's green-energy tracking (``seed-twcmanager.md``).

    Policy every 30 s on an EMS value cached for 10 s; available amps =
    ``(-grid + charger load) / (volts x phases)`` (``subtractChargerLoad``),
    truncated, capped at the wiring/charger max; below the minimum it offers 0,
    except that once it crossed the minimum it keeps the minimum for
    ``startStopDelay`` = 60 s.
    """

    name = "seed-twcmanager"
    policy_interval_s = 30.0
    cache_s = 10.0
    start_stop_delay_s = 60.0

    def __init__(self, settings: SimSettings) -> None:
        lp = settings.loadpoint
        self._lp = lp
        self._max = settings.offer_max_a
        self._volts = settings.voltage_v
        self._cached: tuple[float, float] | None = None  # (grid_w, charger_w) as cached
        self._cached_at = -math.inf
        self._next_policy = 0.0
        self._offered = 0.0
        self._last_above_min = -math.inf

    def on_reading(self, t_s: float, grid_w: float, charger: ChargerReading) -> float:
        volts = charger.voltage_v or self._volts
        if t_s - self._cached_at >= self.cache_s:
            charger_w = charger.actual_a * volts * self._lp.phases
            self._cached = (grid_w, charger_w)
            self._cached_at = t_s
        if t_s < self._next_policy or self._cached is None:
            return self._offered
        self._next_policy = t_s + self.policy_interval_s
        cached_grid, cached_charger = self._cached
        amps = min(float(math.floor((-cached_grid + cached_charger) / (volts * self._lp.phases))), self._max)
        if amps >= self._lp.min_a:
            self._last_above_min = t_s
            self._offered = float(amps)
        elif self._offered > 0.0 and t_s - self._last_above_min < self.start_stop_delay_s:
            self._offered = self._lp.min_a
        else:
            self._offered = 0.0
        return self._offered


class EvccDefaultStrategy:
    """evcc's PV mode with default settings (``peers-pv-control.md``).

    Every 30 s: ``target = effective + (-grid)/(phases x 230)`` where effective is
    0 when not charging, else ``min(measured + 2 A, offered)``. Enable after the
    target stayed >= min for 60 s (any failing tick resets); disable after
    3 min below min, holding min meanwhile. Whole amps, truncated.

    With a switchable charger (``loadpoint.phase_switching``), evcc's documented 1p/3p rule
    (``peers-pv-control.md``, "1p/3p switching"): down to 1 phase when the 3-phase minimum power is not
    available for the disable delay (180 s), up to 3 phases when the power exceeds the 1-phase maximum
    and the 3-phase minimum is available for the enable delay (60 s), with a 60 s lockout after a switch.
    A switch offers 0 A, asks for the new count, and resumes at the new count's target once the charger
    reports it. Assumptions where the spec is silent: the timers run on evcc's 30 s tick, a paused
    (not enabled) loadpoint also switches, and "available power" is the target current times the
    volts of the phases in use.
    """

    name = "evcc-default"
    interval_s = 30.0
    enable_delay_s = 60.0
    disable_delay_s = 180.0
    phase_lockout_s = 60.0

    def __init__(self, settings: SimSettings) -> None:
        self._lp = settings.loadpoint
        self._max = settings.offer_max_a
        self._next_tick = 0.0
        self._offered = 0.0
        self._enable_since: float | None = None
        self._disable_since: float | None = None
        self._switching = settings.loadpoint.phase_switching is not None
        self._phases = settings.loadpoint.phases
        self._target_phases = self._phases
        self._up_since: float | None = None
        self._down_since: float | None = None
        self._last_switch = -math.inf
        #: A switch paused a running charge: resume it at the new count's target.
        self._resume = False

    def requested_phases(self) -> int:
        """The phase count evcc asks the charger to use."""
        return self._target_phases

    def _scale_phases(self, t_s: float, target: float) -> bool:
        """evcc's phase timers on one tick; True when a switch begins."""
        lp = self._lp
        power = target * self._phases * 230.0
        min3 = 3 * 230.0 * lp.min_a
        if self._phases == 3 and power < min3:
            self._up_since = None
            self._down_since = t_s if self._down_since is None else self._down_since
            if (
                t_s - self._down_since >= self.disable_delay_s
                and t_s - self._last_switch >= self.phase_lockout_s
            ):
                self._target_phases, self._down_since = 1, None
                return True
        elif self._phases == 1 and power > 230.0 * self._max and power >= min3:
            self._down_since = None
            self._up_since = t_s if self._up_since is None else self._up_since
            if (
                t_s - self._up_since >= self.enable_delay_s
                and t_s - self._last_switch >= self.phase_lockout_s
            ):
                self._target_phases, self._up_since = 3, None
                return True
        else:
            self._up_since = self._down_since = None
        return False

    def on_reading(self, t_s: float, grid_w: float, charger: ChargerReading) -> float:
        if self._switching and self._target_phases != self._phases:
            # A switch under way: offer 0 A until the charger reports the new count (checked every reading,
            # as evcc waits for the charger rather than for its next tick).
            if charger.phases == self._target_phases:
                self._phases = self._target_phases
                self._last_switch = t_s
                self._next_tick = t_s  # resume on this reading
            else:
                self._offered = 0.0
                return self._offered
        if t_s < self._next_tick:
            return self._offered
        self._next_tick = t_s + self.interval_s
        lp = self._lp
        charging = charger.actual_a > 0.0
        effective = min(charger.actual_a + 2.0, self._offered) if charging else 0.0
        target = effective + (-grid_w) / (self._phases * 230.0)
        if self._switching and self._scale_phases(t_s, target):
            was_on = self._offered > 0.0
            self._offered = 0.0
            self._resume = was_on
            return self._offered
        if self._resume:
            self._resume = False
            self._offered = float(min(max(math.floor(target), lp.min_a), self._max))
            return self._offered
        if self._offered <= 0.0:
            if target >= lp.min_a:
                if self._enable_since is None:
                    self._enable_since = t_s
                if t_s - self._enable_since >= self.enable_delay_s:
                    self._enable_since = None
                    self._offered = float(min(math.floor(target), self._max))
            else:
                self._enable_since = None
            return self._offered
        if target < lp.min_a:
            if self._disable_since is None:
                self._disable_since = t_s
            if t_s - self._disable_since >= self.disable_delay_s:
                self._disable_since = None
                self._offered = 0.0
            else:
                self._offered = lp.min_a
            return self._offered
        self._disable_since = None
        self._offered = float(min(math.floor(target), self._max))
        return self._offered


StrategyFactory = Callable[[SimSettings], Strategy]

#: ecotrack's own strategies: ``default`` (the loadpoint's settings; ``balanced`` unless configured
#: otherwise) and one per other shipped profile. The rest are the peers' baselines.
OWN_STRATEGIES = ("default", "no-grid", "fewer-starts")

STRATEGIES: dict[str, StrategyFactory] = {
    DefaultStrategy.name: DefaultStrategy,
    NoGridStrategy.name: NoGridStrategy,
    FewerStartsStrategy.name: FewerStartsStrategy,
    SeedEcotrackStrategy.name: SeedEcotrackStrategy,
    SeedTwcManagerStrategy.name: SeedTwcManagerStrategy,
    EvccDefaultStrategy.name: EvccDefaultStrategy,
}


def make_strategy(name: str, settings: SimSettings) -> Strategy:
    """Build the strategy called ``name`` (ValueError naming the known ones otherwise)."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None
    return factory(settings)


def with_tuning(settings: SimSettings, **changes: Any) -> SimSettings:
    """A copy of ``settings`` with loadpoint or tuning fields changed (for parameter sweeps)."""
    lp_fields = set(LoadpointParams.__dataclass_fields__)
    lp_changes = {k: v for k, v in changes.items() if k in lp_fields}
    tuning_changes = {k: v for k, v in changes.items() if k not in lp_fields}
    return replace(
        settings,
        loadpoint=replace(settings.loadpoint, **lp_changes),
        tuning=replace(settings.tuning, **tuning_changes),
    )
