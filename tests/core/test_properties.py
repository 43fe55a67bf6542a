"""Property test: whatever the readings, the commanded current never exceeds any limit.

Random sites (1-4 loadpoints, nested circuits, an optional wiring limit) are fed random sequences of
events: site readings with NaN, infinite, negative, huge or missing values and stale, out-of-order or
future timestamps; charger reports with junk currents and powers, plugging and unplugging, chargers
going offline; mode changes; steps at random times. After every step the commands must respect every
limit, sit on each charger's current grid, be 0 or at least the minimum, and obey the mode rules.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecotrack.core.control import Controller
from ecotrack.core.follow import FollowModel
from ecotrack.core.model import (
    ChargerReading,
    CircuitParams,
    LoadpointParams,
    Mode,
    SiteParams,
    SiteReading,
    Tuning,
)
from ecotrack.core.safety import build_limits, violations

from .harness import known_fields, lp
from .harness import tuning as harness_tuning

JUNK = [math.nan, math.inf, -math.inf, 1e12, -1e12, 1e7 * 0.999]

#: Power values: plausible ones, edge cases and garbage.
watts = st.one_of(
    st.floats(-20_000.0, 20_000.0),
    st.sampled_from([*JUNK, 0.0, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
opt_watts = st.none() | watts
amps = st.one_of(st.floats(0.0, 40.0), st.sampled_from([*JUNK, -5.0]), st.floats())
volts = st.none() | st.sampled_from([230.0, 240.0, 0.0, -230.0, 50.0, 10_000.0, math.nan, math.inf])
soc = st.none() | st.floats(-10.0, 110.0) | st.sampled_from([math.nan, math.inf])


@st.composite
def sites(draw: st.DrawFn) -> SiteParams:
    circuits: list[CircuitParams] = []
    for i in range(draw(st.integers(0, 3))):
        parent = draw(st.sampled_from([None, *[c.name for c in circuits]]))
        circuits.append(CircuitParams(f"c{i}", draw(st.floats(0.0, 63.0)), parent=parent))
    loadpoints = []
    for i in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from([1.0, 0.1]))
        lo = draw(st.sampled_from([6.0, 6.0, 5.0, 8.0, 1.3, 6.5]))
        hi = lo + draw(st.sampled_from([0.0, 0.1, 4.0, 10.0, 26.0]) | st.floats(0.0, 40.0))
        loadpoints.append(
            lp(
                f"lp{i}",
                min_a=lo,
                max_a=hi,
                phases=draw(st.sampled_from([1, 3])),
                priority=draw(st.integers(0, 2)),
                charger_max_a=draw(st.none() | st.floats(0.0, 40.0)),
                circuit=draw(st.sampled_from([None, *[c.name for c in circuits]])),
                mode=draw(st.sampled_from(list(Mode))),
                step_a=step,
                enable_threshold_w=draw(st.sampled_from([0.0, 200.0])),
                enable_delay_s=draw(st.sampled_from([0.0, 5.0, 60.0])),
                disable_threshold_w=draw(st.sampled_from([0.0, 100.0])),
                disable_delay_s=draw(st.sampled_from([0.0, 10.0, 300.0])),
                disable_energy_wh=draw(st.sampled_from([0.0, 5.0, 50.0])),
                **known_fields(
                    {
                        "enable_energy_wh": draw(st.sampled_from([None, 0.0, 5.0])),
                        "restart_penalty_s": draw(st.sampled_from([0.0, 60.0])),
                        "restart_window_s": 1800.0,
                    },
                    LoadpointParams,
                ),
            )
        )
    tuning = harness_tuning(
        settle_s=draw(st.sampled_from([0.0, 3.0, 10.0])),
        follow_tolerance_a=draw(st.sampled_from([0.5, 1.0])),
        max_step_up_a=draw(st.sampled_from([1.0, 2.5, 32.0])),
        round_up_fraction=draw(st.sampled_from([1.0, 0.5])),
        **known_fields({"deficit_payback": draw(st.sampled_from([0.0, 0.5, 1.0]))}, Tuning),
        # Any model of how fast a car follows (the estimate of its draw must never matter to a limit).
        car_follow=FollowModel(
            start_s=draw(st.sampled_from([0.0, 5.0, 30.0])),
            dead_s=draw(st.sampled_from([0.0, 1.0])),
            ramp_a_per_s=draw(st.sampled_from([0.5, 3.0, 100.0])),
            cut_s=draw(st.sampled_from([0.0, 5.0])),
        ),
    )
    return SiteParams(
        loadpoints=tuple(loadpoints),
        circuits=tuple(circuits),
        voltage_v=draw(st.sampled_from([230.0, 120.0, 240.0])),
        residual_w=draw(st.sampled_from([0.0, 100.0, -200.0])),
        max_meter_age_s=draw(st.sampled_from([5.0, 30.0])),
        wiring_limit_a=draw(st.none() | st.floats(0.0, 80.0)),
        battery_priority_soc_pct=draw(st.none() | st.floats(0.0, 100.0)),
        tuning=tuning,
    )


@dataclass(frozen=True)
class Advance:
    dt_s: float


@dataclass(frozen=True)
class Site:
    age_s: float  # reading timestamp = now - age (negative: from the future)
    grid_w: float | None
    pv_w: float | None
    battery_w: float | None
    soc: float | None
    voltage_v: float | None


@dataclass(frozen=True)
class Charger:
    index: int
    age_s: float
    connected: bool
    online: bool
    actual_a: float
    power_w: float | None
    voltage_v: float | None


@dataclass(frozen=True)
class SetMode:
    index: int
    mode: Mode


@dataclass(frozen=True)
class SetRange:
    """A user (or rule) asking for a current range; may be outside the configured one (then refused)."""

    index: int
    min_a: float
    max_a: float


@dataclass(frozen=True)
class Step:
    pass


Event = Advance | Site | Charger | SetMode | SetRange | Step

events = st.one_of(
    st.builds(Advance, st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 29.0, 31.0, 120.0]) | st.floats(0.0, 400.0)),
    st.builds(
        Site,
        st.sampled_from([0.0, 0.0, 0.0, 1.0, 29.0, 31.0, 1_000.0, -5.0, math.nan]),
        opt_watts,
        opt_watts,
        opt_watts,
        soc,
        volts,
    ),
    st.builds(
        Charger,
        st.integers(0, 3),
        st.sampled_from([0.0, 0.0, 3.0, 100.0]),
        st.booleans() | st.just(True),
        st.booleans() | st.just(True),
        amps,
        opt_watts,
        volts,
    ),
    st.builds(SetMode, st.integers(0, 3), st.sampled_from(list(Mode))),
    st.builds(SetRange, st.integers(0, 3), amps, amps),
    st.just(Step()),
)


def circuits_above(site: SiteParams, p: LoadpointParams) -> list[str] | None:
    """The circuits a loadpoint hangs under, walked here independently of the core; None if one is unknown."""
    by_name = {c.name: c for c in site.circuits}
    chain: list[str] = []
    name = p.circuit
    while name is not None and name not in chain:
        if name not in by_name:
            return None
        chain.append(name)
        name = by_name[name].parent
    return chain


def assert_sums_within_limits(site: SiteParams, commands: dict[str, float]) -> None:
    """Re-add the currents under every circuit and the wiring limit without the core's own structures."""
    eps = 1e-6
    load: dict[str, float] = {c.name: 0.0 for c in site.circuits}
    for p in site.loadpoints:
        a = commands[p.name]
        chain = circuits_above(site, p)
        if chain is None:
            assert a == 0.0, (p.name, a, "under an unknown circuit")
            continue
        for name in chain:
            load[name] += a
    for c in site.circuits:
        assert load[c.name] <= max(c.max_a, 0.0) + eps, (c.name, load[c.name], c.max_a, commands)
    if site.wiring_limit_a is not None:
        assert sum(commands.values()) <= max(site.wiring_limit_a, 0.0) + eps, (commands, site.wiring_limit_a)


