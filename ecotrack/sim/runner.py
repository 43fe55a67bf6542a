"""Replay a recorded (or modelled) day through a strategy, one simulated second at a time.

The simulated world, per second ``t``:

1. PV and household load are the trace's values, held for their whole interval
   (a 1-minute mean applies to all 60 seconds: the conservative choice, since
   every minute boundary is then a step the controller has to follow).
2. Every ``meter_interval_s`` the meter samples ``grid = load + ev - pv`` at that
   instant and the charger reports the car's measured current; the strategy
   answers with an offered current.
3. The car follows the offer (:mod:`ecotrack.world.car`): at once on a cut, with
   a dead time and a ramp on a raise, after a start delay from a pause.
4. A loadpoint with ``phase_switching`` has a charger that switches 1p/3p like a
   wallbox with a contactor: it moves the contactor only once the car draws 0 A
   (a charger that obeys IEC 61851), ``SimSettings.phase_switch_delay_s`` after
   the strategy asked for the new count and the car stopped, and reports the
   count it uses. Power is the car's current x 230 V x the phases in use.
5. With ``SimSettings.battery`` a home battery behind the grid meter charges from
   the export and discharges into the import every second
   (:mod:`ecotrack.world.battery`); the meter reading carries its power and state
   of charge to strategies that take them (``on_battery``; ecotrack's core does,
   the peers' baselines see the grid only).

Energies are integrated over the 1-s steps; the car is always connected and
always wants energy (a big battery), so every figure measures only the
controller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ecotrack.core.model import ChargerReading, SiteParams
from ecotrack.core.safety import build_limits, violations
from ecotrack.sim.bounds import frontier_grid_kwh
from ecotrack.sim.strategies import SimSettings, Strategy
from ecotrack.world.battery import HomeBattery
from ecotrack.world.car import Car
from ecotrack.world.trace import FloatArray, Trace


@dataclass(frozen=True, slots=True)
class SimSeries:
    """Per-second series of one run, for plots."""

    t_s: FloatArray
    pv_w: FloatArray
    load_w: FloatArray
    ev_w: FloatArray
    grid_w: FloatArray
    offered_a: FloatArray
    start_times_s: tuple[float, ...]
    #: Phases the charger used, second by second.
    phases: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class SimResult:
    """The figures of one simulated day (the JSON keys of ``ecotrack simulate``)."""

    trace: str
    strategy: str
    duration_h: float
    pv_kwh: float
    load_kwh: float
    surplus_kwh: float
    ev_kwh: float
    ev_solar_kwh: float
    ev_grid_kwh: float
    export_kwh: float
    import_kwh: float
    oracle_ev_solar_kwh: float
    capture_ratio: float
    starts: int
    max_over_limit_a: float
    #: The clairvoyant frontier's grid energy at this run's own starts (:func:`ecotrack.sim.bounds.frontier_grid_kwh`).
    frontier_grid_kwh: float
    #: ``ev_grid_kwh - frontier_grid_kwh``: how far above the frontier the run pulled from the grid.
    frontier_excess_kwh: float
    #: Phase switches the charger made (0 without ``--switch-phases``).
    phase_switches: int = 0
    #: Energy the home battery took in and gave out (0 without a battery).
    battery_charged_kwh: float = 0.0
    battery_discharged_kwh: float = 0.0

    def as_json(self) -> dict[str, object]:
        """The result as a JSON-ready dict with rounded figures."""
        out: dict[str, object] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            out[key] = round(value, 4) if isinstance(value, float) else value
        return out


def oracle_ev_solar_w(surplus_w: FloatArray, settings: SimSettings) -> FloatArray:
    """Per-second EV power of an ideal zero-import controller with the same charger limits.

    It offers, every second, the largest current on the charger's step grid
    whose power fits in the surplus, between the loadpoint's min and max; below
    the minimum it cannot charge without importing, so it offers nothing.
    """
    lp = settings.loadpoint
    best = np.zeros_like(surplus_w, dtype=np.float64)
    # A charger that can switch uses, second by second, whichever phase count takes more.
    for phases in (1, 3) if lp.phase_switching is not None else (lp.phases,):
        wpa = phases * settings.voltage_v
        amps = np.floor(np.maximum(surplus_w, 0.0) / wpa / lp.step_a + 1e-9) * lp.step_a
        amps = np.minimum(amps, min(settings.offer_max_a, settings.car.max_a))
        amps = np.where(amps >= lp.min_a, amps, 0.0)
        best = np.maximum(best, amps * wpa)
    return np.asarray(best, dtype=np.float64)


def simulate(
    trace: Trace, strategy: Strategy, settings: SimSettings, *, record: bool = False
) -> tuple[SimResult, SimSeries | None]:
    """Run ``strategy`` over ``trace`` and return its figures (and the series when ``record``)."""
    pv_s, load_s = trace.per_second()
    n = len(pv_s)
    lp = settings.loadpoint
    volts = settings.voltage_v
    phases = lp.phases
    wpa = phases * volts
    car = Car(replace(settings.car, w_per_a=wpa))
    wants_phases = getattr(strategy, "requested_phases", None)
    switchable = lp.phase_switching is not None and callable(wants_phases)
    switch_delay = max(1, round(settings.phase_switch_delay_s))
    switch_ready_at: int | None = None  # second at which the contactor moves (car at 0 A, new count asked)
    switches = 0
    battery = HomeBattery(settings.battery) if settings.battery is not None else None
    on_battery = getattr(strategy, "on_battery", None)
    battery_series = np.zeros(n, dtype=np.float64)  # + discharge
    battery_w = 0.0
    limits = build_limits(SiteParams(loadpoints=(lp,), voltage_v=volts))
    interval = max(1, round(settings.meter_interval_s))
    ev_w = np.zeros(n, dtype=np.float64)
    offered_series = np.zeros(n, dtype=np.float64) if record else None
    phases_series = np.zeros(n, dtype=np.float64) if record else None
    pv_list = pv_s.tolist()
    load_list = load_s.tolist()
    offered = 0.0
    drawn = 0.0
    starts = 0
    start_times: list[float] = []
    worst = 0.0
    lp_name = lp.name
    lag = max(0, round(settings.report_lag_s))
    drawn_hist = [0.0] * (lag + 1)  # ring of the car's current over the last ``lag`` seconds
    for t in range(n):
        grid = load_list[t] + drawn * wpa - pv_list[t]
        if battery is not None:
            battery_w = battery.step(grid, 1.0)
            grid -= battery_w
        battery_series[t] = battery_w
        if t % interval == 0:
            if battery is not None and callable(on_battery):
                on_battery(battery_w, battery.soc_pct)
            reported = drawn_hist[(t - lag) % (lag + 1)] if t >= lag else 0.0
            report = ChargerReading(
                t_s=float(t),
                connected=True,
                charging=reported > 0.0,
                actual_a=reported,
                power_w=reported * wpa,
                voltage_v=volts,
                offered_a=offered,
                phases=phases if switchable else None,
            )
            new = strategy.on_reading(float(t), grid, report)
            if new != offered:
                over = violations(limits, {lp_name: new})
                if over > worst:
                    worst = over
                if offered < lp.min_a <= new:
                    starts += 1
                    start_times.append(float(t))
                offered = new
        drawn = car.step(1.0, offered)
        if switchable and callable(wants_phases):
            wanted = wants_phases()
            if wanted == phases or wanted not in (1, 3) or drawn > 0.0:
                switch_ready_at = None  # nothing asked, or the car still draws: the contactor stays
            elif switch_ready_at is None:
                switch_ready_at = t + switch_delay
            elif t >= switch_ready_at:
                phases, wpa = wanted, wanted * volts
                car.params.w_per_a = wpa
                switches += 1
                switch_ready_at = None
        drawn_hist[(t + 1) % (lag + 1)] = drawn
        ev_w[t] = drawn * wpa
        if offered_series is not None and phases_series is not None:
            offered_series[t] = offered
            phases_series[t] = phases
    if not switchable:  # a strategy that never switches is measured against a fixed-phase charger
        settings = replace(settings, loadpoint=replace(lp, phase_switching=None))
    result = _figures(
        trace,
        strategy.name,
        pv_s,
        load_s,
        ev_w,
        settings,
        starts,
        worst,
        switches,
        battery_series if battery else None,
    )
    series = None
    if record and offered_series is not None:
        series = SimSeries(
            t_s=np.arange(n, dtype=np.float64),
            pv_w=pv_s,
            load_w=load_s,
            ev_w=ev_w,
            grid_w=load_s + ev_w - pv_s - battery_series,
            offered_a=offered_series,
            start_times_s=tuple(start_times),
            phases=phases_series,
        )
    return result, series


def _figures(
    trace: Trace,
    strategy: str,
    pv_w: FloatArray,
    load_w: FloatArray,
    ev_w: FloatArray,
    settings: SimSettings,
    starts: int,
    worst: float,
    switches: int = 0,
    battery_w: FloatArray | None = None,
) -> SimResult:
    """Integrate the per-second powers into the result figures (kWh; 1 s steps)."""
    to_kwh = 1.0 / 3_600_000.0
    surplus = pv_w - load_w
    if battery_w is None:
        battery_w = np.zeros_like(pv_w)
    grid = load_w + ev_w - pv_w - battery_w  # what the meter sees: the battery covers part of the import
    ev_solar = np.minimum(ev_w, np.maximum(surplus, 0.0))
    ev_kwh = float(ev_w.sum()) * to_kwh
    ev_solar_kwh = float(ev_solar.sum()) * to_kwh
    oracle = float(oracle_ev_solar_w(surplus, settings).sum()) * to_kwh
    lp = settings.loadpoint
    # With switching, the least power the car can charge with is the one-phase minimum.
    min_phases = 1 if lp.phase_switching is not None else lp.phases
    frontier = frontier_grid_kwh(surplus, lp.min_a * min_phases * settings.voltage_v, starts)
    return SimResult(
        trace=trace.name,
        strategy=strategy,
        duration_h=len(pv_w) / 3600.0,
        pv_kwh=float(pv_w.sum()) * to_kwh,
        load_kwh=float(load_w.sum()) * to_kwh,
        surplus_kwh=float(np.maximum(surplus, 0.0).sum()) * to_kwh,
        ev_kwh=ev_kwh,
        ev_solar_kwh=ev_solar_kwh,
        ev_grid_kwh=ev_kwh - ev_solar_kwh,
        export_kwh=float(np.maximum(-grid, 0.0).sum()) * to_kwh,
        import_kwh=float(np.maximum(grid, 0.0).sum()) * to_kwh,
        oracle_ev_solar_kwh=oracle,
        capture_ratio=ev_solar_kwh / oracle if oracle > 0 else (1.0 if ev_solar_kwh == 0 else math.inf),
        starts=starts,
        max_over_limit_a=worst,
        phase_switches=switches,
        battery_charged_kwh=float(np.maximum(-battery_w, 0.0).sum()) * to_kwh,
        battery_discharged_kwh=float(np.maximum(battery_w, 0.0).sum()) * to_kwh,
        frontier_grid_kwh=frontier,
        frontier_excess_kwh=ev_kwh - ev_solar_kwh - frontier,
    )
