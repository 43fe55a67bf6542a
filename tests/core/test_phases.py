"""Table tests of 1p/3p switching: the pure rule (:mod:`ecotrack.core.phases`) and the controller using it."""

from __future__ import annotations

import dataclasses

import pytest

from ecotrack.core.control import Controller
from ecotrack.core.model import ChargerReading, LoadpointParams, Mode, PhaseSwitching, SiteParams, SiteReading
from ecotrack.core.phases import (
    PhaseInputs,
    PhaseStage,
    PhaseState,
    initial_phase_state,
    phase_step,
    three_phase_min_w,
)

T = PhaseSwitching(up_delay_s=60.0, down_delay_s=60.0, interval_s=300.0, confirm_timeout_s=30.0)
MIN3 = three_phase_min_w(6.0, 230.0)  # 4140 W


def inp(
    now: float,
    avail: float | None,
    *,
    choice: int | None = None,
    measured: float = 0.0,
    reported: int | None = None,
    active: bool = True,
) -> PhaseInputs:
    return PhaseInputs(now, choice, avail, active, 6.0, 230.0, measured, reported)


def run(state: PhaseState, steps: list[PhaseInputs]) -> PhaseState:
    for s in steps:
        state = phase_step(state, T, s)
    return state


def test_three_phase_minimum_is_4140_w_at_6_a() -> None:
    assert pytest.approx(4140.0) == MIN3


@pytest.mark.parametrize(
    ("start", "avail", "held_s", "expect_stage", "expect_target"),
    [
        # 1p: surplus above the 3p minimum for the whole up delay -> pause to switch up
        (1, 4200.0, 60.0, PhaseStage.PAUSING, 3),
        # ... but not a second short of it
        (1, 4200.0, 59.0, PhaseStage.STEADY, 1),
        # 1p: surplus just below the 3p minimum never switches up
        (1, 4139.0, 600.0, PhaseStage.STEADY, 1),
        # 3p: surplus below the 3p minimum for the down delay -> switch down
        (3, 3000.0, 60.0, PhaseStage.PAUSING, 1),
        (3, 3000.0, 30.0, PhaseStage.STEADY, 3),
        # 3p: enough for 3 phases stays
        (3, 5000.0, 600.0, PhaseStage.STEADY, 3),
    ],
)
def test_auto_rule(
    start: int, avail: float, held_s: float, expect_stage: PhaseStage, expect_target: int
) -> None:
    state = run(initial_phase_state(start), [inp(t, avail) for t in range(0, int(held_s) + 1)])
    assert state.stage is expect_stage
    assert state.target == expect_target
    assert state.pausing == (expect_stage is not PhaseStage.STEADY)


def test_a_single_reading_on_the_other_side_restarts_the_timer() -> None:
    steps = (
        [inp(t, 4200.0) for t in range(0, 50)] + [inp(50, 4000.0)] + [inp(t, 4200.0) for t in range(51, 100)]
    )
    assert run(initial_phase_state(1), steps).stage is PhaseStage.STEADY


@pytest.mark.parametrize("avail", [None, float("nan")])
def test_unknown_surplus_stops_the_timers(avail: float | None) -> None:
    steps = (
        [inp(t, 4200.0) for t in range(0, 50)] + [inp(50, avail)] + [inp(t, 4200.0) for t in range(51, 100)]
    )
    assert run(initial_phase_state(1), steps).stage is PhaseStage.STEADY


def test_timers_hold_while_the_charger_follows_a_command() -> None:
    # just after a start the meter sees the car, its report does not yet: the surplus reads low
    state = run(initial_phase_state(3), [inp(t, 5000.0) for t in range(0, 10)])
    settling = [dataclasses.replace(inp(t, 2000.0), settling=True) for t in range(10, 200)]
    state = run(state, settling)
    assert state.stage is PhaseStage.STEADY and state.phases == 3


def test_no_car_no_switch() -> None:
    assert (
        run(initial_phase_state(1), [inp(t, 9000.0, active=False) for t in range(200)]).stage
        is PhaseStage.STEADY
    )


def full_switch(state: PhaseState, now: float, target: int) -> PhaseState:
    state = phase_step(state, T, inp(now, None, measured=0.0, reported=state.phases))  # 0 A confirmed
    assert state.stage is PhaseStage.SWITCHING and state.requested == target
    state = phase_step(state, T, inp(now + 1, None, reported=target))
    assert state.stage is PhaseStage.STEADY and state.phases == target
    return state


def test_sequence_pause_confirm_switch_confirm_resume() -> None:
    state = run(initial_phase_state(1), [inp(t, 5000.0, measured=8.0) for t in range(61)])
    assert state.stage is PhaseStage.PAUSING and state.requested == 1  # the charger is not told yet
    # the car still draws: it stays paused, no switch yet
    state = phase_step(state, T, inp(62, 5000.0, measured=3.0, reported=1))
    assert state.stage is PhaseStage.PAUSING
    state = phase_step(state, T, inp(63, 5000.0, measured=0.0, reported=1))
    assert state.stage is PhaseStage.SWITCHING and state.requested == 3 and state.phases == 1
    # until the charger reports 3 phases, power is still computed with 1
    state = phase_step(state, T, inp(64, 5000.0, reported=1))
    assert state.stage is PhaseStage.SWITCHING and state.phases == 1
    state = phase_step(state, T, inp(65, 5000.0, reported=3))
    assert state.stage is PhaseStage.STEADY and state.phases == 3 and not state.pausing
    assert state.switches == 1


