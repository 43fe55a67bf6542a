"""The configuration file: pydantic models, YAML loading with line numbers, environment overrides.

One YAML file describes the site. Meters, chargers, loadpoints and circuits are mappings from a
user-chosen name to their settings; loadpoints and the site refer to meters and chargers by name.

>>> cfg = load_config(Path("examples/demo.yaml"))  # doctest: +SKIP
>>> params = cfg.to_site_params()                   # doctest: +SKIP

Every setting can be overridden by an environment variable ``ECOTRACK__<SECTION>__<KEY>`` (nested with
``__``; names are matched case-insensitively against the keys in the file). Values that are integer or
float literals become numbers, ``true``/``false`` bools, ``null``/``~`` None, values starting with ``[``
or ``{`` YAML flow collections; anything else stays a string for pydantic to convert (so ``off`` is a
mode, not YAML 1.1's False). An empty value is an error. Errors are collected, never raised one at a time: :class:`ConfigError` carries every
:class:`ConfigIssue` with file, line, dotted key path and reason.

Defaults for the loadpoint hysteresis and limits and for the control tuning are taken from the core
dataclasses (:class:`ecotrack.core.model.LoadpointParams`, :class:`ecotrack.core.model.Tuning`), so
they live in one place.

Adding a meter or charger type: write a ``...MeterConfig`` / ``...ChargerConfig`` model with a
``type: Literal["name"]`` field and add it to the ``MeterConfig`` / ``ChargerConfig`` union below.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast, get_args

import platformdirs
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ecotrack.chargers.prism.config import PrismChargerConfig, PrismUbusChargerConfig
from ecotrack.chargers.twc.config import TwcChargerConfig
from ecotrack.config_base import ConfigModel
from ecotrack.core.model import CircuitParams, LoadpointParams, Mode, SiteParams, Tuning
from ecotrack.core.site import MeterRoles
from ecotrack.meters.device_configs import DeviceMeterConfig
from ecotrack.meters.mqtt.config import (
    DsmrReaderMeterConfig,
    EcotrackMonitorMeterConfig,
    EmonhubMeterConfig,
    MqttMeterConfig,
)
from ecotrack.planning.config import PlanConfig, RulesConfig, ScheduleConfig
from ecotrack.runtime.setup import SiteSetup
from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.services.store.config import StoreConfig
from ecotrack.services.web.config import HttpConfig
from ecotrack.tariffs.config import TariffConfig

__all__ = [
    "ENV_PREFIX",
    "ChargerConfig",
    "CircuitConfig",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "ControlConfig",
    "LoadpointConfig",
    "MeterConfig",
    "ReplayMeterConfig",
    "SimulatedChargerConfig",
    "SiteConfig",
    "config_json_schema",
    "load_config",
    "resolve_data_dir",
]

ENV_PREFIX = "ECOTRACK__"

_LP_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(LoadpointParams) if f.default is not dataclasses.MISSING
}
#: Site defaults live in the core (one place); the config only describes them.
_SITE = SiteParams(loadpoints=())
_TUNING = Tuning()

_MAX_AMPS = 80.0
_MIN_V = 100.0
_MAX_V = 480.0


# --------------------------------------------------------------------------------------------- meters


class ReplayMeterConfig(ConfigModel):
    """Replays a recorded (or the modelled) day as grid/PV/load readings."""

    type: Literal["replay"] = Field(description="Meter type.")
    trace: Path | None = Field(
        None,
        description="CSV file with columns timestamp,pv_w,load_w. Relative paths are relative to the config "
        "file. Empty (null) replays the built-in modelled day.",
    )
    modelled_kind: Literal["sunny", "cloudy", "overcast"] = Field(
        "cloudy", description="Weather of the modelled day replayed when trace is null (ignored otherwise)."
    )
    seed: int = Field(
        1,
        ge=0,
        le=2**31 - 1,
        description="Random seed of the modelled day's clouds and household load (ignored with a trace).",
    )
    interval_s: float = Field(2.0, gt=0, le=3600, description="Seconds between two readings.")
    start_time: str = Field(
        "07:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time of day (HH:MM) at which the replay starts.",
    )
    loop: bool = Field(True, description="Start again at the beginning of the day when the trace ends.")
    pv_scale: float = Field(1.0, ge=0, le=100, description="Factor applied to the PV power of the trace.")
    load_scale: float = Field(1.0, ge=0, le=100, description="Factor applied to the house load of the trace.")


#: All meter types, told apart by their ``type`` key. Add new meter configs here.
MeterConfig = Annotated[
    ReplayMeterConfig
    | DeviceMeterConfig
    | EcotrackMonitorMeterConfig
    | EmonhubMeterConfig
    | DsmrReaderMeterConfig
    | MqttMeterConfig,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------------------------------- chargers


class SimulatedChargerConfig(ConfigModel):
    """A charger and car simulated in-process (for the demo and tests)."""

    type: Literal["simulated"] = Field(description="Charger type.")
    max_a: float = Field(32.0, gt=0, le=_MAX_AMPS, description="Highest current the charger can offer (A).")
    phases: Literal[1, 3] = Field(1, description="Phases the simulated charger uses.")
    voltage_v: float = Field(230.0, ge=_MIN_V, le=_MAX_V, description="Voltage per phase (V).")
    car_connected: bool = Field(True, description="Whether a car is plugged in at start.")
    car_max_a: float = Field(32.0, gt=0, le=_MAX_AMPS, description="Highest current the car draws (A).")
    start_delay_s: float = Field(
        5.0, ge=0, le=600, description="Seconds the car takes to start drawing after an offer."
    )
    ramp_a_per_s: float = Field(3.0, gt=0, le=1000, description="How fast the car follows a new offer (A/s).")
    report_interval_s: float = Field(
        1.0, gt=0, le=600, description="Seconds between two reports of the charger."
    )


#: All charger types, told apart by their ``type`` key. Add new charger configs here.
ChargerConfig = Annotated[
    SimulatedChargerConfig | TwcChargerConfig | PrismChargerConfig | PrismUbusChargerConfig,
    Field(discriminator="type"),
]


def _models_by_type(config: object) -> dict[object, type[BaseModel]]:
    """``{type key: model}`` of a discriminated ``Annotated[A | B, ...]`` (or single-model) config."""
    inner = get_args(config)[0]
    models = get_args(inner) or (inner,)
    return {tag: model for model in models for tag in get_args(model.model_fields["type"].annotation)}


_CHARGER_MODELS = _models_by_type(ChargerConfig)


# ------------------------------------------------------------------------------------- site and rest


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
        _SITE.max_meter_age_s, gt=0, le=3600, description="A grid reading older than this is stale: failsafe (s)."
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


class LoadpointConfig(ConfigModel):
    """A charger with a car behind it, and how to charge it."""

    charger: str = Field(description="Name of the charger of this loadpoint.")
    min_a: float = Field(
        _LP_DEFAULTS["min_a"], gt=0, le=_MAX_AMPS, description="Lowest current the car charges with (A)."
    )
    max_a: float = Field(
        _LP_DEFAULTS["max_a"], gt=0, le=_MAX_AMPS, description="Highest current for this loadpoint (A)."
    )
    phases: Literal[1, 3] | None = Field(None, description="Phases used; null: the site's phases.")
    priority: int = Field(
        _LP_DEFAULTS["priority"], ge=-1000, le=1000, description="Higher priority gets the surplus first."
    )
    circuit: str | None = Field(_LP_DEFAULTS["circuit"], description="Name of the circuit it is wired to.")
    mode: Mode = Field(_LP_DEFAULTS["mode"], description="Mode at start: off, now, minpv or pv.")
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
    tick_s: float = Field(1.0, gt=0, le=60, description="Period of the engine's timer tick (s).")

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

    data_dir: Path | None = Field(
        None, description="Where ecotrack writes its data; null: the platform's user data directory."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    site: SiteConfig = Field(description="The house: meters to read and site-wide limits.")
    meters: dict[str, MeterConfig] = Field(description="Meters by name.")
    chargers: dict[str, ChargerConfig] = Field(description="Chargers by name.")
    loadpoints: dict[str, LoadpointConfig] = Field(description="Loadpoints (charger + car) by name.")
    circuits: dict[str, CircuitConfig] = Field(
        default_factory=dict, description="Circuits (fuses, cables) by name; a tree via parent."
    )
    control: ControlConfig = Field(default_factory=ControlConfig, description="Control tuning.")
    mqtt: MqttConfig | None = Field(
        None, description="MQTT broker: MQTT meters and the Prism, control topics, status, Home Assistant."
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="History database (issue 6).")
    tariff: TariffConfig | None = Field(None, description="Electricity prices for cost and plans.")
    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict, description="Charging schedules by name.")
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
        problems = list(_cross_check(self.model_dump(mode="python")))
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {r}" for p, r in problems))
        return self

    def loadpoint_phases(self, name: str) -> int:
        """Phases of loadpoint ``name`` (its own setting, else the site's)."""
        lp = self.loadpoints[name]
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
            charger = self.chargers.get(lp.charger)
            if charger is not None:
                values["charger_max_a"] = charger.max_a
            values["mode"] = lp.mode
            loadpoints.append(LoadpointParams(name=name, **values))
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
            summary=self.summary(),
        )

    def summary(self) -> str:
        """One line naming the meters, chargers and loadpoints."""

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
            ]
        )


