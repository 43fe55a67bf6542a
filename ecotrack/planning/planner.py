"""Plan "N kWh by T": use expected surplus first, buy the rest in the cheapest slots, say when it cannot work.

The time until the deadline is cut into slots (at every price change and every ``slot_s``). In each slot
the car can take at most ``max_power_w × duration``; expected surplus there (when a forecast is given)
costs the feed-in price it would otherwise earn, grid energy costs the slot's import price (the tariff's
fallback where no price is known). Each slot's cost is convex in its energy (cheaper source first), so
taking energy in order of unit cost, cheapest first, gives the minimum total cost for exactly the
needed energy — a greedy choice that a brute-force search confirms on small cases (tests/planning).
Ties go to the earlier slot, so a plan that is disturbed later still has time to recover.

When even charging at full power in every slot cannot deliver the energy, the plan is marked infeasible
with the shortfall and a sentence saying so; it then uses every slot (charge as much as possible).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ecotrack.tariffs.base import PriceSlot

__all__ = ["Plan", "SlotPlan", "plan_charge", "split_slots"]

#: Energy below which a plan counts as met (Wh): rounding, not worth a slot.
EPSILON_WH = 1.0


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What the plan does in one slot."""

    start: datetime
    end: datetime
    price: float
    solar_wh: float
    grid_wh: float

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Plan:
    need_wh: float
    deadline: datetime
    #: Slots with planned energy, in time order.
    slots: tuple[SlotPlan, ...]
    feasible: bool
    #: Energy that cannot be delivered by the deadline (0 when feasible).
    shortfall_wh: float
    #: Grid energy × import price + solar energy × feed-in price.
    cost: float
    message: str

    @property
    def grid_wh(self) -> float:
        return sum(s.grid_wh for s in self.slots)

    @property
    def solar_wh(self) -> float:
        return sum(s.solar_wh for s in self.slots)

    def slot_at(self, when: datetime) -> SlotPlan | None:
        """The planned slot containing ``when`` that buys grid energy, or None."""
        for s in self.slots:
            if s.start <= when < s.end and s.grid_wh > 0:
                return s
        return None


def split_slots(
    start: datetime, end: datetime, prices: Sequence[PriceSlot], fallback_price: float, slot_s: float
) -> list[PriceSlot]:
    """``[start, end)`` cut at every price edge and every ``slot_s`` (aligned to the epoch), priced."""
    if end <= start:
        return []
    edges = {start, end}
    for p in prices:
        edges.update(x for x in (p.start, p.end) if start < x < end)
    step = timedelta(seconds=slot_s)
    first = datetime.fromtimestamp((start.timestamp() // slot_s + 1) * slot_s, start.tzinfo)
    t = first
    while t < end:
        edges.add(t)
        t += step
    cuts = sorted(edges)
    out: list[PriceSlot] = []
    for a, b in itertools.pairwise(cuts):
        price = fallback_price
        for p in prices:
            if p.start <= a < p.end:
                price = p.price
                break
        out.append(PriceSlot(a, b, price))
    return out


def plan_charge(
    need_wh: float,
    now: datetime,
    deadline: datetime,
    *,
    max_power_w: float,
    prices: Sequence[PriceSlot] = (),
    fallback_price: float = 0.30,
    feed_in: float = 0.0,
    surplus_wh: Callable[[datetime, datetime], float] | None = None,
    slot_s: float = 900.0,
    currency: str = "",
) -> Plan:
    """The cheapest way to put ``need_wh`` into the car between ``now`` and ``deadline``.

    ``surplus_wh(a, b)`` is the surplus expected in ``[a, b)`` (Wh), None for no forecast.
    """
    need_wh = max(0.0, need_wh)
    if need_wh <= EPSILON_WH:
        return Plan(need_wh, deadline, (), True, 0.0, 0.0, "target reached")
    if deadline <= now:
        return Plan(
            need_wh, deadline, (), False, need_wh, 0.0, f"the deadline {deadline:%Y-%m-%d %H:%M} has passed"
        )
    if max_power_w <= 0:
        return Plan(need_wh, deadline, (), False, need_wh, 0.0, "the loadpoint cannot charge (no power)")
    grid = split_slots(now, deadline, prices, fallback_price, slot_s)
    caps = [max_power_w * s.hours for s in grid]
    solar_avail = [
        min(max(0.0, surplus_wh(s.start, s.end)), cap) if surplus_wh is not None else 0.0
        for s, cap in zip(grid, caps, strict=True)
    ]
    # (unit cost per Wh, slot index, is_grid, amount)
    items: list[tuple[float, int, bool, float]] = []
    for i, s in enumerate(grid):
        if solar_avail[i] > 0:
            items.append((feed_in / 1000, i, False, solar_avail[i]))
        items.append((s.price / 1000, i, True, caps[i]))
    items.sort(key=lambda it: (it[0], it[1], it[2]))
    used = [0.0] * len(grid)
    solar = [0.0] * len(grid)
    bought = [0.0] * len(grid)
    left = need_wh
    for _unit, i, is_grid, amount in items:
        if left <= 0:
            break
        take = min(amount, caps[i] - used[i], left)
        if take <= 0:
            continue
        used[i] += take
        left -= take
        if is_grid:
            bought[i] += take
        else:
            solar[i] += take
    slots = tuple(
        SlotPlan(s.start, s.end, s.price, solar[i], bought[i]) for i, s in enumerate(grid) if used[i] > 0
    )
    cost = sum(sl.grid_wh / 1000 * sl.price + sl.solar_wh / 1000 * feed_in for sl in slots)
    total = need_wh - max(0.0, left)
    if left > EPSILON_WH:
        hours = (deadline - now).total_seconds() / 3600
        message = (
            f"cannot be met: needs {need_wh / 1000:.1f} kWh by {deadline:%Y-%m-%d %H:%M} but at most "
            f"{total / 1000:.1f} kWh fit in the {hours:.1f} h left at {max_power_w / 1000:.1f} kW; "
            f"charging as much as possible ({left / 1000:.1f} kWh short)"
        )
        return Plan(need_wh, deadline, slots, False, left, cost, message)
    grid_kwh = sum(bought) / 1000
    solar_kwh = sum(solar) / 1000
    unit = f" {currency}" if currency else ""
    message = (
        f"{need_wh / 1000:.1f} kWh by {deadline:%Y-%m-%d %H:%M}: {solar_kwh:.1f} kWh expected surplus, "
        f"{grid_kwh:.1f} kWh bought in {sum(1 for s in slots if s.grid_wh > 0)} slots, cost {cost:.2f}{unit}"
    )
    return Plan(need_wh, deadline, slots, True, 0.0, cost, message)
