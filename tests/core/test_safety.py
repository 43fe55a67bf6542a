"""The safety clamp: no command above a charger's, a circuit's or the wiring's limit, ever."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.core.model import CircuitParams, LoadpointParams, SiteParams
from ecotrack.core.safety import build_limits, clamp, violations


def lp(name: str, **kw: object) -> LoadpointParams:
    base: dict[str, object] = {"min_a": 6.0, "max_a": 32.0, "phases": 1, "step_a": 1.0}
    base.update(kw)
    return LoadpointParams(name=name, **base)  # type: ignore[arg-type]


def site(
    *lps: LoadpointParams, circuits: tuple[CircuitParams, ...] = (), wiring: float | None = None
) -> SiteParams:
    return SiteParams(loadpoints=lps, circuits=circuits, wiring_limit_a=wiring)


def test_loadpoint_max() -> None:
    limits = build_limits(site(lp("a", max_a=16.0)))
    assert clamp(limits, {"a": 40.0}) == {"a": 16.0}
    assert violations(limits, {"a": 16.0}) == 0.0
    assert violations(limits, {"a": 18.5}) == pytest.approx(2.5)


def test_charger_max_below_loadpoint_max() -> None:
    limits = build_limits(site(lp("a", max_a=32.0, charger_max_a=13.0)))
    assert clamp(limits, {"a": 32.0}) == {"a": 13.0}
    assert violations(limits, {"a": 14.0}) == pytest.approx(1.0)


def test_charger_max_below_min_means_off() -> None:
    limits = build_limits(site(lp("a", min_a=6.0, charger_max_a=5.0)))
    assert clamp(limits, {"a": 16.0}) == {"a": 0.0}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -3.0, 0.0])
def test_bad_requests_become_zero(bad: float) -> None:
    limits = build_limits(site(lp("a")))
    assert clamp(limits, {"a": bad}) == {"a": 0.0}


def test_missing_loadpoint_gets_zero() -> None:
    limits = build_limits(site(lp("a"), lp("b")))
    assert clamp(limits, {"a": 10.0}) == {"a": 10.0, "b": 0.0}


def test_rounds_down_onto_the_step() -> None:
    limits = build_limits(site(lp("whole", step_a=1.0), lp("tenth", step_a=0.1)))
    got = clamp(limits, {"whole": 9.99, "tenth": 9.99})
    assert got["whole"] == 9.0
    assert got["tenth"] == pytest.approx(9.9)


def test_nested_circuits_cap_the_sum() -> None:
    circuits = (
        CircuitParams("main", 40.0),
        CircuitParams("garage", 20.0, parent="main"),
        CircuitParams("carport", 25.0, parent="main"),
    )
    s = site(
        lp("g1", circuit="garage", priority=2),
        lp("g2", circuit="garage", priority=1),
        lp("c1", circuit="carport", priority=0),
        circuits=circuits,
    )
    limits = build_limits(s)
    got = clamp(limits, {"g1": 16.0, "g2": 16.0, "c1": 32.0})
    # garage: g1 takes 16, g2 only 4 (< min 6) -> off; main: 40 - 16 = 24 left for c1 (carport allows 25).
    assert got == {"g1": 16.0, "g2": 0.0, "c1": 24.0}
    assert violations(limits, got) == 0.0
    assert violations(limits, {"g1": 12.0, "g2": 12.0, "c1": 0.0}) == pytest.approx(4.0)
    assert violations(limits, {"g1": 16.0, "g2": 0.0, "c1": 25.0}) == pytest.approx(1.0)


def test_wiring_limit_caps_the_total() -> None:
    limits = build_limits(site(lp("a", priority=1), lp("b"), wiring=20.0))
    got = clamp(limits, {"a": 12.0, "b": 12.0})
    assert got == {"a": 12.0, "b": 8.0}
    assert violations(limits, {"a": 12.0, "b": 12.0}) == pytest.approx(4.0)


def test_cuts_lowest_priority_first_then_by_name() -> None:
    limits = build_limits(site(lp("z_high", priority=3), lp("a_low"), lp("b_low"), wiring=22.0))
    got = clamp(limits, {"z_high": 10.0, "a_low": 10.0, "b_low": 10.0})
    assert got == {"z_high": 10.0, "a_low": 10.0, "b_low": 0.0}  # b_low would get 2 A < min


def test_unknown_circuit_allows_nothing() -> None:
    limits = build_limits(site(lp("a", circuit="nowhere")))
    assert clamp(limits, {"a": 16.0}) == {"a": 0.0}
    assert violations(limits, {"a": 6.0}) == pytest.approx(6.0)


def test_unknown_parent_allows_nothing() -> None:
    limits = build_limits(
        site(lp("a", circuit="sub"), circuits=(CircuitParams("sub", 32.0, parent="ghost"),))
    )
    assert clamp(limits, {"a": 16.0}) == {"a": 0.0}


@pytest.mark.timeout(5)
def test_circuit_cycle_does_not_hang_and_still_limits() -> None:
    circuits = (CircuitParams("x", 20.0, parent="y"), CircuitParams("y", 10.0, parent="x"))
    limits = build_limits(site(lp("a", circuit="x"), circuits=circuits))
    assert clamp(limits, {"a": 16.0}) == {"a": 10.0}


@pytest.mark.parametrize("bad", [math.nan, -5.0])
def test_broken_limits_allow_nothing(bad: float) -> None:
    limits = build_limits(site(lp("a", circuit="c"), circuits=(CircuitParams("c", bad),)))
    assert clamp(limits, {"a": 16.0}) == {"a": 0.0}
    limits = build_limits(site(lp("a"), wiring=bad))
    assert clamp(limits, {"a": 16.0}) == {"a": 0.0}


def test_violations_of_garbage_commands_are_infinite() -> None:
    limits = build_limits(site(lp("a")))
    assert violations(limits, {"a": math.nan}) == math.inf
    assert violations(limits, {"a": -1.0}) == math.inf


def test_tenth_amp_sums_are_not_violations() -> None:
    limits = build_limits(site(*(lp(f"l{i}", step_a=0.1) for i in range(3)), wiring=0.3 * 70))
    assert violations(limits, {"l0": 7.0, "l1": 7.0, "l2": 7.0}) == 0.0


@st.composite
def sites_and_requests(draw: st.DrawFn) -> tuple[SiteParams, dict[str, float]]:
    n_circ = draw(st.integers(0, 3))
    circuits = []
    for i in range(n_circ):
        parent = draw(st.sampled_from([None, *[c.name for c in circuits]]))
        circuits.append(CircuitParams(f"c{i}", draw(st.floats(0.0, 63.0)), parent=parent))
    lps = []
    for i in range(draw(st.integers(1, 4))):
        lo = draw(st.sampled_from([0.0, 1.0, 6.0, 6.5, 10.0]))
        lps.append(
            lp(
                f"lp{i}",
                min_a=lo,
                max_a=lo + draw(st.floats(0.0, 40.0)),
                priority=draw(st.integers(0, 2)),
                step_a=draw(st.sampled_from([1.0, 0.1])),
                charger_max_a=draw(st.none() | st.floats(0.0, 40.0)),
                circuit=draw(st.sampled_from([None, *[c.name for c in circuits]])),
            )
        )
    wiring = draw(st.none() | st.floats(0.0, 80.0))
    requests = {p.name: draw(st.floats(allow_nan=True, allow_infinity=True)) for p in lps}
    return site(*lps, circuits=tuple(circuits), wiring=wiring), requests


@settings(max_examples=600)
@given(case=sites_and_requests())
def test_clamp_output_never_violates(case: tuple[SiteParams, dict[str, float]]) -> None:
    s, requests = case
    limits = build_limits(s)
    got = clamp(limits, requests)
    assert violations(limits, got) == 0.0
    for p in s.loadpoints:
        amps = got[p.name]
        assert amps == 0.0 or (p.min_a <= amps and amps / p.step_a == pytest.approx(round(amps / p.step_a)))
        want = requests[p.name]
        assert amps <= (want if math.isfinite(want) and want > 0 else 0.0) + 1e-9
