"""Sharing one pool of surplus power between several loadpoints.

Rules, in order:

1. Higher ``priority`` groups are served before lower ones; a lower group only
   sees what the higher groups left.
2. Inside a group, every loadpoint that *holds* a charge (``minpv``, or ``pv``
   already charging) first gets its minimum. When the pool cannot cover all
   minimums, the loadpoints that started last absorb the shortfall, so one car
   keeps charging and the newest one is the one that stops.
3. What is left above the minimums is shared equally (in watts) among the
   holders, each up to its maximum (water-filling).
4. A loadpoint that is not charging is told how much it *could* get if it
   started (what is left after the holders' minimums in its group), so the
   start hysteresis can decide.
5. A waiting car of a higher group whose minimum the pool could cover keeps
   that minimum free: waiting cars of lower groups are told what is left after
   it, so when not every waiting car can charge at its minimum the higher
   priority one starts and the lower one keeps waiting (instead of starting
   first and being stopped for a deficit later). Holders of lower groups are
   not affected (a connected car that never draws must not starve them), and
   waiting cars of equal priority still all see the same value.

This module knows nothing about time or hysteresis; it maps a pool and a set
of claims to watts per loadpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True, slots=True)
class Claim:
    """One loadpoint's request on the surplus pool."""

    name: str
    priority: int
    min_w: float
    max_w: float
    #: True for loadpoints that keep their minimum (``minpv``, or ``pv`` while charging).
    holds: bool
    #: When the current charge started (monotonic s); earlier starters are served first.
    since_s: float = 0.0


def share(pool_w: float, claims: Sequence[Claim]) -> dict[str, float]:
    """Watts each claim may use from ``pool_w`` (see the module docstring).

    The value for a holder is its grant (between 0 and ``max_w``; below
    ``min_w`` means it is in deficit). The value for a non-holder is the power
    it would find if it started now (0 or more, not capped at its max).
    """
    result: dict[str, float] = {}
    remaining = pool_w
    #: Minimums kept free for waiting cars of higher groups (rule 5); only lower waiting cars see it.
    reserved = 0.0
    ordered = sorted(claims, key=lambda c: -c.priority)
    for _, group_iter in groupby(ordered, key=lambda c: c.priority):
        group = list(group_iter)
        holders = sorted((c for c in group if c.holds), key=lambda c: (c.since_s, c.name))
        base: dict[str, float] = {}
        for claim in holders:
            base[claim.name] = min(max(remaining, 0.0), claim.min_w)
            remaining -= claim.min_w
        extra = max(remaining, 0.0)
        waiting = sorted((c for c in group if not c.holds), key=lambda c: (c.since_s, c.name))
        for claim in waiting:
            result[claim.name] = max(extra - reserved, 0.0)
        given = _water_fill(extra, [(c.name, max(c.max_w - c.min_w, 0.0)) for c in holders])
        for claim in holders:
            result[claim.name] = base[claim.name] + given.get(claim.name, 0.0)
        remaining -= sum(given.values())
        for claim in waiting:
            if claim.min_w > 0.0 and result[claim.name] - claim.min_w >= -1e-9:
                reserved += claim.min_w
    return result


def _water_fill(amount_w: float, caps: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Split ``amount_w`` equally among ``caps``, never giving anyone more than its cap."""
    given: dict[str, float] = {}
    open_caps = sorted(caps, key=lambda item: item[1])
    left = amount_w
    while open_caps and left > 0.0:
        equal = left / len(open_caps)
        name, cap = open_caps[0]
        if cap <= equal:
            given[name] = cap
            left -= cap
            open_caps.pop(0)
            continue
        for name, _ in open_caps:
            given[name] = equal
        left = 0.0
        open_caps = []
    return given
