"""The site model: pydantic models of the configuration file and the checks across its sections.

One YAML file describes the site. Meters, chargers, loadpoints and circuits are mappings from a
user-chosen name to their settings; loadpoints and the site refer to meters and chargers by name.
Reading the file (line numbers, environment overrides, errors) is :mod:`ecotrack.config_load`'s job:

>>> cfg = load_config(Path("examples/demo.yaml"))  # doctest: +SKIP
>>> params = cfg.to_site_params()                   # doctest: +SKIP

The site model does not know the meter and charger types: each driver owns its configuration model
and registers it (:mod:`ecotrack.devices.registry`); :func:`ecotrack.config_load.config_model` builds
the subclass of :class:`Config` whose ``meters:``/``chargers:`` are the registry's discriminated unions.

The cross-checks here are every check the daemon makes at start-up (unknown names, ranges that could
never charge, a driver whose transport is not configured, a driver's own checks such as two TWCs
pinned to one ID), so ``ecotrack config check`` passes exactly when ``ecotrack run`` can start.

Defaults for the loadpoint hysteresis and limits and for the control tuning are taken from the core
dataclasses (:class:`ecotrack.core.model.LoadpointParams`, :class:`ecotrack.core.model.Tuning`), so
they live in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ecotrack.config_base import ConfigModel
from ecotrack.core.follow import FollowModel
from ecotrack.core.model import CircuitParams, LoadpointParams, Mode, PhaseSwitching, SiteParams, Tuning
from ecotrack.core.profiles import DEFAULT_PROFILE, ProfileName, apply_profile
from ecotrack.core.site import MeterRoles
from ecotrack.devices.registry import DriverKind, DriverRegistry
from ecotrack.planning.config import PlanConfig, RulesConfig, ScheduleConfig
from ecotrack.runtime.setup import SiteSetup
from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.services.store.config import StoreConfig
from ecotrack.services.web.config import HttpConfig
from ecotrack.tariffs.config import TariffConfig
from ecotrack.transport.ocpp.config import OcppConfig
from ecotrack.vehicles.config import cannot_be_commanded

__all__ = [
    "CircuitConfig",
    "Config",
    "ControlConfig",
    "DeviceConfig",
    "LoadpointConfig",
    "SiteConfig",
    "cross_check",
    "driver_checks",
]

_LP_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(LoadpointParams) if f.default is not dataclasses.MISSING
}
#: Site defaults live in the core (one place); the config only describes them.
_SITE = SiteParams(loadpoints=())
_TUNING = Tuning()

_MAX_AMPS = 80.0
_MIN_V = 100.0
_MAX_V = 480.0

#: A key path in the configuration and what is wrong there.
_Path = tuple[str | int, ...]


class DeviceConfig(ConfigModel):
    """What the site model knows of a meter or charger entry: its ``type``.

    Only a placeholder in :class:`Config` itself; the models built by
    :func:`ecotrack.config_load.config_model` replace it with the registry's discriminated union, so
    entries are the drivers' own models (``cfg.meters["grid"]`` is e.g. a ``ReplayMeterConfig``).
    """

    type: str = Field(description="Device type.")


class SiteConfig(ConfigModel):
    """The house: which meters to read and site-wide limits."""

    grid_meter: str = Field(description="Name of the meter that measures the grid connection (+ import).")
    pv_meters: list[str] = Field(default_factory=list, description="Names of the meters measuring PV.")
    battery_meter: str | None = Field(None, description="Name of the home-battery meter (+ discharge).")
    voltage_v: float = Field(230.0, ge=_MIN_V, le=_MAX_V, description="Nominal voltage per phase (V).")
    phases: Literal[1, 3] = Field(1, description="Default number of phases of the loadpoints.")
    residual_w: float = Field(
        0.0,
        ge=-100_000,
        le=100_000,
        description="Power kept back from the surplus (W); positive keeps export.",
    )
    max_meter_age_s: float = Field(
        _SITE.max_meter_age_s,
        gt=0,
        le=3600,
        description="A grid reading older than this is stale: failsafe (s).",
    )
    max_charger_age_s: float = Field(
        _SITE.max_charger_age_s,
        gt=0,
        le=3600,
        description="A charger whose last report is older than this counts as offline: not charged, "
        "its power not counted as surplus (s).",
    )
    wiring_limit_a: float | None = Field(
        None, gt=0, le=1000, description="Limit for the sum of all loadpoints' currents per phase (A)."
    )
    battery_priority_soc_pct: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Below this state of charge the home battery charges first (%); null: never.",
    )


_PHASE_TIMERS = PhaseSwitching()


class PhaseRelayConfig(ConfigModel):
    """A 1p/3p contactor in front of the wallbox, switched by publishing to an MQTT topic (Shelly, Tasmota)."""

    type: Literal["mqtt"] = Field(description="How the relay is switched (mqtt: through the mqtt: broker).")
    topic: str = Field(min_length=1, max_length=256, description="Command topic of the relay.")
    payload_1p: str = Field(max_length=256, description="Payload that switches the wallbox to one phase.")
    payload_3p: str = Field(max_length=256, description="Payload that switches the wallbox to three phases.")

    @field_validator("topic")
    @classmethod
    def _check_topic(cls, v: str) -> str:
        if any(c in v for c in "#+\x00"):
            raise ValueError("a command topic has no wildcards (+, #) and no NUL")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> PhaseRelayConfig:
        if self.payload_1p == self.payload_3p:
            raise ValueError("payload_1p and payload_3p must differ")
        return self


class LoadpointConfig(ConfigModel):
    """A charger with a car behind it, and how to charge it."""

    charger: str = Field(description="Name of the charger of this loadpoint.")
    min_a: float = Field(
        _LP_DEFAULTS["min_a"], gt=0, le=_MAX_AMPS, description="Lowest current the car charges with (A)."
    )
    max_a: float = Field(
        _LP_DEFAULTS["max_a"], gt=0, le=_MAX_AMPS, description="Highest current for this loadpoint (A)."
    )
    phases: Literal[1, 3, "auto"] | None = Field(
        None,
        description="Phases used; null: the site's phases; auto: switch between 1 and 3 phases with the surplus "
        "(needs a charger that can: a phase_switch relay, or a simulated charger with switch_phases: true).",
    )
    phase_switch: PhaseRelayConfig | None = Field(
        None, description="Contactor that switches the wallbox between 1 and 3 phases (with phases: auto)."
    )
    phase_up_delay_s: float = Field(
        _PHASE_TIMERS.up_delay_s,
        ge=0,
        le=3600,
        description="phases auto: switch to 3 phases once the surplus held above the 3-phase minimum this long (s).",
    )
    phase_down_delay_s: float = Field(
        _PHASE_TIMERS.down_delay_s,
        ge=0,
        le=3600,
        description="phases auto: switch to 1 phase once the surplus stayed below the 3-phase minimum this long (s).",
    )
    phase_switch_interval_s: float = Field(
        _PHASE_TIMERS.interval_s,
        ge=30,
        le=86_400,
        description="phases auto: least time between two switches (s); spares the contactor and the car.",
    )
    priority: int = Field(
        _LP_DEFAULTS["priority"], ge=-1000, le=1000, description="Higher priority gets the surplus first."
    )
    circuit: str | None = Field(_LP_DEFAULTS["circuit"], description="Name of the circuit it is wired to.")
    vehicle: str | None = Field(
        None, description="Name of the vehicle usually charged here (a TWC's VIN or the dashboard can pick another)."
    )
    mode: Mode = Field(_LP_DEFAULTS["mode"], description="Mode at start: off, now, minpv or pv.")
    profile: ProfileName = Field(
        DEFAULT_PROFILE,
        description="Start/stop behaviour in pv mode: balanced (close to the start/grid frontier), no-grid "
        "(least grid energy, more starts) or fewer-starts (rides dips at min_a, more grid energy). Hysteresis "
        "keys set on the loadpoint override the profile's values.",
    )
    step_a: float = Field(
        _LP_DEFAULTS["step_a"],
        description="Current resolution the charger accepts: 1.0 or 0.1 (A).",
        json_schema_extra={"enum": [1.0, 0.1]},
    )
    enable_threshold_w: float = Field(
        _LP_DEFAULTS["enable_threshold_w"],
        ge=-100_000,
        le=100_000,
        description="Surplus needed above the power at min_a to start (W).",
    )
    enable_delay_s: float = Field(
        _LP_DEFAULTS["enable_delay_s"],
        ge=0,
        le=86_400,
        description="How long the surplus must last to start (s).",
    )
    enable_energy_wh: float | None = Field(
        _LP_DEFAULTS["enable_energy_wh"],
        ge=0,
        le=100_000,
        description="Start before enable_delay_s once the surplus above the start need added up to this (Wh); "
        "null: only the delay counts.",
    )
    restart_penalty_s: float = Field(
        _LP_DEFAULTS["restart_penalty_s"],
        ge=0,
        le=86_400,
        description="Extra start delay per stop in the last restart_window_s, to back off under passing clouds (s).",
    )
    restart_window_s: float = Field(
        _LP_DEFAULTS["restart_window_s"],
        gt=0,
        le=86_400,
        description="How far back stops count for restart_penalty_s (s).",
    )
    disable_threshold_w: float = Field(
        _LP_DEFAULTS["disable_threshold_w"],
        ge=-100_000,
        le=100_000,
        description="Deficit below the power at min_a tolerated before counting towards a stop (W).",
    )
    disable_delay_s: float = Field(
        _LP_DEFAULTS["disable_delay_s"],
        ge=0,
        le=86_400,
        description="How long a deficit may last before a stop (s).",
    )
    disable_energy_wh: float = Field(
        _LP_DEFAULTS["disable_energy_wh"],
        ge=0,
        le=100_000,
        description="Grid energy a charging car may pull at min_a before it stops (Wh).",
    )
    disable_solar_credit: float = Field(
        _LP_DEFAULTS["disable_solar_credit"],
        ge=0,
        le=10,
        description="The stop budget grows by this share of the solar the car takes while holding min_a "
        "(a shallow, mostly-solar dip is held longer than a deep one).",
    )

    @field_validator("step_a")
    @classmethod
    def _check_step(cls, v: float) -> float:
        if v not in (1.0, 0.1):
            raise ValueError("must be 1.0 (whole amps) or 0.1")
        return v


class CircuitConfig(ConfigModel):
    """A fuse or cable limiting the sum of the currents below it (per phase)."""

    max_a: float = Field(gt=0, le=1000, description="Highest total current per phase (A).")
    parent: str | None = Field(None, description="Name of the circuit this one is fed from.")


class ControlConfig(ConfigModel):
    """Tuning of the control law (defaults measured in the simulator) and the engine's tick."""

    settle_s: float = Field(
        _TUNING.settle_s,
        ge=0,
        le=3600,
        description="Do not raise a charger before it followed the last command or this long passed (s).",
    )
    follow_tolerance_a: float = Field(
        _TUNING.follow_tolerance_a,
        ge=0,
        le=_MAX_AMPS,
        description="A charger has followed when its measured current is within this of the offer (A).",
    )
    max_step_up_a: float = Field(
        _TUNING.max_step_up_a,
        gt=0,
        le=_MAX_AMPS,
        description="Largest raise in one step (A); cuts are never limited.",
    )
    round_up_fraction: float = Field(
        _TUNING.round_up_fraction,
        ge=0,
        le=1,
        description="Fraction of a step at which the target is rounded up (1.0: always round down).",
    )
    deficit_payback: float = Field(
        _TUNING.deficit_payback,
        ge=0,
        le=1,
        description="Share of the surplus above min_a that pays back the stop budget (0: none, 1: all).",
    )
    car_follow: FollowModel = Field(
        default_factory=FollowModel,
        description="How fast a car follows a changed offer (start_s: from a pause; dead_s and ramp_a_per_s: a "
        "raise; cut_s: a cut; seconds and A/s): used to estimate its draw while the charger's report is older "
        "than the meter reading.",
    )
    tick_s: float = Field(1.0, gt=0, le=60, description="Period of the engine's timer tick (s).")
    stop_escalation_s: float = Field(
        30.0,
        ge=5,
        le=3600,
        description="A charger still drawing current this long after it acknowledged 0 A gets its stop "
        "method (a TWC's FC B2 or withheld heartbeats) and its loadpoint shows a fault (s).",
    )

    @field_validator("car_follow")
    @classmethod
    def _check_car_follow(cls, v: FollowModel) -> FollowModel:
        for name, value, high in (
            ("start_s", v.start_s, 120.0),
            ("dead_s", v.dead_s, 60.0),
            ("cut_s", v.cut_s, 60.0),
        ):
            if not 0.0 <= value <= high:
                raise ValueError(f"{name} must be between 0 and {high:g} s, got {value:g}")
        if not 0.0 < v.ramp_a_per_s <= 1000.0:
            raise ValueError(f"ramp_a_per_s must be above 0 and at most 1000 A/s, got {v.ramp_a_per_s:g}")
        return v

    def to_tuning(self) -> Tuning:
        """The core's :class:`Tuning` (fields the core has and this model knows)."""
        known = type(self).model_fields
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(Tuning) if f.name in known}
        return Tuning(**values)