def check(site: SiteParams, events_: list[Event]) -> None:
    limits = build_limits(site)
    c = Controller(site)
    names = [p.name for p in site.loadpoints]
    by_name: dict[str, LoadpointParams] = {p.name: p for p in site.loadpoints}
    chargers: dict[str, ChargerReading] = {}
    now = 0.0
    for ev in events_:
        if isinstance(ev, Advance):
            now += ev.dt_s
            continue
        if isinstance(ev, Site):
            c.on_site_reading(
                SiteReading(now - ev.age_s, ev.grid_w, ev.pv_w, ev.battery_w, ev.soc, ev.voltage_v)
            )
            continue
        if isinstance(ev, Charger):
            name = names[ev.index % len(names)]
            reading = ChargerReading(
                t_s=now - ev.age_s,
                connected=ev.connected,
                charging=ev.connected,
                actual_a=ev.actual_a,
                power_w=ev.power_w,
                voltage_v=ev.voltage_v,
                online=ev.online,
            )
            chargers[name] = reading
            c.on_charger_reading(name, reading)
            continue
        if isinstance(ev, SetMode):
            c.set_mode(names[ev.index % len(names)], ev.mode)
            continue
        if isinstance(ev, SetRange):
            name = names[ev.index % len(names)]
            before = c.current_range(name)
            try:
                c.set_current_range(name, ev.min_a, ev.max_a)
            except ValueError:
                assert c.current_range(name) == before  # a refused range changes nothing
            else:
                base = by_name[name]
                assert base.min_a - 1e-9 <= ev.min_a <= ev.max_a + 1e-9 <= base.max_a + 2e-9
            continue
        d = c.step(now)
        commands = {x.name: x.current_a for x in d.loadpoints}
        assert set(commands) == set(names)
        assert violations(limits, commands) == 0.0, (commands, d)
        assert_sums_within_limits(site, commands)
        for name, a in commands.items():
            p = by_name[name]
            assert math.isfinite(a) and a >= 0.0
            if a == 0.0:
                continue
            ceiling = p.max_a if p.charger_max_a is None else min(p.max_a, p.charger_max_a)
            assert p.min_a - 1e-9 <= a <= ceiling + 1e-9, (name, a, p)
            run_min, run_max = c.current_range(name)  # the run-time range is a hard limit too
            assert a <= run_max + 1e-9, (name, a, run_max)
            assert abs(a / p.step_a - round(a / p.step_a)) < 1e-6, (name, a, p.step_a)
            # Mode rules: nothing for 'off', unplugged or offline chargers; failsafe stops 'pv'
            # and holds 'minpv' at its minimum.
            mode = c.mode_of(name)
            reading = chargers.get(name)
            assert mode is not Mode.OFF, (name, a)
            assert reading is not None and reading.connected and reading.online, (name, a, reading)
            if d.failsafe and mode is Mode.PV:
                raise AssertionError(f"{name}: {a} A in pv mode during failsafe")
            if d.failsafe and mode is Mode.MINPV:  # holds the minimum in force (the user may have raised it)
                assert a <= run_min + 1e-9, (name, a, run_min)


