"""Configuration models of the vehicle source types (``vehicles:`` section) and their registry specs.

Light on purpose (no aiomqtt or httpx import): :mod:`ecotrack.devices.builtin` lists this module, and
the configuration's ``vehicles:`` union is built from the specs below.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec
from ecotrack.transport.mqtt.config import check_topic_prefix
from ecotrack.transport.mqtt.topics import validate_topic

__all__ = [
    "DRIVERS",
    "BleControlConfig",
    "FleetTelemetryVehicleConfig",
    "HomeAssistantVehicleConfig",
    "HomeConfig",
    "MqttVehicleConfig",
    "SimulatedVehicleConfig",
    "TeslaMateVehicleConfig",
    "TeslaVehicleChargerConfig",
    "TeslaVehicleConfig",
    "VehicleValueConfig",
    "cannot_be_commanded",
]


class HomeConfig(ConfigModel):
    """Where home is: coordinates with a radius, and/or geofence names the car's bridge reports."""

    latitude: float | None = Field(None, ge=-90, le=90, description="Latitude of the site (degrees).")
    longitude: float | None = Field(None, ge=-180, le=180, description="Longitude of the site (degrees).")
    radius_m: float = Field(150.0, gt=0, le=100_000, description="The car is at home within this distance (m).")
    geofences: list[str] = Field(
        default_factory=lambda: ["Home"],
        max_length=20,
        description="Geofence names that mean 'at home' (compared without case), e.g. TeslaMate's.",
    )

    @model_validator(mode="after")
    def _pair(self) -> HomeConfig:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class BleControlConfig(ConfigModel):
    """Commands over Bluetooth through Tesla's ``tesla-control`` program (the vehicle's ``vin`` is required)."""

    type: Literal["tesla-ble"] = Field(description="Control type.")
    key_file: Path = Field(description="The private key paired with the car (tesla-control -key-file).")
    program: str = Field(
        "tesla-control", min_length=1, max_length=300, description="The tesla-control executable (name or path)."
    )
    timeout_s: float = Field(30.0, gt=0, le=300, description="Longest wait for one command (s).")


class _VehicleBase(ConfigModel):
    capacity_kwh: float | None = Field(
        None, ge=1, le=500, description="Usable battery size (kWh), for plans by state of charge."
    )
    vin: str | None = Field(
        None,
        pattern=r"^[A-HJ-NPR-Z0-9]{17}$",
        description="Vehicle identification number: a TWC reporting this VIN selects this car.",
    )
    min_soc_pct: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Below this state of charge the car charges at full power, whatever the mode (%).",
    )
    home: HomeConfig | None = Field(None, description="Where home is, for 'at home'; null: as the source says.")
    control: BleControlConfig | None = Field(
        None, description="How to command the car (start, stop, amps) when its source cannot: tesla-ble."
    )
    max_payload_bytes: int = Field(
        16 * 1024, ge=64, le=1024 * 1024, description="Larger MQTT messages are rejected unread (bytes)."
    )


class TeslaMateVehicleConfig(_VehicleBase):
    """A car logged by TeslaMate, read from its MQTT topics ``teslamate/cars/<car_id>/...``."""

    type: Literal["teslamate"] = Field(description="Vehicle source type.")
    car_id: int = Field(1, ge=1, le=10_000, description="TeslaMate's car id (1 for the first car).")
    base_topic: str = Field("teslamate", description="TeslaMate's MQTT namespace prefix.")

    _check_base = field_validator("base_topic")(check_topic_prefix)


class FleetTelemetryVehicleConfig(_VehicleBase):
    """Tesla Fleet Telemetry records published to MQTT: ``<base_topic>/<VIN>/v/<Field>`` with JSON values."""

    type: Literal["tesla-fleet-telemetry"] = Field(description="Vehicle source type.")
    base_topic: str = Field("telemetry", description="The fleet-telemetry server's MQTT topic_base.")
    vin: str = Field(
        pattern=r"^[A-HJ-NPR-Z0-9]{17}$", description="The car's VIN (part of every topic)."
    )

    _check_base = field_validator("base_topic")(check_topic_prefix)


class VehicleValueConfig(ConfigModel):
    """Where one value comes from: a topic, optionally a dotted path into its JSON payload."""

    topic: str = Field(description="Topic of the value.")
    path: str = Field("", max_length=200, description="Dotted path into a JSON payload; empty: the payload itself.")

    @field_validator("topic")
    @classmethod
    def _check(cls, v: str) -> str:
        return validate_topic(v)


