"""Unit conversions and the small numeric guards every core module needs.

Inputs from the outside world may be NaN, infinite, negative or absurd; these
helpers turn them into something the control law can reason about instead of
letting a NaN propagate into a command.
"""

from __future__ import annotations

import math

#: Anything beyond this is not a household meter reading (W); treated as garbage.
MAX_PLAUSIBLE_W = 1.0e7


def finite_or_none(value: float | None) -> float | None:
    """Return ``value`` when it is a finite, plausible number, else ``None``."""
    if value is None:
        return None
    if type(value) is float:  # fast path; NaN fails both comparisons
        return value if -MAX_PLAUSIBLE_W <= value <= MAX_PLAUSIBLE_W else None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or abs(v) > MAX_PLAUSIBLE_W:
        return None
    return v


def nonneg(value: float | None) -> float:
    """A measured magnitude (current, power): NaN/None/negative become 0."""
    v = finite_or_none(value)
    return v if v is not None and v > 0.0 else 0.0


def watts_per_amp(phases: int, voltage_v: float) -> float:
    """Power drawn per amp of per-phase current on ``phases`` phases."""
    return phases * voltage_v


def quantize(amps: float, step_a: float, round_up_fraction: float = 1.0) -> float:
    """Round ``amps`` onto the charger's grid of ``step_a``.

    The fractional remainder rounds up only when it is at least
    ``round_up_fraction`` of a step: ``1.0`` always rounds down (the safe choice
    for limits), ``0.5`` rounds to nearest.
    """
    if not math.isfinite(amps) or amps <= 0.0:
        return 0.0
    steps = math.floor(amps / step_a + (1.0 - round_up_fraction) + 1e-9)
    return round(max(steps, 0) * step_a, 3)


def quantize_down(amps: float, step_a: float) -> float:
    """Largest multiple of ``step_a`` that is not above ``amps`` (never rounds up)."""
    if not math.isfinite(amps) or amps <= 0.0:
        return 0.0
    steps = math.floor(amps / step_a + 1e-9)
    value = round(steps * step_a, 3)
    # Floating-point guard: never return more than asked for.
    while value > amps + 1e-9 and steps > 0:
        steps -= 1
        value = round(steps * step_a, 3)
    return value
