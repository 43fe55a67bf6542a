"""What no controller can beat: the start/grid trade-off that a day's dips impose.

A *dip* is a stretch where the surplus is below the charger's minimum power,
between two stretches where it is enough. A controller in ``pv`` mode that
wants the solar on both sides of a dip must either keep charging at the minimum
through it (and pull at least ``sum(min_w - max(surplus, 0))`` from the grid)
or stop and start again (one more start). A clairvoyant controller that knows
every dip's cost rides the cheapest ones first; its frontier - fewest starts
for a given grid energy - is the reference the real control law is measured
against in ``docs/benchmarks.md``. (A controller can also skip a sunny stretch
altogether, trading solar instead of starts; the frontier ignores that option,
so it describes controllers that take the solar of every stretch.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ecotrack.world.trace import FloatArray


@dataclass(frozen=True, slots=True)
class Dip:
    """One dip: where it starts (s since trace start), how long it lasts, what riding it costs."""

    start_s: int
    duration_s: int
    ride_cost_wh: float


def find_dips(surplus_w: FloatArray, min_w: float) -> list[Dip]:
    """Dips of a per-second surplus series (only those with enough surplus on both sides)."""
    ok = surplus_w >= min_w
    if len(ok) == 0:
        return []
    edges = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
    bounds = np.concatenate(([0], edges, [len(ok)]))
    dips: list[Dip] = []
    for i in range(1, len(bounds) - 2):
        a, b = int(bounds[i]), int(bounds[i + 1])
        if ok[a]:
            continue
        deficit = np.maximum(min_w - np.maximum(surplus_w[a:b], 0.0), 0.0)
        dips.append(Dip(a, b - a, float(deficit.sum()) / 3600.0))
    return dips


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    """Riding every dip that costs at most ``ride_up_to_wh``: the stops left and the grid paid."""

    ride_up_to_wh: float
    stopped_dips: int
    grid_kwh: float


def clairvoyant_frontier(dips: Iterable[Dip], budgets_wh: Sequence[float]) -> list[FrontierPoint]:
    """The clairvoyant trade-off for each per-dip budget in ``budgets_wh``."""
    costs = np.sort(np.array([d.ride_cost_wh for d in dips], dtype=np.float64))
    points = []
    for budget in budgets_wh:
        ridden = costs[costs <= budget]
        points.append(FrontierPoint(budget, int(len(costs) - len(ridden)), float(ridden.sum()) / 1000.0))
    return points


def min_grid_for_stops(dips: Iterable[Dip], max_stopped: int) -> float:
    """Least grid energy (kWh) any controller that takes every sunny stretch pays with at most ``max_stopped`` stops inside dips."""
    costs = np.sort(np.array([d.ride_cost_wh for d in dips], dtype=np.float64))
    must_ride = max(len(costs) - max(max_stopped, 0), 0)
    return float(costs[:must_ride].sum()) / 1000.0


def first_starts(surplus_w: FloatArray, min_w: float) -> int:
    """Starts any controller taking the day's solar needs before its first dip: 1 when any second has enough surplus."""
    return int(bool(len(surplus_w)) and bool(np.any(surplus_w >= min_w)))


def frontier_grid_kwh(surplus_w: FloatArray, min_w: float, starts: int) -> float:
    """The clairvoyant frontier's grid energy (kWh) for one trace at a run's own number of ``starts``.

    The least grid energy into the car of any controller that takes every sunny stretch of ``surplus_w`` and
    starts at most ``starts`` times: ``starts`` minus the first start is the number of dips it may stop in;
    it rides the cheapest of the others. (A run with fewer starts than the day needs, e.g. none, is held to
    riding every dip; such a run skipped sunny stretches and gave up their solar instead.)
    """
    return min_grid_for_stops(find_dips(surplus_w, min_w), starts - first_starts(surplus_w, min_w))


@dataclass(frozen=True, slots=True)
class DayDips:
    """One trace's dips and the first starts it needs (to pool the frontier over several days)."""

    name: str
    dips: tuple[Dip, ...]
    first_starts: int


def day_dips(name: str, surplus_w: FloatArray, min_w: float) -> DayDips:
    """The dips and first starts of one trace's per-second surplus."""
    return DayDips(name, tuple(find_dips(surplus_w, min_w)), first_starts(surplus_w, min_w))


def pooled_frontier_grid_kwh(days: Iterable[DayDips], starts: int) -> float:
    """The clairvoyant frontier over several days at ``starts`` starts in all.

    The dips of all days are pooled, so the clairvoyant controller spends its stops where they save the
    most grid energy, whichever day that is (at most the sum of the per-day frontiers at the same starts).
    """
    pooled = list(days)
    dips = [d for day in pooled for d in day.dips]
    return min_grid_for_stops(dips, starts - sum(day.first_starts for day in pooled))
