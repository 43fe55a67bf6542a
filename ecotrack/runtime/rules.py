"""Which mode a loadpoint is in right now: an ordered list of typed rules.

The user picks a mode (``manual``), but other wishes can take over for a while: a "charge now" with an
end time, a session energy limit that has been reached, and (from the planning package) schedules, plans
and daylight rules. Each :class:`Rule` looks at a :class:`RuleContext` and either claims the loadpoint
with a :class:`RuleOutcome` or passes (``None``). The engine evaluates ``engine.rules`` in order on every
step and applies the first outcome; its ``rule`` label is shown in the state so a user can see *why*
the car is (not) charging.

Rules are plain objects, not a string expression language, so each one is typed and unit-testable. They
only choose a mode and at most a lower maximum: the core and its safety clamp still decide the current,
so no rule can command more than the charger, circuit or wiring allows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ecotrack.core.model import Mode

if TYPE_CHECKING:
    from ecotrack.runtime.sessions import Session

__all__ = [
    "ChargeNow",
    "ChargeNowRule",
    "EnergyLimitRule",
    "ManualRule",
    "Rule",
    "RuleContext",
    "RuleOutcome",
    "default_rules",
    "evaluate",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChargeNow:
    """A "charge now" request: full power (or ``amps``) until ``until`` (None: until cancelled)."""

    started: datetime
    amps: float | None = None
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Still in force at ``now``."""
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may look at for one loadpoint at one moment."""

    loadpoint: str
    #: Wall time (timezone-aware) of the step.
    now: datetime
    #: The mode the user chose.
    user_mode: Mode
    charge_now: ChargeNow | None = None
    #: The loadpoint's open charging session (car connected), if any.
    session: Session | None = None
    #: Session energy limit (Wh), None when there is none.
    energy_limit_wh: float | None = None
    #: The car's state of charge (%) when the charger or a vehicle reports it, else None.
    soc_pct: float | None = None


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A rule's verdict: the mode to use, optionally a lower maximum current, and a label for the UI."""

    mode: Mode
    max_a: float | None = None
    rule: str = "manual"


@runtime_checkable
class Rule(Protocol):
    """One entry of the rule list."""

    name: str

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """Claim the loadpoint (an outcome) or pass (None)."""
        ...


class EnergyLimitRule:
    """Stops charging once the session has taken its energy limit (until the car is unplugged)."""

    name = "energy-limit"

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """OFF when the open session reached the limit."""
        limit, session = ctx.energy_limit_wh, ctx.session
        if limit is None or session is None or session.energy_wh < limit:
            return None
        return RuleOutcome(Mode.OFF, rule=self.name)


class ChargeNowRule:
    """Charges at full power (or the requested amps) while a charge-now request is in force."""

    name = "charge-now"

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """NOW while the request has not expired."""
        request = ctx.charge_now
        if request is None or not request.active(ctx.now):
            return None
        return RuleOutcome(Mode.NOW, max_a=request.amps, rule=self.name)


class ManualRule:
    """The user's own choice of mode: the last rule, which always claims."""

    name = "manual"

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """The user's mode."""
        return RuleOutcome(ctx.user_mode, rule=self.name)


def default_rules() -> list[Rule]:
    """The built-in order: energy limit, charge now, then the user's mode.

    Planning rules (schedules, plans, daylight) go before :class:`ManualRule`.
    """
    return [EnergyLimitRule(), ChargeNowRule(), ManualRule()]


def evaluate(rules: Sequence[Rule], ctx: RuleContext) -> RuleOutcome:
    """The first outcome of ``rules`` for ``ctx``; the user's mode when every rule passes.

    A rule that raises (a bug, a planner without prices) is logged and skipped: a broken wish must not
    stop the control loop, and the rules after it (at the latest the user's mode) still decide.
    """
    for rule in rules:
        try:
            outcome = rule.evaluate(ctx)
        except Exception:
            log.exception("rule %s failed for %s; skipping it", getattr(rule, "name", rule), ctx.loadpoint)
            continue
        if outcome is not None:
            return outcome
    return RuleOutcome(ctx.user_mode, rule="manual")