class MqttVehicleConfig(_VehicleBase):
    """Any car bridge on MQTT: one topic (and JSON path) per value."""

    type: Literal["mqtt"] = Field(description="Vehicle source type.")
    soc: VehicleValueConfig | None = Field(None, description="State of charge (%).")
    charge_limit: VehicleValueConfig | None = Field(None, description="The car's charge limit (%).")
    plugged_in: VehicleValueConfig | None = Field(None, description="Plugged in (true/false, 1/0, on/off).")
    charging: VehicleValueConfig | None = Field(None, description="Charging (true/false, 1/0, on/off).")
    at_home: VehicleValueConfig | None = Field(None, description="At home (true/false), if the bridge knows.")
    geofence: VehicleValueConfig | None = Field(None, description="Geofence name, compared with home.geofences.")
    latitude: VehicleValueConfig | None = Field(None, description="Latitude (degrees).")
    longitude: VehicleValueConfig | None = Field(None, description="Longitude (degrees).")
    range_km: VehicleValueConfig | None = Field(None, description="Estimated range (km).")

    @model_validator(mode="after")
    def _needs_soc_or_plug(self) -> MqttVehicleConfig:
        if self.soc is None and self.plugged_in is None:
            raise ValueError("configure at least soc or plugged_in")
        return self


class HomeAssistantVehicleConfig(_VehicleBase):
    """A car known to Home Assistant, read from HA's MQTT statestream (``<base_topic>/<domain>/<object>/state``).

    Home Assistant's ``mqtt_statestream`` integration publishes every entity's state on MQTT, so the
    car's entities reach ecotrack through the broker it already uses, without a token. A
    ``device_tracker`` state ``home`` means at home; its ``latitude``/``longitude`` attributes (with
    ``publish_attributes: true``) are used with ``home:`` coordinates.
    """

    type: Literal["homeassistant"] = Field(description="Vehicle source type.")
    base_topic: str = Field("homeassistant", description="mqtt_statestream's base_topic.")
    soc_entity: str | None = Field(None, description="Entity of the state of charge, e.g. sensor.car_battery.")
    charge_limit_entity: str | None = Field(None, description="Entity of the charge limit (%), e.g. number.car_limit.")
    plugged_entity: str | None = Field(None, description="Entity of plugged in (on/off), e.g. binary_sensor.car_plug.")
    charging_entity: str | None = Field(None, description="Entity of charging (on/off).")
    location_entity: str | None = Field(None, description="device_tracker of the car ('home' = at home).")
    range_entity: str | None = Field(None, description="Entity of the range (km).")

    _check_base = field_validator("base_topic")(check_topic_prefix)

    @field_validator(
        "soc_entity", "charge_limit_entity", "plugged_entity", "charging_entity", "location_entity", "range_entity"
    )
    @classmethod
    def _entity(cls, v: str | None) -> str | None:
        if v is not None and not _is_entity(v):
            raise ValueError("must be an entity id like sensor.car_battery_level")
        return v

    @model_validator(mode="after")
    def _needs_soc_or_plug(self) -> HomeAssistantVehicleConfig:
        if self.soc_entity is None and self.plugged_entity is None:
            raise ValueError("configure at least soc_entity or plugged_entity")
        return self


class SimulatedVehicleConfig(_VehicleBase):
    """A simulated Tesla for the demo and tests: follows commands after ``reaction_s``, fills its battery."""

    type: Literal["simulated"] = Field(description="Vehicle source type.")
    soc_pct: float = Field(50.0, ge=0, le=100, description="State of charge at start (%).")
    charge_limit_pct: float = Field(80.0, ge=50, le=100, description="The car's charge limit (%).")
    plugged_in: bool = Field(True, description="Plugged in at start.")
    reaction_s: float = Field(20.0, ge=0, le=300, description="How long the car takes to follow a command (s).")
    max_a: float = Field(32.0, ge=1, le=48, description="Most the car's onboard charger draws (A).")
    voltage_v: float = Field(230.0, ge=100, le=480, description="Voltage per phase (V).")
    phases: Literal[1, 3] = Field(1, description="Phases the car charges on.")


class TeslaVehicleChargerConfig(ConfigModel):
    """The car as the charger: a dumb EVSE or Mobile Connector, the current set through the car's commands."""

    type: Literal["tesla-vehicle"] = Field(description="Charger type.")
    vehicle: str = Field(min_length=1, description="Name of a vehicle (vehicles:) that can be commanded.")
    max_a: float = Field(
        16.0, ge=1, le=32, description="Most the car may be told to draw (A): the EVSE's or socket's rating."
    )
    phases: Literal[1, 3] = Field(1, description="Phases the car charges on.")
    voltage_v: float = Field(230.0, ge=100, le=480, description="Voltage per phase (V), for the power.")
    max_commands_per_hour: int = Field(
        60, ge=1, le=600, description="Most raises (start, more amps) sent per hour; cuts are always sent."
    )
    report_interval_s: float = Field(5.0, gt=0, le=60, description="How often the car's state is reported (s).")


#: Tesla's regional Fleet API hosts.
TESLA_REGIONS: dict[str, str] = {
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}


