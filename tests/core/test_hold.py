"""The hold-through-a-dip rule (ecotrack.core.hold), as a table."""

from __future__ import annotations

import pytest

from ecotrack.core.hold import hold_verdict


@pytest.mark.parametrize(
    ("deficit_wh", "solar_wh", "held_s", "credit", "keep", "budget_wh", "why"),
    [
        (0.0, 0.0, 0.0, 0.0, True, 30.0, ""),  # the dip just began
        (30.0, 0.0, 100.0, 0.0, True, 30.0, ""),  # exactly the budget: still holding
        (30.1, 0.0, 100.0, 0.0, False, 30.0, "energy"),  # over the budget, no credit
        (30.1, 40.0, 100.0, 0.25, True, 40.0, ""),  # 40 Wh of solar taken buy 10 Wh more
        (40.1, 40.0, 100.0, 0.25, False, 40.0, "energy"),
        (5.0, 500.0, 600.0, 0.25, False, 155.0, "time"),  # a shallow dip still ends at the time cap
        (5.0, 500.0, 599.0, 0.25, True, 155.0, ""),
        (31.0, 40.0, 10.0, -1.0, False, 30.0, "energy"),  # a negative credit counts as none
        (31.0, -40.0, 10.0, 0.5, False, 30.0, "energy"),  # so does negative solar
    ],
)
def test_hold_verdict(
    deficit_wh: float, solar_wh: float, held_s: float, credit: float, keep: bool, budget_wh: float, why: str
) -> None:
    v = hold_verdict(
        deficit_wh=deficit_wh,
        solar_wh=solar_wh,
        held_s=held_s,
        budget_wh=30.0,
        solar_credit=credit,
        max_hold_s=600.0,
    )
    assert (v.keep, v.why) == (keep, why)
    assert v.budget_wh == pytest.approx(budget_wh)
