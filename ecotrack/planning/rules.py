"""The planning rules: schedule, plan, daylight and the non-scheduled action (see :mod:`ecotrack.runtime.rules`).

Each is a small typed object with ``evaluate(ctx) -> RuleOutcome | None``. :func:`build_rules` creates them
from the configuration in the configured order (TWCManager's by default: schedule > plan > solar in
daylight > non-scheduled action); the engine's built-in energy-limit and charge-now rules stay in front
and the user's mode stays last. With ``respect_off`` a loadpoint the user switched off is left off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from ecotrack.core.model import Mode
from ecotrack.planning.config import PlanConfig, RulesConfig, ScheduleConfig
from ecotrack.planning.planner import EPSILON_WH, Plan, plan_charge
from ecotrack.planning.sun import is_daylight
from ecotrack.runtime.rules import Rule, RuleContext, RuleOutcome
from ecotrack.tariffs.base import Tariff
from ecotrack.weekly.tz import zone
from ecotrack.weekly.windows import WeeklyWindow, localize, parse_days, parse_hhmm

__all__ = ["DaylightRule", "NonScheduledRule", "PlanRule", "ScheduleRule", "build_rules"]

log = logging.getLogger(__name__)


def _passes_for_off(ctx: RuleContext, respect_off: bool) -> bool:
    return respect_off and ctx.user_mode is Mode.OFF


class ScheduleRule:
    """Charge at ``amps`` (None: the maximum) while the weekly window is open."""

    def __init__(
        self,
        name: str,
        window: WeeklyWindow,
        amps: float | None = None,
        loadpoints: frozenset[str] | None = None,
        *,
        respect_off: bool = True,
    ) -> None:
        self.name = f"schedule:{name}"
        self.window = window
        self.amps = amps
        self.loadpoints = loadpoints
        self.respect_off = respect_off

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        if self.loadpoints is not None and ctx.loadpoint not in self.loadpoints:
            return None
        if _passes_for_off(ctx, self.respect_off) or not self.window.active(ctx.now):
            return None
        return RuleOutcome(Mode.NOW, max_a=self.amps, rule=self.name)


@dataclass(frozen=True, slots=True)
class PlanTarget:
    """``energy_wh`` in the session, or ``soc_pct`` of a ``battery_wh`` battery."""

    energy_wh: float | None = None
    soc_pct: float | None = None
    battery_wh: float | None = None


class PlanRule:
    """Reach a target by a time of day: grid energy in the cheapest slots, the rest left to surplus.

    In a slot where the plan buys energy the loadpoint charges at full power (mode now). Between them the
    rule passes, so the rules after it (daylight surplus, the user's mode) fill the car and every re-plan
    (each ``replan_s``) buys only what is still missing. A plan that cannot be met charges at full power
    all the time and says so in its label and in :attr:`plan`.
    """

    def __init__(
        self,
        name: str,
        loadpoint: str,
        target: PlanTarget,
        by: time,
        days: frozenset[int],
        tz: tzinfo,
        max_power_w: float,
        tariff: Tariff | None = None,
        *,
        respect_off: bool = True,
        replan_s: float = 60.0,
        surplus_wh: Callable[[datetime, datetime], float] | None = None,
    ) -> None:
        self.name = f"plan:{name}"
        self.loadpoint = loadpoint
        self.target = target
        self.by = by
        self.days = days
        self.tz = tz
        self.max_power_w = max_power_w
        self.tariff = tariff
        self.respect_off = respect_off
        self.replan_s = replan_s
        self.surplus_wh = surplus_wh
        #: The latest plan (None while the rule is idle), for the state and the logs.
        self.plan: Plan | None = None
        #: Why the rule is idle or what it does, in a sentence.
        self.status = "no car connected"
        self._planned_at: datetime | None = None
        self._key: tuple[str, datetime] | None = None
        self._warned: datetime | None = None

    def next_deadline(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz).date()
        for d in range(9):
            day = local + timedelta(days=d)
            if day.weekday() in self.days:
                when = localize(day, self.by, self.tz)
                if when > now:
                    return when
        raise AssertionError("a plan has at least one weekday")  # pragma: no cover

    def need_wh(self, ctx: RuleContext) -> float | None:
        """Energy still missing, or None when it cannot be known (no SoC from the vehicle)."""
        session = ctx.session
        if session is None:
            return None
        if self.target.energy_wh is not None:
            return max(0.0, self.target.energy_wh - session.energy_wh)
        soc = ctx.soc_pct
        if soc is None or not 0 <= soc <= 100:
            return None
        assert self.target.soc_pct is not None and self.target.battery_wh is not None
        return max(0.0, (self.target.soc_pct - float(soc)) / 100 * self.target.battery_wh)

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        if ctx.loadpoint != self.loadpoint:
            return None
        if ctx.session is None:
            self.plan, self._key, self.status = None, None, "no car connected"
            return None
        if _passes_for_off(ctx, self.respect_off):
            self.status = "the loadpoint is switched off"
            return None
        need = self.need_wh(ctx)
        if need is None:
            self.plan, self.status = None, "the vehicle does not report its state of charge"
            return None
        deadline = self.next_deadline(ctx.now)
        key = (ctx.session.id, deadline)
        stale = (
            self.plan is None
            or key != self._key
            or self._planned_at is None
            or (ctx.now - self._planned_at).total_seconds() >= self.replan_s
        )
        if stale:
            self.plan = self._make_plan(need, ctx.now, deadline)
            self._planned_at, self._key = ctx.now, key
            self.status = self.plan.message
            if not self.plan.feasible and self._warned != deadline:
                self._warned = deadline
                log.warning("%s (%s): %s", self.name, self.loadpoint, self.plan.message)
        plan = self.plan
        assert plan is not None
        if need <= EPSILON_WH:
            return None
        if not plan.feasible:
            return RuleOutcome(Mode.NOW, rule=f"{self.name} (cannot be met)")
        if plan.slot_at(ctx.now) is not None:
            return RuleOutcome(Mode.NOW, rule=self.name)
        return None

    def _make_plan(self, need: float, now: datetime, deadline: datetime) -> Plan:
        tariff = self.tariff
        return plan_charge(
            need,
            now,
            deadline,
            max_power_w=self.max_power_w,
            prices=tariff.slots(now, deadline) if tariff is not None else (),
            fallback_price=tariff.fallback_price if tariff is not None else 0.0,
            feed_in=tariff.feed_in if tariff is not None else 0.0,
            surplus_wh=self.surplus_wh,
            currency=tariff.currency if tariff is not None else "",
        )


class DaylightRule:
    """Follow the surplus between sunrise and sunset (TWCManager's "track green energy")."""

    name = "daylight"

    def __init__(
        self, latitude: float, longitude: float, mode: Mode = Mode.PV, *, respect_off: bool = True
    ) -> None:
        self.latitude = latitude
        self.longitude = longitude
        self.mode = mode
        self.respect_off = respect_off

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        if _passes_for_off(ctx, self.respect_off) or not is_daylight(ctx.now, self.latitude, self.longitude):
            return None
        return RuleOutcome(self.mode, rule=self.name)


class NonScheduledRule:
    """What happens when nothing else applies: off, follow the surplus, or charge at fixed amps."""

    name = "non-scheduled"

    def __init__(self, action: str, amps: float | None = None, *, respect_off: bool = True) -> None:
        if action not in {"off", "pv", "charge"}:
            raise ValueError(f"unknown non-scheduled action {action!r}")
        self.action = action
        self.amps = amps
        self.respect_off = respect_off

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        if _passes_for_off(ctx, self.respect_off):
            return None
        if self.action == "off":
            return RuleOutcome(Mode.OFF, rule=self.name)
        if self.action == "pv":
            return RuleOutcome(Mode.PV, rule=self.name)
        return RuleOutcome(Mode.NOW, max_a=self.amps, rule=self.name)


def _schedule(name: str, cfg: ScheduleConfig, respect_off: bool) -> ScheduleRule:
    window = WeeklyWindow(
        parse_hhmm(cfg.start), parse_hhmm(cfg.end), parse_days(cfg.days), zone(cfg.timezone)
    )
    lps = frozenset(cfg.loadpoints) if cfg.loadpoints is not None else None
    return ScheduleRule(name, window, cfg.amps, lps, respect_off=respect_off)


def _plan(
    name: str, cfg: PlanConfig, max_power_w: Mapping[str, float], tariff: Tariff | None, respect_off: bool
) -> PlanRule:
    power = cfg.max_power_w or max_power_w[cfg.loadpoint]
    target = PlanTarget(
        energy_wh=cfg.energy_kwh * 1000 if cfg.energy_kwh is not None else None,
        soc_pct=cfg.soc_pct,
        battery_wh=cfg.battery_kwh * 1000 if cfg.battery_kwh is not None else None,
    )
    return PlanRule(
        name,
        cfg.loadpoint,
        target,
        parse_hhmm(cfg.by),
        parse_days(cfg.days),
        zone(cfg.timezone),
        power,
        tariff,
        respect_off=respect_off,
    )


def check_names(
    loadpoints: Collection[str],
    rules: RulesConfig | None,
    schedules: Mapping[str, ScheduleConfig],
    plans: Mapping[str, PlanConfig],
) -> list[str]:
    """Problems with loadpoint names in schedules, plans and energy limits (empty when fine)."""
    known = set(loadpoints)
    problems: list[str] = []
    for name, s in schedules.items():
        for lp in s.loadpoints or ():
            if lp not in known:
                problems.append(f"schedules.{name}.loadpoints: unknown loadpoint {lp!r}")
    for name, p in plans.items():
        if p.loadpoint not in known:
            problems.append(f"plans.{name}.loadpoint: unknown loadpoint {p.loadpoint!r}")
    if rules is not None:
        for lp in rules.energy_limit_kwh:
            if lp not in known:
                problems.append(f"rules.energy_limit_kwh: unknown loadpoint {lp!r}")
    return problems


def build_rules(
    rules: RulesConfig | None,
    schedules: Mapping[str, ScheduleConfig],
    plans: Mapping[str, PlanConfig],
    max_power_w: Mapping[str, float],
    tariff: Tariff | None = None,
) -> list[Rule]:
    """The planning rules in the configured order (ValueError naming unknown loadpoints).

    Takes the three planning sections, not the whole configuration, so planning sits below it.
    ``max_power_w`` is each loadpoint's full charging power (its maximum current at the site's voltage
    and the loadpoint's phases): a plan without its own ``max_power_w`` assumes the car charges that
    fast. Its keys are the known loadpoints.
    """
    problems = check_names(max_power_w.keys(), rules, schedules, plans)
    if problems:
        raise ValueError("; ".join(problems))
    rules_cfg = rules if rules is not None else RulesConfig()
    respect_off = rules_cfg.respect_off
    by_kind: dict[str, Sequence[Rule]] = {
        "schedule": [_schedule(n, s, respect_off) for n, s in schedules.items() if s.enabled],
        "plan": [_plan(n, p, max_power_w, tariff, respect_off) for n, p in plans.items() if p.enabled],
        "daylight": (
            [
                DaylightRule(
                    rules_cfg.daylight.latitude,
                    rules_cfg.daylight.longitude,
                    Mode(rules_cfg.daylight.mode),
                    respect_off=respect_off,
                )
            ]
            if rules_cfg.daylight is not None
            else []
        ),
        "non_scheduled": (
            [
                NonScheduledRule(
                    rules_cfg.non_scheduled.action, rules_cfg.non_scheduled.amps, respect_off=respect_off
                )
            ]
            if rules_cfg.non_scheduled is not None
            else []
        ),
    }
    out: list[Rule] = []
    for kind in rules_cfg.order:
        out.extend(by_kind[kind])
    return out