class Config(ConfigModel):
    """The whole configuration file."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        title="ecotrack configuration",
    )

    #: The registry this model's ``meters:``/``chargers:`` unions were built from (None: :class:`Config`
    #: itself, which knows no device type; load with :func:`ecotrack.config_load.parse_config`).
    registry: ClassVar[DriverRegistry | None] = None

    data_dir: Path | None = Field(
        None, description="Where ecotrack writes its data; null: the platform's user data directory."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    site: SiteConfig = Field(description="The house: meters to read and site-wide limits.")
    meters: dict[str, DeviceConfig] = Field(description="Meters by name.")
    chargers: dict[str, DeviceConfig] = Field(description="Chargers by name.")
    loadpoints: dict[str, LoadpointConfig] = Field(description="Loadpoints (charger + car) by name.")
    vehicles: dict[str, DeviceConfig] = Field(
        default_factory=dict, description="Vehicles by name: where each car's state of charge comes from."
    )
    circuits: dict[str, CircuitConfig] = Field(
        default_factory=dict, description="Circuits (fuses, cables) by name; a tree via parent."
    )
    control: ControlConfig = Field(default_factory=ControlConfig, description="Control tuning.")
    mqtt: MqttConfig | None = Field(
        None, description="MQTT broker: MQTT meters and the Prism, control topics, status, Home Assistant."
    )
    ocpp: OcppConfig | None = Field(
        None, description="OCPP 1.6J central system the 'type: ocpp' wallboxes connect to (host, port, passwords)."
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="History database (issue 6).")
    tariff: TariffConfig | None = Field(None, description="Electricity prices for cost and plans.")
    schedules: dict[str, ScheduleConfig] = Field(
        default_factory=dict, description="Charging schedules by name."
    )
    plans: dict[str, PlanConfig] = Field(default_factory=dict, description="Charging plans by name.")
    rules: RulesConfig | None = Field(None, description="Rule order, daylight and non-scheduled action.")
    http: HttpConfig = Field(default_factory=HttpConfig, description="Web dashboard, REST API and WebSocket.")

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, v: str) -> str:
        level = v.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> Config:
        if isinstance(info.context, dict) and info.context.get("skip_cross_check"):
            return self
        problems = list(cross_check(self.model_dump(mode="python"), type(self).registry))
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {r}" for p, r in problems))
        return self

    def loadpoint_phases(self, name: str) -> int:
        """Phases of loadpoint ``name`` (its own setting, else the site's); ``auto`` counts as 3, the most it
        may use (the charger's reports tell the count in use)."""
        lp = self.loadpoints[name]
        if lp.phases == "auto":
            return 3
        return lp.phases if lp.phases is not None else self.site.phases

    def to_site_params(self) -> SiteParams:
        """The static settings the control core needs."""
        lp_fields = {f.name for f in dataclasses.fields(LoadpointParams)}
        loadpoints = []
        for name, lp in self.loadpoints.items():
            values: dict[str, Any] = {
                key: value for key, value in lp.model_dump().items() if key in lp_fields and key != "phases"
            }
            values["phases"] = self.loadpoint_phases(name)
            if lp.phases == "auto":
                values["phase_switching"] = PhaseSwitching(
                    up_delay_s=lp.phase_up_delay_s,
                    down_delay_s=lp.phase_down_delay_s,
                    interval_s=lp.phase_switch_interval_s,
                )
            charger = self.chargers.get(lp.charger)
            charger_max_a = getattr(charger, "max_a", None)
            if isinstance(charger_max_a, int | float):
                values["charger_max_a"] = float(charger_max_a)
            values["mode"] = lp.mode
            chosen = apply_profile(
                LoadpointParams(name=name, **values), lp.profile, frozenset(lp.model_fields_set)
            )
            loadpoints.append(chosen)
        circuits = tuple(
            CircuitParams(name=name, max_a=c.max_a, parent=c.parent) for name, c in self.circuits.items()
        )
        return SiteParams(
            loadpoints=tuple(loadpoints),
            circuits=circuits,
            voltage_v=self.site.voltage_v,
            residual_w=self.site.residual_w,
            max_meter_age_s=self.site.max_meter_age_s,
            max_charger_age_s=self.site.max_charger_age_s,
            wiring_limit_a=self.site.wiring_limit_a,
            battery_priority_soc_pct=self.site.battery_priority_soc_pct,
            tuning=self.control.to_tuning(),
        )

    def site_setup(self) -> SiteSetup:
        """What the runtime needs: core parameters, meter roles, the charger of each loadpoint."""
        return SiteSetup(
            params=self.to_site_params(),
            meters=MeterRoles(
                grid_meter=self.site.grid_meter,
                pv_meters=tuple(self.site.pv_meters),
                battery_meter=self.site.battery_meter,
            ),
            loadpoint_chargers={name: lp.charger for name, lp in self.loadpoints.items()},
            phases=self.site.phases,
            tick_s=float(self.control.tick_s),
            stop_escalation_s=float(self.control.stop_escalation_s),
            summary=self.summary(),
        )

    def summary(self) -> str:
        """One line naming the meters, chargers, loadpoints and vehicles."""

        def names(kind: str, items: Mapping[str, Any]) -> str:
            word = kind if len(items) == 1 else kind + "s"
            inner = ", ".join(
                f"{n} ({v.type})" if hasattr(v, "type") else f"{n} ({v.mode}, {v.min_a:g}-{v.max_a:g} A)"
                for n, v in items.items()
            )
            return f"{len(items)} {word}" + (f": {inner}" if inner else "")

        return "; ".join(
            [
                names("meter", self.meters),
                names("charger", self.chargers),
                names("loadpoint", self.loadpoints),
                *([names("vehicle", self.vehicles)] if self.vehicles else []),
            ]
        )


# ---------------------------------------------------------------------------------------- cross-checks


def _planning_refs(
    data: Mapping[Any, Any],
    loadpoints: Mapping[Any, Any],
    known: Callable[[str, Mapping[Any, Any], object], str | None],
) -> Iterator[tuple[_Path, str]]:
    """Loadpoint names used by schedules, plans and per-session energy limits must exist.

    Caught here so that ``ecotrack config check`` reports them, not only the start-up of the daemon.
    """
    schedules = data.get("schedules")
    if isinstance(schedules, Mapping):
        for name, sched in schedules.items():
            names = sched.get("loadpoints") if isinstance(sched, Mapping) else None
            if isinstance(names, list):
                for i, lp in enumerate(names):
                    if err := known("loadpoint", loadpoints, lp):
                        yield ("schedules", name, "loadpoints", i), err
    plans = data.get("plans")
    if isinstance(plans, Mapping):
        for name, plan in plans.items():
            if isinstance(plan, Mapping) and (err := known("loadpoint", loadpoints, plan.get("loadpoint"))):
                yield ("plans", name, "loadpoint"), err
            elif (
                isinstance(plan, Mapping)
                and plan.get("soc_pct") is not None
                and plan.get("battery_kwh") is None
                and _vehicle_capacity(data, plan.get("loadpoint")) is None
            ):
                yield (
                    ("plans", name, "battery_kwh"),
                    "soc_pct needs battery_kwh (the usable battery size), or a vehicle with capacity_kwh "
                    "on the loadpoint",
                )
    rules = data.get("rules")
    limits = rules.get("energy_limit_kwh") if isinstance(rules, Mapping) else None
    if isinstance(limits, Mapping):
        for lp in limits:
            if err := known("loadpoint", loadpoints, lp):
                yield ("rules", "energy_limit_kwh", lp), err


def _mqtt_refs(
    mqtt: Mapping[Any, Any],
    loadpoints: Mapping[Any, Any],
    known: Callable[[str, Mapping[Any, Any], object], str | None],
) -> Iterator[tuple[_Path, str]]:
    """The MQTT compatibility sections must name existing loadpoints (the service refuses to start)."""
    seed = mqtt.get("ecotrack_compat")
    if isinstance(seed, Mapping):
        wanted = seed.get("loadpoint")
        if wanted is None and len(loadpoints) > 1:
            yield (
                ("mqtt", "ecotrack_compat", "loadpoint"),
                "required when there is more than one loadpoint "
                f"(have {', '.join(sorted(map(str, loadpoints)))})",
            )
        elif err := known("loadpoint", loadpoints, wanted):
            yield ("mqtt", "ecotrack_compat", "loadpoint"), err
    twc = mqtt.get("twcmanager_compat")
    names = twc.get("loadpoints") if isinstance(twc, Mapping) else None
    if isinstance(names, list):
        for i, lp in enumerate(names):
            if err := known("loadpoint", loadpoints, lp):
                yield ("mqtt", "twcmanager_compat", "loadpoints", i), err


def _phase_refs(lp_name: str, lp: Mapping[Any, Any], charger: object) -> Iterator[tuple[_Path, str]]:
    """``phases: auto`` needs a charger that can switch; a ``phase_switch`` relay is only for ``auto``."""
    relay = lp.get("phase_switch")
    if lp.get("phases") == "auto":
        native = isinstance(charger, Mapping) and charger.get("switch_phases") is True
        if relay is None and not native:
            yield (
                ("loadpoints", lp_name, "phases"),
                "auto needs a charger that can switch phases: a phase_switch relay on the loadpoint, or a "
                "simulated charger with switch_phases: true",
            )
    elif relay is not None:
        yield ("loadpoints", lp_name, "phase_switch"), "a phase switch is used only with phases: auto"


def cross_check(data: Any, registry: DriverRegistry | None = None) -> Iterator[tuple[_Path, str]]:
    """Reference and range checks across sections, on raw (possibly invalid) data.

    Yields ``(key path, reason)``. Values of the wrong type are skipped: field validation reports them.
    ``registry`` gives the charger models (for their default ``max_a``); without it a charger's
    ``max_a`` counts only when written in the entry.
    """
    if not isinstance(data, Mapping):
        return

    def section(name: str) -> Mapping[Any, Any]:
        v = data.get(name)
        return v if isinstance(v, Mapping) else {}

    meters, chargers, circuits, loadpoints = (
        section("meters"),
        section("chargers"),
        section("circuits"),
        section("loadpoints"),
    )
    site = section("site")

    def known(kind: str, names: Mapping[Any, Any], value: object) -> str | None:
        if not isinstance(value, str) or value in names:
            return None
        choices = ", ".join(sorted(map(str, names))) or "none defined"
        return f"unknown {kind} {value!r} (defined: {choices})"

    if "meters" in data and (err := known("meter", meters, site.get("grid_meter"))):
        yield ("site", "grid_meter"), err
    pv = site.get("pv_meters")
    if isinstance(pv, list) and "meters" in data:
        for i, m in enumerate(pv):
            if err := known("meter", meters, m):
                yield ("site", "pv_meters", i), err
    if "meters" in data and (err := known("meter", meters, site.get("battery_meter"))):
        yield ("site", "battery_meter"), err

    for c_name, charger in chargers.items():
        if (
            isinstance(charger, Mapping)
            and charger.get("type") == "tesla-vehicle"
            and (err := known("vehicle", section("vehicles"), charger.get("vehicle")))
        ):
            yield ("chargers", c_name, "vehicle"), err
        if isinstance(charger, Mapping) and isinstance(car := charger.get("control_vehicle"), str):
            err = known("vehicle", section("vehicles"), car) or cannot_be_commanded(car, section("vehicles").get(car))
            if err:
                yield ("chargers", c_name, "control_vehicle"), err

    used_by: dict[str, str] = {}
    for lp_name, lp in loadpoints.items():
        if not isinstance(lp, Mapping):
            continue
        charger = lp.get("charger")
        if "chargers" in data and (err := known("charger", chargers, charger)):
            yield ("loadpoints", lp_name, "charger"), err
        elif isinstance(charger, str):
            if charger in used_by:
                yield (
                    ("loadpoints", lp_name, "charger"),
                    f"charger {charger!r} is already used by loadpoint {used_by[charger]!r}",
                )
            else:
                used_by[charger] = str(lp_name)
        if err := known("circuit", circuits, lp.get("circuit")):
            yield ("loadpoints", lp_name, "circuit"), err
        yield from _phase_refs(str(lp_name), lp, chargers.get(charger) if isinstance(charger, str) else None)
        if err := known("vehicle", section("vehicles"), lp.get("vehicle")):
            yield ("loadpoints", lp_name, "vehicle"), err
        min_a = lp.get("min_a", _LP_DEFAULTS["min_a"])
        max_a = lp.get("max_a", _LP_DEFAULTS["max_a"])
        if _is_number(min_a) and _is_number(max_a) and 0 < max_a < min_a:
            yield ("loadpoints", lp_name, "min_a"), f"min_a ({min_a:g} A) is above max_a ({max_a:g} A)"
        charger_max = _charger_max_a(chargers.get(charger), registry) if isinstance(charger, str) else None
        if _is_number(min_a) and charger_max is not None and 0 < charger_max < min_a:
            yield (
                ("loadpoints", lp_name, "min_a"),
                f"min_a ({min_a:g} A) is above the maximum of charger {charger!r} ({charger_max:g} A); "
                "it could never charge",
            )

    if "loadpoints" in data:
        yield from _planning_refs(data, loadpoints, known)
        yield from _mqtt_refs(section("mqtt"), loadpoints, known)

    parents: dict[str, str] = {}
    for c_name, c in circuits.items():
        if not isinstance(c, Mapping):
            continue
        parent = c.get("parent")
        if err := known("circuit", circuits, parent):
            yield ("circuits", c_name, "parent"), err
        elif isinstance(parent, str):
            parents[str(c_name)] = parent
    # A circuit (or the wiring) below a loadpoint's minimum current can never let it charge. A loadpoint
    # is under its circuit and every circuit that feeds it.
    too_small: dict[_Path, tuple[float, list[str]]] = {}

    def limit(path: _Path, max_a: object, lp_name: str, min_a: float) -> None:
        if _is_number(max_a) and 0 < cast(float, max_a) < min_a:
            too_small.setdefault(path, (cast(float, max_a), []))[1].append(f"{lp_name!r} ({min_a:g} A)")

    for lp_name, lp in loadpoints.items():
        if not isinstance(lp, Mapping):
            continue
        min_a = lp.get("min_a", _LP_DEFAULTS["min_a"])
        if not _is_number(min_a):
            continue
        limit(("site", "wiring_limit_a"), site.get("wiring_limit_a"), str(lp_name), min_a)
        circuit = lp.get("circuit")
        visited: set[str] = set()
        while (
            isinstance(circuit, str) and circuit not in visited and isinstance(circuits.get(circuit), Mapping)
        ):
            visited.add(circuit)
            limit(("circuits", circuit, "max_a"), circuits[circuit].get("max_a"), str(lp_name), min_a)
            circuit = parents.get(circuit)
    for path, (max_a, names) in too_small.items():
        what = "wiring_limit_a" if path[0] == "site" else "max_a"
        which = "loadpoint" if len(names) == 1 else "loadpoints"
        yield (
            path,
            f"{what} ({max_a:g} A) is below min_a of {which} {', '.join(names)} under it; "
            "it could never charge",
        )

    yield from _ocpp_fallback(data, loadpoints, chargers, circuits, parents)

    reported: set[str] = set()
    for start in parents:
        seen: list[str] = []
        node: str | None = start
        while node is not None and node not in seen:
            seen.append(node)
            node = parents.get(node)
        if node == start and start not in reported:
            reported.update(seen)
            cycle = " -> ".join([*seen, start])
            yield ("circuits", start, "parent"), f"circuits form a cycle: {cycle}"


def _ocpp_fallback(
    data: Mapping[str, Any],
    loadpoints: Mapping[Any, Any],
    chargers: Mapping[Any, Any],
    circuits: Mapping[Any, Any],
    parents: Mapping[str, str],
) -> Iterator[tuple[_Path, str]]:
    """OCPP wallboxes fall back to ``ocpp.fallback_a`` each when ecotrack dies: their sum under a circuit
    (or the wiring limit) must fit it, since nothing limits them then."""
    ocpp = data.get("ocpp")
    if not isinstance(ocpp, Mapping):
        return
    fallback = ocpp.get("fallback_a", 6.0)
    if not _is_number(fallback) or fallback <= 0:
        return
    totals: dict[_Path, tuple[float, float]] = {}
    site = data.get("site") if isinstance(data.get("site"), Mapping) else {}
    assert isinstance(site, Mapping)
    for lp in loadpoints.values():
        charger = chargers.get(lp.get("charger")) if isinstance(lp, Mapping) else None
        if not isinstance(charger, Mapping) or charger.get("type") != "ocpp":
            continue
        charger_max = charger.get("max_a", 16.0)
        amps = min(float(fallback), float(charger_max)) if _is_number(charger_max) else float(fallback)
        limits: list[tuple[_Path, object]] = [(("site", "wiring_limit_a"), site.get("wiring_limit_a"))]
        circuit = lp.get("circuit")
        visited: set[str] = set()
        while isinstance(circuit, str) and circuit not in visited and isinstance(circuits.get(circuit), Mapping):
            visited.add(circuit)
            limits.append((("circuits", circuit, "max_a"), circuits[circuit].get("max_a")))
            circuit = parents.get(circuit)
        for path, max_a in limits:
            if _is_number(max_a):
                total, _ = totals.get(path, (0.0, 0.0))
                totals[path] = (total + amps, cast(float, max_a))
    for path, (total, max_a) in totals.items():
        if total > max_a:
            yield (
                ("ocpp", "fallback_a"),
                f"{fallback:g} A per OCPP wallbox adds up to {total:g} A under {'.'.join(map(str, path))} "
                f"({max_a:g} A); it is what they draw when ecotrack is gone: lower fallback_a",
            )


def _charger_max_a(charger: object, registry: DriverRegistry | None) -> float | None:
    """The ``max_a`` of a raw charger entry (its type's default when unset), or None when unknown."""
    if not isinstance(charger, Mapping):
        return None
    kind = charger.get("type")
    if registry is None or not isinstance(kind, str) or kind not in registry.types("charger"):
        return None
    field = registry.get("charger", kind).config.model_fields.get("max_a")
    value: object = charger.get("max_a", field.default if field is not None else None)
    return float(cast(float, value)) if _is_number(value) else None


def _vehicle_capacity(data: Mapping[Any, Any], loadpoint: object) -> float | None:
    """The ``capacity_kwh`` of the default vehicle of ``loadpoint`` in raw data, or None."""
    loadpoints, vehicles = data.get("loadpoints"), data.get("vehicles")
    lp = loadpoints.get(loadpoint) if isinstance(loadpoints, Mapping) and isinstance(loadpoint, str) else None
    name = lp.get("vehicle") if isinstance(lp, Mapping) else None
    vehicle = vehicles.get(name) if isinstance(vehicles, Mapping) and isinstance(name, str) else None
    capacity = vehicle.get("capacity_kwh") if isinstance(vehicle, Mapping) else None
    return float(cast(float, capacity)) if _is_number(capacity) else None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def driver_checks(
    data: Any, registry: DriverRegistry, base_dir: Path | None = None
) -> Iterator[tuple[_Path, str]]:
    """What building the drivers would refuse, on raw (possibly invalid) data.

    A driver needing a transport (``mqtt``) that the configuration does not set up, and each driver type's
    own ``check`` over its entries that validate (TWC bus settings, trace files). Relative paths are
    relative to ``base_dir`` (the configuration file's directory).
    """
    if not isinstance(data, Mapping):
        return
    transports = {name for name in ("mqtt", "ocpp") if data.get(name) is not None}
    sections: tuple[tuple[str, DriverKind], ...] = (
        ("meters", "meter"),
        ("chargers", "charger"),
        ("vehicles", "vehicle"),
    )
    for section, kind in sections:
        entries = data.get(section)
        if not isinstance(entries, Mapping):
            continue
        by_type: dict[str, dict[str, Any]] = {}
        for name, entry in entries.items():
            type_ = entry.get("type") if isinstance(entry, Mapping) else None
            if not isinstance(type_, str) or type_ not in registry.types(kind):
                continue  # field validation reports it
            spec = registry.get(kind, type_)
            missing = sorted(spec.transports - transports)
            if missing:
                yield (
                    (section, name, "type"),
                    f"{kind} type {type_!r} talks {', '.join(missing)}, but the configuration has no "
                    f"{', '.join(t + ':' for t in missing)} section"
                    + (" (broker host, port)" if "mqtt" in missing else " (ocpp: {} listens on port 8887)"),
                )
            try:
                by_type.setdefault(type_, {})[str(name)] = spec.config.model_validate(entry)
            except ValidationError:
                continue  # field validation reports it
        for type_, models in by_type.items():
            check = registry.get(kind, type_).check
            if check is not None:
                for path, reason in check(models, base_dir):
                    yield (section, *path), reason
