"""Configuration of schedules, plans and the rule order (``schedules:``, ``plans:``, ``rules:``).

```yaml
schedules:
  night:                     # charge 16 A from 22:00 to 06:00 on weeknights
    start: "22:00"
    end: "06:00"
    days: [mon-fri]
    amps: 16
plans:
  commute:                   # 20 kWh in the car by 07:00 on weekdays, cheapest hours
    loadpoint: garage
    energy_kwh: 20
    by: "07:00"
    days: [mon-fri]
rules:
  order: [schedule, plan, daylight, non_scheduled]   # TWCManager's order (the default)
  daylight: {latitude: 52.52, longitude: 13.40}      # surplus charging between sunrise and sunset
  non_scheduled: {action: off}                       # otherwise: off | pv | charge (with amps)
  energy_limit_kwh: {garage: 30}                     # per-session energy limit
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ecotrack.config_base import ConfigModel
from ecotrack.weekly.tz import check_timezone
from ecotrack.weekly.windows import parse_days, parse_hhmm

__all__ = [
    "DEFAULT_ORDER",
    "DaylightConfig",
    "NonScheduledConfig",
    "PlanConfig",
    "RuleName",
    "RulesConfig",
    "ScheduleConfig",
]

RuleName = Literal["schedule", "plan", "daylight", "non_scheduled"]
#: TWCManager's order after "charge now" (which the engine's built-in rule handles first).
DEFAULT_ORDER: tuple[RuleName, ...] = ("schedule", "plan", "daylight", "non_scheduled")


class _Timed(ConfigModel):
    days: list[str] = Field(
        default_factory=lambda: ["all"], description="Weekdays: mon..sun, ranges like mon-fri, or all."
    )
    timezone: str | None = Field(None, description="IANA time zone of the times; null: the machine's zone.")

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        parse_days(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return check_timezone(v)


class ScheduleConfig(_Timed):
    """Charge at fixed amps in a weekly window (crossing midnight when end <= start)."""

    start: str = Field(description="Local start time HH:MM.")
    end: str = Field(description="Local end time HH:MM; at or before start: the next day.")
    amps: float | None = Field(None, gt=0, le=80, description="Current (A); null: the loadpoint's maximum.")
    loadpoints: list[str] | None = Field(None, description="Loadpoints it applies to; null: all.")
    enabled: bool = Field(True, description="Switch the schedule off without deleting it.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v


class PlanConfig(_Timed):
    """Reach an energy (or SoC) target by a time of day, buying the missing energy in the cheapest hours."""

    loadpoint: str = Field(description="The loadpoint whose sessions the plan fills.")
    energy_kwh: float | None = Field(None, gt=0, le=500, description="Energy to charge in the session (kWh).")
    soc_pct: float | None = Field(
        None, gt=0, le=100, description="Vehicle state of charge to reach (%), when the vehicle reports it."
    )
    battery_kwh: float | None = Field(
        None,
        gt=0,
        le=500,
        description="Usable battery size, for soc_pct (kWh); null: the capacity_kwh of the loadpoint's vehicle.",
    )
    by: str = Field(description="Local time HH:MM the target must be reached by, on the selected days.")
    max_power_w: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Charging power planned with; null: the loadpoint's max_a x V x phases.",
    )
    enabled: bool = Field(True, description="Switch the plan off without deleting it.")

    @field_validator("by")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @model_validator(mode="after")
    def _one_target(self) -> PlanConfig:
        if (self.energy_kwh is None) == (self.soc_pct is None):
            raise ValueError("give exactly one of energy_kwh or soc_pct")
        return self


class DaylightConfig(ConfigModel):
    """Charge from surplus between sunrise and sunset at this place."""

    latitude: float = Field(ge=-90, le=90, description="Degrees north.")
    longitude: float = Field(ge=-180, le=180, description="Degrees east.")
    mode: Literal["pv", "minpv"] = Field("pv", description="pv: surplus only; minpv: never below min_a.")


class NonScheduledConfig(ConfigModel):
    """What to do when no other rule applies (TWCManager's nonScheduledAction)."""

    action: Literal["off", "pv", "charge"] = Field(
        description="off: do not charge; pv: follow the surplus; charge: fixed amps from the grid."
    )
    amps: float | None = Field(None, gt=0, le=80, description="Current for action charge; null: the maximum.")


class RulesConfig(ConfigModel):
    """The order of the planning rules and the optional daylight / non-scheduled rules."""

    order: list[RuleName] = Field(
        default_factory=lambda: list(DEFAULT_ORDER),
        description="Order of the rules after charge-now; the user's mode comes last.",
    )
    daylight: DaylightConfig | None = Field(None, description="Surplus charging between sunrise and sunset.")
    non_scheduled: NonScheduledConfig | None = Field(
        None, description="Action when nothing else applies; null: the user's mode decides."
    )
    respect_off: bool = Field(
        True, description="A loadpoint the user switched off stays off (schedules, plans and daylight pass)."
    )
    energy_limit_kwh: dict[str, float] = Field(
        default_factory=dict, description="Per-session energy limit (kWh) by loadpoint."
    )

    @field_validator("order")
    @classmethod
    def _unique(cls, v: list[RuleName]) -> list[RuleName]:
        if len(set(v)) != len(v):
            raise ValueError("each rule may appear once")
        return v

    @field_validator("energy_limit_kwh")
    @classmethod
    def _limits(cls, v: dict[str, float]) -> dict[str, float]:
        for lp, kwh in v.items():
            if not 0 < kwh <= 1000:
                raise ValueError(f"{lp}: energy limit must be between 0 and 1000 kWh, got {kwh}")
        return v
