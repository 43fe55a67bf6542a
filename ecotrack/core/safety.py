"""The last word on every command: no current above a charger's, a circuit's or the wiring's limit.

This module is deliberately independent of the control law. Whatever the
allocation decided, :func:`clamp` re-derives the limits from the static site
parameters and cuts commands until all of them hold. Lower-priority loadpoints
are cut first; a loadpoint that cannot get its minimum is switched off rather
than offered a current the car cannot use. :func:`violations` re-checks a set
of commands and is what the property tests and the simulator's
``max_over_limit_a`` use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ecotrack.core.model import LoadpointParams, SiteParams
from ecotrack.core.units import quantize_down


@dataclass(frozen=True, slots=True)
class Limits:
    """Pre-computed limit structure of a site (built once, used on every step)."""

    #: Loadpoints in cutting order: observe-only ones first (their draw is not ours to cut), then
    #: highest priority first, then by name.
    order: tuple[LoadpointParams, ...]
    #: Per loadpoint: its own ceiling (loadpoint max and charger max).
    own_max_a: Mapping[str, float]
    #: Per loadpoint: the circuits it hangs under, nearest first.
    chain: Mapping[str, tuple[str, ...]]
    #: Circuit name to max current per phase.
    circuit_max_a: Mapping[str, float]
    wiring_limit_a: float | None


def build_limits(site: SiteParams) -> Limits:
    """Derive the limit structure from the site parameters.

    Unknown circuit names and cycles cannot come from a validated config, but
    the core does not trust that: an unknown circuit limits to 0 A and a cycle
    is cut where it closes.
    """
    circuits = {c.name: c for c in site.circuits}
    chain: dict[str, tuple[str, ...]] = {}
    own: dict[str, float] = {}
    circuit_max: dict[str, float] = {name: _limit_value(c.max_a) for name, c in circuits.items()}
    for lp in site.loadpoints:
        path: list[str] = []
        name = lp.circuit
        while name is not None and name not in path:
            path.append(name)
            if name not in circuits:
                circuit_max[name] = 0.0
                break
            name = circuits[name].parent
        chain[lp.name] = tuple(path)
        ceiling = _limit_value(lp.max_a)
        if lp.charger_max_a is not None:
            ceiling = min(ceiling, _limit_value(lp.charger_max_a))
        own[lp.name] = ceiling
    order = tuple(sorted(site.loadpoints, key=lambda p: (not p.observe_only, -p.priority, p.name)))
    wiring = None if site.wiring_limit_a is None else _limit_value(site.wiring_limit_a)
    return Limits(order, own, chain, circuit_max, wiring)


def static_ceilings(limits: Limits) -> dict[str, float]:
    """Per loadpoint, the most it could get if it were alone: own max, circuits, wiring."""
    ceilings: dict[str, float] = {}
    for lp in limits.order:
        ceiling = limits.own_max_a[lp.name]
        for circuit in limits.chain[lp.name]:
            ceiling = min(ceiling, limits.circuit_max_a[circuit])
        if limits.wiring_limit_a is not None:
            ceiling = min(ceiling, limits.wiring_limit_a)
        ceilings[lp.name] = ceiling
    return ceilings


def _limit_value(value: float) -> float:
    """A configured limit that is NaN or negative allows nothing."""
    return value if math.isfinite(value) and value > 0.0 else 0.0


def clamp(limits: Limits, desired_a: Mapping[str, float]) -> dict[str, float]:
    """Cut ``desired_a`` until every limit holds; return the safe currents.

    Missing loadpoints get 0 A. Non-finite or negative requests become 0 A.
    Currents are rounded *down* onto each loadpoint's step, and a loadpoint
    that cannot have its minimum gets 0 A. An observe-only loadpoint's value
    is the draw it may have (not a command): it takes its room first, within
    the limits but neither rounded nor cut to 0 below its minimum, so the
    commandable loadpoints sharing a limit with it get only what it leaves.
    """
    used_circuit: dict[str, float] = dict.fromkeys(limits.circuit_max_a, 0.0)
    used_total = 0.0
    result: dict[str, float] = {}
    for lp in limits.order:
        want = desired_a.get(lp.name, 0.0)
        if not math.isfinite(want) or want <= 0.0:
            result[lp.name] = 0.0
            continue
        room = min(want, limits.own_max_a[lp.name])
        for circuit in limits.chain[lp.name]:
            room = min(room, limits.circuit_max_a[circuit] - used_circuit[circuit])
        if limits.wiring_limit_a is not None:
            room = min(room, limits.wiring_limit_a - used_total)
        if lp.observe_only:
            amps = max(room, 0.0)
        else:
            amps = quantize_down(room, lp.step_a)
            if amps < lp.min_a:
                amps = 0.0
        result[lp.name] = amps
        if amps > 0.0:
            used_total += amps
            for circuit in limits.chain[lp.name]:
                used_circuit[circuit] += amps
    return result


def violations(limits: Limits, commanded_a: Mapping[str, float]) -> float:
    """Largest amount (A) by which ``commanded_a`` exceeds any limit; 0.0 when safe.

    Negative or non-finite commands count as violations of infinite size.
    """
    worst = 0.0
    used_circuit: dict[str, float] = dict.fromkeys(limits.circuit_max_a, 0.0)
    total = 0.0
    for lp in limits.order:
        amps = commanded_a.get(lp.name, 0.0)
        if not math.isfinite(amps) or amps < 0.0:
            return math.inf
        worst = max(worst, amps - limits.own_max_a[lp.name])
        total += amps
        for circuit in limits.chain[lp.name]:
            used_circuit[circuit] += amps
    for circuit, used in used_circuit.items():
        worst = max(worst, used - limits.circuit_max_a[circuit])
    if limits.wiring_limit_a is not None:
        worst = max(worst, total - limits.wiring_limit_a)
    # Sums of decimal steps (0.1 A) carry float noise; a micro-amp is not a violation.
    return worst if worst > 1e-6 else 0.0