# ---------------------------------------------------------------------------------------- cross-checks

_Path = tuple[str | int, ...]
_M = TypeVar("_M", bound=BaseModel)


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
    rules = data.get("rules")
    limits = rules.get("energy_limit_kwh") if isinstance(rules, Mapping) else None
    if isinstance(limits, Mapping):
        for lp in limits:
            if err := known("loadpoint", loadpoints, lp):
                yield ("rules", "energy_limit_kwh", lp), err


def _cross_check(data: Any) -> Iterator[tuple[_Path, str]]:
    """Reference and range checks across sections, on raw (possibly invalid) data.

    Yields ``(key path, reason)``. Values of the wrong type are skipped: field validation reports them.
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
        min_a = lp.get("min_a", _LP_DEFAULTS["min_a"])
        max_a = lp.get("max_a", _LP_DEFAULTS["max_a"])
        if _is_number(min_a) and _is_number(max_a) and 0 < max_a < min_a:
            yield ("loadpoints", lp_name, "min_a"), f"min_a ({min_a:g} A) is above max_a ({max_a:g} A)"
        charger_max = _charger_max_a(chargers.get(charger)) if isinstance(charger, str) else None
        if _is_number(min_a) and charger_max is not None and 0 < charger_max < min_a:
            yield (
                ("loadpoints", lp_name, "min_a"),
                f"min_a ({min_a:g} A) is above the maximum of charger {charger!r} ({charger_max:g} A); "
                "it could never charge",
            )

    if "loadpoints" in data:
        yield from _planning_refs(data, loadpoints, known)

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


def _charger_max_a(charger: object) -> float | None:
    """The ``max_a`` of a raw charger entry (its type's default when unset), or None when unknown."""
    if not isinstance(charger, Mapping):
        return None
    model = _CHARGER_MODELS.get(charger.get("type"))
    if model is None:
        return None
    field = model.model_fields.get("max_a")
    value = charger.get("max_a", field.default if field is not None else None)
    return float(value) if _is_number(value) else None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration.

    ``line`` is 1-based, or ``None`` when unknown or when the value came from the environment variable
    ``env_var``. ``path`` is the dotted key path (``loadpoints.garage.min_a``); empty for the whole file.
    """

    file: str
    line: int | None
    path: str
    reason: str
    env_var: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        reason = self.reason
        if self.env_var:
            reason += f" (from environment variable {self.env_var})"
        return ": ".join(p for p in (where, self.path, reason) if p)


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = sorted(
            issues, key=lambda i: (i.line is None, i.line or 0, i.path, i.reason)
        )
        super().__init__("\n".join(str(i) for i in self.issues))


# ------------------------------------------------------------------------------------------ YAML load

_LineMap = dict[tuple[str, ...], int]


def _index_lines(node: yaml.Node, prefix: tuple[str, ...], lines: _LineMap, dupes: list[_Path]) -> None:
    """Record the 1-based line of every key (and sequence item) below ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = (*prefix, key)
            if key in seen:
                dupes.append(path)
            seen.add(key)
            lines[path] = key_node.start_mark.line + 1
            _index_lines(value_node, path, lines, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, str(i))
            lines[path] = item.start_mark.line + 1
            _index_lines(item, path, lines, dupes)


def _read_yaml(path: Path) -> tuple[Any, _LineMap, list[ConfigIssue]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [ConfigIssue(file, None, "", "file not found")]
    except IsADirectoryError:
        return None, {}, [ConfigIssue(file, None, "", "is a directory, not a configuration file")]
    except (OSError, UnicodeDecodeError) as e:
        return None, {}, [ConfigIssue(file, None, "", f"cannot read: {e}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        reason = "YAML syntax error: " + " ".join(s for s in (e.context, e.problem) if s)
        return None, {}, [ConfigIssue(file, mark.line + 1 if mark else None, "", reason)]
    except yaml.YAMLError as e:
        return None, {}, [ConfigIssue(file, None, "", f"YAML error: {e}")]
    finally:
        loader.dispose()
    lines: _LineMap = {(): 1}
    dupes: list[_Path] = []
    if node is not None:
        _index_lines(node, (), lines, dupes)
    issues = [
        ConfigIssue(file, lines.get(tuple(map(str, p))), _dotted(p), "duplicate key (the last one wins)")
        for p in dupes
    ]
    if data is None:
        issues.append(
            ConfigIssue(
                file, 1, "", "the file is empty; expected a mapping with site, meters, chargers, loadpoints"
            )
        )
    elif not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        issues.append(
            ConfigIssue(file, 1, "", f"the top level must be a mapping (site:, meters:, ...), not {kind}")
        )
    return data, lines, issues


def _dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------------------- environment


_INT_RE = re.compile(r"[-+]?\d+")
_FLOAT_RE = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


class _EnvValueError(ValueError):
    """An environment value that cannot be used at all (reported with the variable's name)."""


def _parse_env_value(raw: str) -> Any:
    """An environment variable's value as a config value.

    Integer and float literals become numbers; ``true``/``false`` (any case) bools; ``null`` (any case)
    and ``~`` None; a value starting with ``[`` or ``{`` is a YAML flow collection. Everything else
    stays the raw string, which pydantic converts in lax mode: unlike YAML 1.1, ``off`` stays a word
    (a mode), ``07:30`` stays a time, and ``16 # A`` is not the number 16. Raises
    :class:`_EnvValueError` for an empty value or a broken flow collection.
    """
    value = raw.strip()
    if not value:
        raise _EnvValueError("empty value; unset the variable or write null explicitly")
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    lower = value.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower == "null" or value == "~":
        return None
    if value[0] in "[{":
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            raise _EnvValueError(f"not a valid YAML flow collection: {problem}") from None
        if not isinstance(parsed, list | dict):
            raise _EnvValueError("not a valid YAML flow collection")
        return parsed
    return raw


def _apply_env(
    data: dict[str, Any], env: Mapping[str, str], file: str
) -> tuple[dict[tuple[str, ...], str], list[ConfigIssue]]:
    """Apply ``ECOTRACK__...`` overrides to ``data`` in place.

    Returns the key paths that were set (mapped to the variable names) and problems.
    """
    set_paths: dict[tuple[str, ...], str] = {}
    issues: list[ConfigIssue] = []
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX):
            continue
        segments = var[len(ENV_PREFIX) :].split("__")
        if not segments or any(not s for s in segments):
            issues.append(ConfigIssue(file, None, "", "malformed variable name (empty key segment)", var))
            continue
        node: Any = data
        path: list[str] = []
        ok = True
        for i, seg in enumerate(segments):
            match = next((k for k in node if str(k).lower() == seg.lower()), None)
            key = match if match is not None else seg.lower()
            path.append(str(key))
            if i == len(segments) - 1:
                try:
                    node[key] = _parse_env_value(env[var])
                except _EnvValueError as e:
                    issues.append(ConfigIssue(file, None, _dotted(path), str(e), var))
                    ok = False
                break
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                issues.append(
                    ConfigIssue(file, None, _dotted(path), "is not a mapping; cannot set a key below it", var)
                )
                ok = False
                break
            node = child
        if ok:
            set_paths[tuple(path)] = var
    return set_paths, issues


# ------------------------------------------------------------------------------------------- loading


def _real_path(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union tags from ``loc``, keeping keys present in the data (or the last one)."""
    out: list[str | int] = []
    node = data
    for i, elem in enumerate(loc):
        present = (isinstance(node, dict) and elem in node) or (
            isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)
        )
        if present:
            out.append(elem)
            node = node[elem]
        elif i == len(loc) - 1:
            out.append(elem)
        # else: a union tag such as "replay" or "function-after[...]"
    return tuple(out)


def _locate(
    path: tuple[str | int, ...], lines: _LineMap, env_paths: Mapping[tuple[str, ...], str]
) -> tuple[int | None, str | None]:
    """Line and environment variable responsible for the value at ``path``."""
    spath = tuple(str(p) for p in path)
    for env_path, var in env_paths.items():
        if spath[: len(env_path)] == env_path:
            return None, var
    if spath not in lines:
        for env_path, var in env_paths.items():
            if env_path[: len(spath)] == spath:
                return None, var
    for n in range(len(spath), -1, -1):
        if spath[:n] in lines:
            return lines[spath[:n]], None
    return None, None


def _reason(err: Mapping[str, Any]) -> str:
    kind = err.get("type")
    if kind == "missing":
        return "required setting is missing"
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r} (known: {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return "missing 'type' (which kind of device this is)"
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def _resolve_relative(cfg: Config, base: Path) -> Config:
    """Expand ``~`` and make relative paths relative to the config file's directory ``base``."""

    def fix(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else base / p

    def fix_model(model: _M) -> _M:
        updates = {
            name: fix(value)
            for name in type(model).model_fields
            if isinstance(value := getattr(model, name), Path)
        }
        return model.model_copy(update=updates) if updates else model

    return cfg.model_copy(
        update={
            "data_dir": fix(cfg.data_dir) if cfg.data_dir is not None else None,
            "meters": {n: fix_model(m) for n, m in cfg.meters.items()},
            "chargers": {n: fix_model(c) for n, c in cfg.chargers.items()},
        }
    )


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, override from the environment and validate a configuration file.

    ``env`` defaults to ``os.environ``; pass ``{}`` to ignore the environment. Relative paths in the file
    (``data_dir``, a replay ``trace``) are taken relative to the file's directory. Raises
    :class:`ConfigError` listing every problem.
    """
    path = Path(path)
    file = str(path)
    data, lines, issues = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(issues)
    env_paths, env_issues = _apply_env(data, os.environ if env is None else env, file)
    issues += env_issues

    def issue(loc: tuple[str | int, ...], reason: str) -> ConfigIssue:
        real = _real_path(loc, data)
        line, var = _locate(real, lines, env_paths)
        return ConfigIssue(file, line, _dotted(real), reason, var)

    cfg: Config | None = None
    try:
        cfg = Config.model_validate(data, context={"skip_cross_check": True})
    except ValidationError as e:
        issues += [issue(tuple(err["loc"]), _reason(cast(Mapping[str, Any], err))) for err in e.errors()]
    issues += [issue(p, reason) for p, reason in _cross_check(data)]
    if issues or cfg is None:
        raise ConfigError(issues)
    return _resolve_relative(cfg, path.parent)


def resolve_data_dir(config: Config | None, cli_value: Path | str | None = None) -> Path:
    """The directory for everything ecotrack writes, created if needed.

    ``--data-dir`` on the command line wins over ``data_dir`` in the config, which wins over the
    platform's user data directory.
    """
    if cli_value is not None and str(cli_value) != "":
        chosen = Path(cli_value).expanduser()
    elif config is not None and config.data_dir is not None:
        chosen = config.data_dir.expanduser()
    else:
        chosen = Path(platformdirs.user_data_dir("ecotrack", appauthor=False))
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file (for ``ecotrack config schema`` and editors)."""
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
