"""Rules from the car's own state: full power below its minimum SoC, stop at its charge limit.

Both read the car the :class:`~ecotrack.vehicles.garage.Garage` says is on the loadpoint, so a
user's choice in the dashboard or a TWC's VIN switches them to the right car at once. Like every
rule they only choose a mode: the core and its safety clamp still decide the current.
"""

from __future__ import annotations

from ecotrack.core.model import Mode
from ecotrack.runtime.rules import RuleContext, RuleOutcome
from ecotrack.vehicles.garage import Garage

__all__ = ["ChargeLimitRule", "MinSocRule", "vehicle_rules"]


class MinSocRule:
    """Below the car's ``min_soc_pct``: charge at full power (mode now), whatever the user's mode.

    Only while a session is open (a car is connected) and the car's SoC is known and fresh enough to
    have been reported; a user's "off" is respected (the car should not charge against an explicit off).
    """

    name = "min-soc"

    def __init__(self, garage: Garage) -> None:
        self.garage = garage

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """NOW while the SoC is below the minimum."""
        vehicle = self.garage.vehicle_of(ctx.loadpoint)
        if vehicle is None or ctx.session is None or ctx.user_mode == Mode.OFF:
            return None
        floor, soc = vehicle.min_soc_pct, vehicle.state.soc_pct
        if floor is None or soc is None or soc >= floor:
            return None
        return RuleOutcome(Mode.NOW, rule=self.name)


class ChargeLimitRule:
    """At or above the car's own charge limit: off (the car would not take more; the charger idles)."""

    name = "charge-limit"

    def __init__(self, garage: Garage) -> None:
        self.garage = garage

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        """OFF once the SoC reached the car's limit."""
        vehicle = self.garage.vehicle_of(ctx.loadpoint)
        if vehicle is None:
            return None
        soc, limit = vehicle.state.soc_pct, vehicle.state.charge_limit_pct
        if soc is None or limit is None or soc < limit:
            return None
        return RuleOutcome(Mode.OFF, rule=self.name)


def vehicle_rules(garage: Garage) -> list[ChargeLimitRule | MinSocRule]:
    """The vehicle rules in their order: the car's limit first, then its minimum SoC."""
    return [ChargeLimitRule(garage), MinSocRule(garage)]