@settings(max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=sites(), events_=st.lists(events, min_size=1, max_size=30))
def test_commands_never_exceed_any_limit(site: SiteParams, events_: list[Event]) -> None:
    check(site, [*events_, Step()])


#: Long runs on plausible data, where the control law really charges, holds and stops (not only
#: junk). The events come from a seeded generator: cheap enough for long sequences, reproducible
#: from the seed hypothesis reports.
def plausible_events(rng: random.Random, n_lp: int, n: int) -> list[Event]:
    out: list[Event] = []
    surplus = rng.uniform(-3_000.0, 12_000.0)
    drawn = [0.0] * n_lp
    for _ in range(n):
        r = rng.random()
        if r < 0.30:
            out.append(Advance(rng.choice([1.0, 2.0, 5.0, 10.0, 40.0])))
        elif r < 0.55:
            surplus += rng.gauss(0.0, 1_500.0)
            ev_w = sum(drawn) * 230.0
            battery = rng.choice([None, rng.uniform(-3_000.0, 3_000.0)])
            volts_ = rng.choice([None, rng.uniform(200.0, 250.0)])
            out.append(
                Site(
                    rng.choice([0.0, 0.0, 0.0, 2.0, 45.0]),
                    -surplus + ev_w,
                    None,
                    battery,
                    rng.uniform(0, 100),
                    volts_,
                )
            )
        elif r < 0.80:
            i = rng.randrange(n_lp)
            drawn[i] = max(0.0, rng.uniform(-2.0, 32.0))
            out.append(Charger(i, 0.0, rng.random() < 0.95, True, drawn[i], None, None))
        elif r < 0.97:
            out.append(Step())
        elif r < 0.985:
            out.append(SetMode(rng.randrange(n_lp), rng.choice(list(Mode))))
        else:
            lo = rng.uniform(0.0, 20.0)
            out.append(SetRange(rng.randrange(n_lp), lo, lo + rng.uniform(0.0, 20.0)))
    return out


@settings(max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site=sites(), seed=st.integers(0, 2**32 - 1), n=st.integers(20, 200))
def test_commands_never_exceed_any_limit_on_plausible_days(site: SiteParams, seed: int, n: int) -> None:
    events_ = plausible_events(random.Random(seed), len(site.loadpoints), n)
    check(site, [*events_, Step()])
