"""When a charging car in ``pv`` mode stops holding its minimum through a dip in surplus.

A dip (surplus below the charger's minimum power) forces a choice: keep the car at its minimum and pay
the difference from the grid, or stop and pay a start later. Nobody knows in advance how long a dip
lasts, so the rule is a budget (ski rental): hold while the grid energy spent on this dip stays within
``disable_energy_wh`` and for at most ``disable_delay_s``.

The budget grows with the solar the hold itself harvests (``disable_solar_credit``): while holding at
the minimum the car still takes whatever surplus there is, so a shallow dip (a thin cloud, a small
load) is mostly solar and stopping in it throws that solar away as well as a start; a deep dip (a
thick cloud, a kettle on a clear day) is mostly grid and is given up within seconds. With the
default budget of 0 Wh and a credit of 0.3, every 10 Wh of solar taken during the hold buys 3 Wh of grid
before the car stops. Chosen by leave-one-day-out cross-validation over the recorded days
(``bench/tracking.py --loo``, ``docs/benchmarks.md``).

Pure: plain numbers in, a verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HoldVerdict", "hold_verdict"]


@dataclass(frozen=True, slots=True)
class HoldVerdict:
    """Whether to keep holding, and the grid budget the verdict was measured against (Wh)."""

    keep: bool
    budget_wh: float
    #: ``"energy"`` or ``"time"`` when ``keep`` is False: which limit ended the hold.
    why: str = ""


def hold_verdict(
    *,
    deficit_wh: float,
    solar_wh: float,
    held_s: float,
    budget_wh: float,
    solar_credit: float,
    max_hold_s: float,
) -> HoldVerdict:
    """Keep a car at its minimum through a dip, or stop it.

    ``deficit_wh`` is the grid energy the hold has cost so far (net of paybacks), ``solar_wh`` the solar
    the car took while holding, ``held_s`` how long the surplus has been short. The hold ends when the
    deficit exceeds ``budget_wh + solar_credit * solar_wh`` or the dip has lasted ``max_hold_s``.
    """
    budget = budget_wh + max(solar_credit, 0.0) * max(solar_wh, 0.0)
    if deficit_wh > budget:
        return HoldVerdict(False, budget, "energy")
    if held_s >= max_hold_s:
        return HoldVerdict(False, budget, "time")
    return HoldVerdict(True, budget)
