"""1p/3p phase switching of one loadpoint: when to switch, and the pause-switch-resume sequence.

On a 3-phase site a car charging on three phases needs at least ``3 x 230 V x min_a`` (4.1 kW at 6 A);
on one phase 1.4 kW. A charger with a contactor for two of the phases can switch, so the loadpoint
charges on one phase while the surplus is small and on three when it is large.

The rule (``auto``): switch up when the surplus for this loadpoint has stayed at or above the 3-phase
minimum for ``up_delay_s``; down when it has stayed below it for ``down_delay_s``; never two switches
closer than ``interval_s``. A user's ``1`` or ``3`` switches at once (still through the sequence).

The sequence (IEC 61851-1 forbids moving the contactor under load):

1. ``pausing``: the charger is offered 0 A until it measures at most ``zero_tolerance_a``;
2. ``switching``: the charger is told the new phase count until it reports using it;
3. back to ``steady`` on the new count; the control law resumes the charge.

A charger that does not confirm within ``confirm_timeout_s`` aborts the switch: the loadpoint stays on
the phase count the charger reports (or the old one), and the interval starts again. Everything here is
pure: a :class:`PhaseState` in, a new one out; the caller holds it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum

from ecotrack.core.model import PhaseSwitching

__all__ = [
    "PhaseInputs",
    "PhaseStage",
    "PhaseState",
    "initial_phase_state",
    "phase_step",
    "three_phase_min_w",
]


class PhaseStage(StrEnum):
    """Where a loadpoint is in the switch sequence."""

    STEADY = "steady"  #: charging (or ready to) on ``phases``
    PAUSING = "pausing"  #: offered 0 A, waiting for the charger to measure 0 A
    SWITCHING = "switching"  #: told ``target`` phases, waiting for the charger to report them


@dataclass(frozen=True, slots=True)
class PhaseState:
    """The switcher's memory for one loadpoint."""

    #: Phases the charger uses (confirmed): what power and limits are computed with.
    phases: int
    stage: PhaseStage = PhaseStage.STEADY
    #: The phase count being switched to (equal to ``phases`` when steady).
    target: int = 1
    #: Clock time the current stage began.
    stage_since_s: float = 0.0
    #: Clock time the last switch began (for the interval), -inf before the first.
    last_switch_s: float = -math.inf
    #: Since when the surplus has held above (or below) the 3-phase minimum; None: it has not.
    above_since_s: float | None = None
    below_since_s: float | None = None
    #: Switches started so far (for the simulator's figures and /metrics).
    switches: int = 0
    #: Why the last switch ended as it did (a sentence for the UI), or "".
    note: str = ""

    @property
    def pausing(self) -> bool:
        """The charger must be offered 0 A now."""
        return self.stage is not PhaseStage.STEADY

    @property
    def requested(self) -> int:
        """The phase count the charger should be told to use."""
        return self.target if self.stage is PhaseStage.SWITCHING else self.phases


@dataclass(frozen=True, slots=True)
class PhaseInputs:
    """What the switcher sees at one step."""

    now_s: float
    #: The user's choice: 1 or 3 (fixed) or None (auto).
    choice: int | None
    #: Surplus available to this loadpoint including its car's own power (W); None: unknown (stale meter,
    #: mode that does not follow the surplus), which stops the timers.
    available_w: float | None
    #: A car is connected to an online charger (no switching for nobody).
    active: bool
    min_a: float
    voltage_v: float
    #: The charger's measured current (A per phase).
    measured_a: float
    #: The phase count the charger reports using, or None.
    reported_phases: int | None
    #: The charger has not yet followed its last command (just started or raised): the meter already
    #: sees the car's new current but its report does not, so the surplus reads low. The timers hold.
    settling: bool = False


def three_phase_min_w(min_a: float, voltage_v: float) -> float:
    """The least power a car charges with on three phases (W)."""
    return 3.0 * voltage_v * min_a


def initial_phase_state(phases: int) -> PhaseState:
    """A loadpoint starting steady on ``phases`` (1 or 3)."""
    n = 3 if phases >= 3 else 1
    return PhaseState(phases=n, target=n)


def _begin(state: PhaseState, target: int, now_s: float) -> PhaseState:
    return dataclasses.replace(
        state,
        stage=PhaseStage.PAUSING,
        target=target,
        stage_since_s=now_s,
        last_switch_s=now_s,
        above_since_s=None,
        below_since_s=None,
        switches=state.switches + 1,
        note="",
    )


def _abort(state: PhaseState, now_s: float, reported: int | None, why: str) -> PhaseState:
    phases = reported if reported in (1, 3) else state.phases
    return dataclasses.replace(
        state, stage=PhaseStage.STEADY, phases=phases, target=phases, stage_since_s=now_s, note=why
    )


def phase_step(state: PhaseState, timing: PhaseSwitching, inputs: PhaseInputs) -> PhaseState:
    """Advance the switcher by one step (see the module docstring)."""
    now = inputs.now_s
    if state.stage is PhaseStage.PAUSING:
        if inputs.measured_a <= timing.zero_tolerance_a:
            return dataclasses.replace(state, stage=PhaseStage.SWITCHING, stage_since_s=now)
        if now - state.stage_since_s >= timing.confirm_timeout_s:
            return _abort(
                state, now, None, f"charger still drew {inputs.measured_a:g} A after 0 A; switch aborted"
            )
        return state
    if state.stage is PhaseStage.SWITCHING:
        if inputs.reported_phases == state.target:
            return dataclasses.replace(
                state, stage=PhaseStage.STEADY, phases=state.target, stage_since_s=now, note=""
            )
        if now - state.stage_since_s >= timing.confirm_timeout_s:
            return _abort(
                state,
                now,
                inputs.reported_phases,
                f"charger did not confirm {state.target} phase(s); switch aborted",
            )
        return state
    # steady
    if inputs.reported_phases in (1, 3) and inputs.reported_phases != state.phases:
        # The charger knows best (at start-up, or its contactor was moved by hand): take its count.
        n = inputs.reported_phases
        return dataclasses.replace(state, phases=n, target=n, above_since_s=None, below_since_s=None)
    if inputs.choice in (1, 3):
        if inputs.choice != state.phases:
            return _begin(state, inputs.choice, now)
        return dataclasses.replace(state, above_since_s=None, below_since_s=None)
    if not inputs.active or inputs.available_w is None or not math.isfinite(inputs.available_w):
        return dataclasses.replace(state, above_since_s=None, below_since_s=None)
    if inputs.settling:
        return state
    need_w = three_phase_min_w(inputs.min_a, inputs.voltage_v)
    above = inputs.available_w >= need_w
    above_since = (state.above_since_s if state.above_since_s is not None else now) if above else None
    below_since = None if above else (state.below_since_s if state.below_since_s is not None else now)
    state = dataclasses.replace(state, above_since_s=above_since, below_since_s=below_since)
    if now - state.last_switch_s < timing.interval_s:
        return state
    if state.phases == 1 and above_since is not None and now - above_since >= timing.up_delay_s:
        return _begin(state, 3, now)
    if state.phases == 3 and below_since is not None and now - below_since >= timing.down_delay_s:
        return _begin(state, 1, now)
    return state
