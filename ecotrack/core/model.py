"""Plain value types shared by the control core, the engine and the simulator.

Everything here is immutable data with units in the names. The core never sees
wall-clock time: every timestamp is a monotonic float in seconds (``t_s``)
chosen by the caller (the engine's ``time.monotonic()`` or the simulator's
clock). Power sign convention: grid ``+`` import / ``-`` export, battery ``+``
discharge, PV ``>= 0``; sources convert at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ecotrack.core.follow import FollowModel


class Mode(StrEnum):
    """What the user wants a loadpoint to do."""

    OFF = "off"  #: never charge
    NOW = "now"  #: charge at the maximum allowed current
    MINPV = "minpv"  #: never below min while a car is connected; surplus above it
    PV = "pv"  #: surplus only; stop when there is not enough


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One sample from one meter. Fields the source does not measure are None.

    ``voltages_v`` and ``currents_a`` are per phase (L1, L2, L3 as far as the device
    reports them), for sources that measure them (a smart meter, an inverter's grid
    meter). Currents are signed like the grid: ``+`` import, ``-`` export, when the
    device tells the direction; otherwise they are magnitudes.
    """

    t_s: float
    grid_w: float | None = None
    pv_w: float | None = None
    battery_w: float | None = None
    battery_soc_pct: float | None = None
    voltage_v: float | None = None
    voltages_v: tuple[float, ...] | None = None
    currents_a: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class SiteReading:
    """One sample of the site meters, taken at ``t_s``.

    ``grid_w`` is ``None`` when the grid meter did not deliver a value; the
    core treats a missing, NaN or infinite value like a stale one.
    """

    t_s: float
    grid_w: float | None
    pv_w: float | None = None
    battery_w: float | None = None
    battery_soc_pct: float | None = None
    voltage_v: float | None = None


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """What a charger last reported about itself.

    ``actual_a`` is the measured current per phase (the highest phase when a
    charger reports several). ``power_w`` is used instead of amps x volts when
    the charger measures it. ``offered_a`` is the limit the charger says it is
    currently signalling to the car, when it reports one.
    """

    t_s: float
    connected: bool
    charging: bool
    actual_a: float = 0.0
    power_w: float | None = None
    voltage_v: float | None = None
    offered_a: float | None = None
    online: bool = True
    #: Phases the charger says it uses now (chargers that can switch 1p/3p report it); None: not reported.
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Tuning:
    """Parameters of the default control law (defaults chosen in the simulator).

    See ``docs/control.md`` for how each default was measured.
    """

    #: Do not raise a charger again before it has followed the last command, or
    #: this long has passed since the command.
    settle_s: float = 10.0
    #: The charger has "followed" when its measured current is within this of the offer.
    follow_tolerance_a: float = 1.0
    #: Largest raise in one step (amps); cuts are never limited.
    max_step_up_a: float = 32.0
    #: Fraction of an amp at which the target is rounded up instead of down.
    #: 1.0 means always round down (never import for rounding), 0.5 rounds to nearest.
    round_up_fraction: float = 0.9
    #: How much of the surplus above the minimum pays back the deficit budget (0 = none, 1 = all).
    deficit_payback: float = 1.0
    #: How fast a car follows a command: estimates its draw while the charger's report lags the meter.
    car_follow: FollowModel = field(default_factory=FollowModel)


@dataclass(frozen=True, slots=True)
class PhaseSwitching:
    """Timers of 1p/3p switching for a loadpoint whose charger can switch (see :mod:`ecotrack.core.phases`).

    Defaults measured with ``bench/phases.py`` (docs/benchmarks.md, "Phase switching"): a switch costs a
    pause of the charge (IEC 61851 wants the car at 0 A before the contactor moves) and a contactor
    operation, so the surplus must hold for a while and two switches are at least ``interval_s`` apart.
    Over the 8 recorded days 300 s delays beat 120 s on solar, grid energy, starts and switches (5.0 ->
    2.2 switches a day; better or equal on 7 of 8 days); 600 s gained a little more on 3 days, but would
    leave a clear morning on one phase for 10 minutes.
    """

    #: Switch up to 3 phases once the surplus has stayed at or above the 3-phase minimum this long (s).
    up_delay_s: float = 300.0
    #: Switch down to 1 phase once the surplus has stayed below the 3-phase minimum this long (s).
    down_delay_s: float = 300.0
    #: Never two switches closer than this (s): spares the contactor and the car.
    interval_s: float = 300.0
    #: Give up waiting for the charger to confirm 0 A or the new phase count after this long (s).
    confirm_timeout_s: float = 60.0
    #: Measured current at or below which the charger counts as paused (A).
    zero_tolerance_a: float = 0.5