def test_interval_between_switches() -> None:
    state = run(initial_phase_state(1), [inp(t, 5000.0) for t in range(61)])
    state = full_switch(state, 61, 3)
    # the surplus collapses at once: the down delay passes at 122 s but the interval holds until 360 s
    state = run(state, [inp(t, 1000.0) for t in range(63, 359)])
    assert state.stage is PhaseStage.STEADY and state.phases == 3
    state = phase_step(state, T, inp(360, 1000.0))
    assert state.stage is PhaseStage.PAUSING and state.target == 1


def test_user_choice_switches_at_once_and_holds() -> None:
    state = phase_step(initial_phase_state(1), T, inp(0, 500.0, choice=3))
    assert state.stage is PhaseStage.PAUSING and state.target == 3
    state = full_switch(state, 1, 3)
    # fixed on 3: no surplus makes it switch down
    assert run(state, [inp(t, 100.0, choice=3) for t in range(3, 1000)]).phases == 3


@pytest.mark.parametrize(
    ("stage_input", "why"),
    [
        (inp(100, None, measured=7.0, reported=1), "still drew"),  # never reaches 0 A
        (inp(100, None, measured=0.0, reported=1), "did not confirm"),  # never reports 3 phases
    ],
)
def test_charger_that_does_not_confirm_aborts(stage_input: PhaseInputs, why: str) -> None:
    state = phase_step(initial_phase_state(1), T, inp(0, 500.0, choice=3))
    for t in range(1, 100):
        state = phase_step(state, T, dataclasses.replace(stage_input, now_s=float(t)))
    state = phase_step(state, T, stage_input)
    assert state.stage is PhaseStage.STEADY and state.phases == 1 and why in state.note


# ------------------------------------------------------------------ the controller


def controller(phases: int = 1) -> Controller:
    lp = LoadpointParams(
        name="lp", min_a=6.0, max_a=16.0, phases=phases, mode=Mode.PV, enable_delay_s=0.0, phase_switching=T
    )
    return Controller(SiteParams(loadpoints=(lp,)))


def feed(c: Controller, t: float, grid_w: float, actual_a: float, phases: int) -> tuple[float, int | None]:
    c.on_charger_reading(
        "lp",
        ChargerReading(
            t_s=t, connected=True, charging=actual_a > 0, actual_a=actual_a, voltage_v=230.0, phases=phases
        ),
    )
    c.on_site_reading(SiteReading(t_s=t, grid_w=grid_w, voltage_v=230.0))
    d = c.step(t).loadpoints[0]
    return d.current_a, d.phases


def test_controller_switches_up_through_a_pause_and_resumes_on_three_phases() -> None:
    c = controller(1)
    # 5.68 kW of surplus; a car drawing 16 A on one phase leaves 2 kW exported
    seen: list[tuple[float, int | None]] = []
    phases, actual = 1, 16.0
    for t in range(0, 200, 2):
        amps, asked = feed(c, float(t), -5680.0 + actual * phases * 230.0, actual, phases)
        seen.append((amps, asked))
        actual = min(actual, amps)  # the car never draws above the offer
        if asked is not None and asked != phases and actual == 0.0:
            phases = asked  # the charger switches once the car is at 0 A
        if amps > 0 and actual == 0.0 and phases == asked:
            actual = amps
    assert c.phases_of("lp") == 3
    # it went through 0 A, and was told 3 phases only while at 0 A
    first_three = next(i for i, (_, p) in enumerate(seen) if p == 3)
    assert seen[first_three][0] == 0.0
    assert seen[-1][0] > 0.0 and seen[-1][1] == 3
    # on 3 phases 5.68 kW is 8 A per phase (not 16 + x)
    assert seen[-1][0] == 8.0


def test_controller_keeps_the_charge_enabled_through_the_pause() -> None:
    c = controller(1)
    c.set_phase_choice("lp", 3)
    amps, asked = feed(c, 0.0, -4000.0, 0.0, 1)
    assert amps == 0.0 and asked == 1  # pausing: not told yet (the car is at 0 A already)
    status = c.step(0.0).loadpoints[0].status
    assert status == "switching-phases"
    amps, asked = feed(c, 2.0, -4000.0, 0.0, 1)
    assert asked == 3 and amps == 0.0
    amps, asked = feed(c, 4.0, -4000.0, 0.0, 3)
    # confirmed: the switch ends on this step, the charge resumes on the next
    amps, asked = feed(c, 6.0, -4500.0, 0.0, 3)
    assert asked == 3 and amps == 6.0


def test_set_phase_choice_rejects_nonsense() -> None:
    c = controller()
    with pytest.raises(ValueError, match="1, 3 or auto"):
        c.set_phase_choice("lp", 2)
    fixed = Controller(SiteParams(loadpoints=(LoadpointParams(name="x"),)))
    with pytest.raises(ValueError, match="cannot switch"):
        fixed.set_phase_choice("x", 3)
    assert fixed.step(0.0).loadpoints[0].phases is None