class TeslaVehicleConfig(_VehicleBase):
    """A Tesla read through the Tesla Fleet API (OAuth2; every request is billed).

    ecotrack asks the car's state (``GET /api/1/vehicles/{vin}``, which never wakes it) and reads
    ``vehicle_data`` only when the car is awake and either plugged in at home or not read yet: a
    sleeping car is left asleep. The refresh token is kept, rotated, in ``token_file`` (mode 0600).
    """

    type: Literal["tesla"] = Field(description="Vehicle source type.")
    vin: str = Field(pattern=r"^[A-HJ-NPR-Z0-9]{17}$", description="The car's VIN.")
    region: Literal["eu", "na", "cn"] = Field("eu", description="Fleet API region of the account (eu, na, cn).")
    base_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        description="Fleet API base URL; null: the region's. A vehicle-command proxy's URL for signed commands.",
    )
    token_url: str = Field(
        "https://auth.tesla.com/oauth2/v3/token",
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        description="OAuth2 token endpoint.",
    )
    client_id: str = Field(min_length=1, max_length=200, description="Client id of your Tesla developer app.")
    refresh_token: SecretStr | None = Field(
        None,
        description="OAuth2 refresh token, needed once: it is then kept (rotated) in token_file. Prefer the "
        "environment: ECOTRACK__VEHICLES__<NAME>__REFRESH_TOKEN.",
    )
    token_file: Path | None = Field(
        None, description="Where the tokens are kept (mode 0600); null: tesla-<name>.json in the data directory."
    )
    poll_interval_s: float = Field(
        60.0, ge=10, le=3600, description="How often to read the car while it is plugged in at home (s)."
    )
    idle_interval_s: float = Field(
        600.0, ge=60, le=86_400, description="How often to look at the car's state otherwise (s); never wakes it."
    )
    reread_s: float = Field(
        1800.0,
        ge=300,
        le=86_400,
        description="An awake car that is not charging at home is read again after this long, to notice it was "
        "plugged in (s); reading more often keeps a car from falling asleep.",
    )
    timeout_s: float = Field(20.0, gt=0, le=120, description="HTTP timeout per request (s).")
    commands: bool = Field(True, description="Send charge commands through the API (unless control: is set).")
    command_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        max_length=300,
        description="Base URL for commands, e.g. Tesla's vehicle-command proxy for cars that need signed "
        "commands; null: the API's base URL.",
    )

    def api_url(self) -> str:
        """The base URL requests go to."""
        return (self.base_url or TESLA_REGIONS[self.region]).rstrip("/")


def cannot_be_commanded(name: str, raw: object) -> str | None:
    """Why the vehicle entry ``raw`` (its configuration as written) cannot be commanded, or None when it can.

    Commands come from the Fleet API (``type: tesla`` unless ``commands: false``), from ``control:``
    (tesla-ble) or from the simulated car.
    """
    if not isinstance(raw, Mapping):
        return None  # field validation reports it
    kind = raw.get("type")
    if raw.get("control") is not None or kind == "simulated" or (kind == "tesla" and raw.get("commands", True)):
        return None
    return (
        f"vehicle {name!r} cannot be commanded (type {kind}); use type: tesla, "
        "or add control: {type: tesla-ble, key_file: ...} to it"
    )


def _is_entity(v: str) -> bool:
    domain, dot, obj = v.partition(".")
    ok = set("abcdefghijklmnopqrstuvwxyz0123456789_")
    return bool(dot and domain and obj and set(domain) <= ok and set(obj) <= ok and len(v) <= 255)


_MQTT = frozenset({"mqtt"})

#: The vehicle sources (see :mod:`ecotrack.devices.registry`); aiomqtt/httpx load only when built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "vehicle", "teslamate", TeslaMateVehicleConfig, "ecotrack.vehicles.mqtt:TeslaMateVehicle.from_config", _MQTT
    ),
    DriverSpec(
        "vehicle",
        "tesla-fleet-telemetry",
        FleetTelemetryVehicleConfig,
        "ecotrack.vehicles.mqtt:FleetTelemetryVehicle.from_config",
        _MQTT,
    ),
    DriverSpec("vehicle", "mqtt", MqttVehicleConfig, "ecotrack.vehicles.mqtt:GenericMqttVehicle.from_config", _MQTT),
    DriverSpec("vehicle", "simulated", SimulatedVehicleConfig, "ecotrack.vehicles.simulated:SimulatedCar.from_config"),
    DriverSpec(
        "charger",
        "tesla-vehicle",
        TeslaVehicleChargerConfig,
        "ecotrack.vehicles.charger:TeslaVehicleCharger.from_config",
    ),
    DriverSpec("vehicle", "tesla", TeslaVehicleConfig, "ecotrack.vehicles.tesla:TeslaVehicle.from_config"),
    DriverSpec(
        "vehicle",
        "homeassistant",
        HomeAssistantVehicleConfig,
        "ecotrack.vehicles.mqtt:HomeAssistantVehicle.from_config",
        _MQTT,
    ),
)