@dataclass(frozen=True, slots=True)
class LoadpointParams:
    """Static settings of one loadpoint (a charger with a car behind it).

    The start/stop hysteresis: a stopped car starts after the surplus has
    covered ``min_a`` plus ``enable_threshold_w`` for ``enable_delay_s``; a
    charging car whose surplus falls below ``min_a`` keeps charging at ``min_a``
    until the grid energy it pulled exceeds ``disable_energy_wh`` (plus
    ``disable_solar_credit`` times the solar it took meanwhile) or the deficit
    has lasted ``disable_delay_s`` (whichever comes first). Surplus above
    ``min_a`` pays the energy budget back. The defaults are the ``balanced``
    profile (:mod:`ecotrack.core.profiles`), chosen by leave-one-day-out
    cross-validation in ``bench/tracking.py --loo``.
    """

    name: str
    min_a: float = 6.0
    max_a: float = 16.0
    phases: int = 1
    priority: int = 0
    #: The charger's own maximum (hardware or rotary switch); the core never exceeds it.
    charger_max_a: float | None = None
    circuit: str | None = None
    mode: Mode = Mode.PV
    #: Current resolution the charger accepts: 1.0 (whole amps) or 0.1.
    step_a: float = 1.0
    enable_threshold_w: float = 0.0
    enable_delay_s: float = 60.0
    #: Start early once the surplus above the start threshold has added up to this much energy
    #: (a strong return of the sun starts within seconds; a weak one waits ``enable_delay_s``).
    enable_energy_wh: float | None = 2.0
    #: Extra start delay per stop in the last ``restart_window_s`` (backs off under passing clouds).
    restart_penalty_s: float = 0.0
    restart_window_s: float = 1800.0
    disable_threshold_w: float = 0.0
    disable_delay_s: float = 600.0
    disable_energy_wh: float = 0.0
    #: The stop budget grows by this share of the solar the car takes while holding its minimum
    #: (a shallow, mostly-solar dip is held longer than a deep one); see :mod:`ecotrack.core.hold`.
    disable_solar_credit: float = 0.3
    #: The charger reports but cannot be commanded (Gen3 Wall Connector read over HTTP): the core
    #: allocates it nothing, counts its car's power as house load, and keeps room on its circuits for
    #: what it may draw (its maximum while a car is connected or its state is unknown).
    observe_only: bool = False
    #: The charger can switch between 1 and 3 phases (``phases`` is then the count it starts on);
    #: None: it always uses ``phases``.
    phase_switching: PhaseSwitching | None = None


@dataclass(frozen=True, slots=True)
class CircuitParams:
    """A fuse or cable that limits the sum of the currents below it (per phase)."""

    name: str
    max_a: float
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class SiteParams:
    """Static settings of the whole site, as the core needs them."""

    loadpoints: tuple[LoadpointParams, ...]
    circuits: tuple[CircuitParams, ...] = ()
    voltage_v: float = 230.0
    #: Power kept back from the surplus (W). Positive keeps some export.
    residual_w: float = 0.0
    max_meter_age_s: float = 30.0
    #: A charger report older than this counts as the charger being offline (drivers report
    #: at least every few seconds, repeating their last state when nothing changed).
    max_charger_age_s: float = 60.0
    #: Limit for the sum of all loadpoints' currents (per phase), e.g. the supply cable.
    wiring_limit_a: float | None = None
    #: Below this battery SoC the home battery charges first (its charging power is not surplus).
    battery_priority_soc_pct: float | None = None
    tuning: Tuning = field(default_factory=Tuning)


@dataclass(frozen=True, slots=True)
class LoadpointDecision:
    """The core's answer for one loadpoint after a step.

    ``current_a`` is the current to command (0 = do not charge). ``status`` is
    a short machine-readable word; ``reason`` a human sentence for logs and UI.
    """

    name: str
    mode: Mode
    current_a: float
    status: str
    reason: str
    available_w: float | None = None
    #: Phases the charger should use (loadpoints that can switch); None: it cannot switch.
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything the core decided in one step."""

    t_s: float
    loadpoints: tuple[LoadpointDecision, ...]
    surplus_w: float | None
    failsafe: bool

    def current_of(self, name: str) -> float:
        """Commanded current of loadpoint ``name`` (KeyError when unknown)."""
        for lp in self.loadpoints:
            if lp.name == name:
                return lp.current_a
        raise KeyError(name)
