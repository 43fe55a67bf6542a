"""Configuration models of the MQTT meter types (the ecotrack monitor, emonhub, DSMR-reader, generic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec
from ecotrack.transport.mqtt.config import check_topic_prefix
from ecotrack.transport.mqtt.payloads import MAX_PAYLOAD_BYTES
from ecotrack.transport.mqtt.topics import validate_topic

__all__ = [
    "DRIVERS",
    "DsmrReaderMeterConfig",
    "EcotrackMonitorMeterConfig",
    "EmonhubMeterConfig",
    "MqttMeterConfig",
    "MqttValueConfig",
]


class _MqttMeterBase(ConfigModel):
    max_payload_bytes: int = Field(
        MAX_PAYLOAD_BYTES,
        ge=64,
        le=16 * 1024 * 1024,
        description="Larger messages are rejected unread (bytes).",
    )


class EcotrackMonitorMeterConfig(_MqttMeterBase):
    """The seed ecotrack's energy monitor: JSON on ``emon/data`` with ``type: power``, ``pwr1`` (+ import), ``volts``."""

    type: Literal["ecotrack-monitor"] = Field(description="Meter type.")
    topic: str = Field("emon/data", description="Topic of the monitor's JSON messages.")
    grid_key: str = Field(
        "pwr1", min_length=1, description="Key of the house-feed power (W, + import / - export)."
    )
    voltage_key: str | None = Field("volts", description="Key of the mains voltage (V); null: none.")
    pv_key: str | None = Field(
        None, description="Key of the PV power (W), e.g. 'pwr2' when that CT measures the panels; null: none."
    )

    _check_topic = field_validator("topic")(validate_topic)


class EmonhubMeterConfig(_MqttMeterBase):
    """OpenEnergyMonitor emonhub: ``emon/<node>/<key>`` plain numbers, or one JSON object on ``emon/<node>``."""

    type: Literal["emonhub"] = Field(description="Meter type.")
    base_topic: str = Field("emon", description="emonhub's MQTT base topic.")
    node: str = Field(
        min_length=1, pattern=r"^[^/+#]+$", description="Node name, e.g. 'emonpi' or 'emontx4'."
    )
    grid_key: str = Field("power1", min_length=1, description="Key of the grid power (W).")
    grid_invert: bool = Field(
        False, description="Flip the grid sign (when the CT reads + for export instead of + for import)."
    )
    pv_key: str | None = Field(None, description="Key of the PV power (W); null: none.")
    pv_invert: bool = Field(False, description="Flip the PV sign (PV must come out >= 0).")
    voltage_key: str | None = Field("vrms", description="Key of the voltage (V); null: none.")
    max_age_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="A PV or voltage value older than this is not combined with a grid value (s).",
    )

    _check_base = field_validator("base_topic")(check_topic_prefix)


class DsmrReaderMeterConfig(_MqttMeterBase):
    """DSMR-reader's JSON telegram topic (Dutch/Belgian smart meters): delivered - returned, in kW."""

    type: Literal["dsmr-reader"] = Field(description="Meter type.")
    topic: str = Field("dsmr/json", description="DSMR-reader's 'JSON telegram' topic.")
    delivered_key: str = Field(
        "electricity_currently_delivered", description="Key of the power delivered (kW)."
    )
    returned_key: str = Field("electricity_currently_returned", description="Key of the power returned (kW).")
    voltage_key: str | None = Field("phase_voltage_l1", description="Key of the voltage (V); null: none.")

    _check_topic = field_validator("topic")(validate_topic)


class MqttValueConfig(ConfigModel):
    """Where one value comes from: a topic, optionally a dotted path into its JSON, a scale and a sign."""

    topic: str = Field(description="Topic of the value.")
    path: str = Field(
        "",
        description="Dotted path into a JSON payload ('ENERGY.Power', 'phases.0.w'); empty: the payload is "
        "a plain number.",
    )
    scale: float = Field(1.0, description="Factor applied to the value (e.g. 1000 for kW -> W).")
    invert: bool = Field(False, description="Flip the sign after scaling.")

    @field_validator("topic")
    @classmethod
    def _check(cls, v: str) -> str:
        return validate_topic(v)

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("must not be 0")
        return v


class MqttMeterConfig(_MqttMeterBase):
    """Generic MQTT meter: one topic per value, plain number or JSON with a path; scale and sign per value."""

    type: Literal["mqtt"] = Field(description="Meter type.")
    grid: MqttValueConfig | None = Field(None, description="Grid power (W after scaling, + import).")
    pv: MqttValueConfig | None = Field(None, description="PV power (W after scaling, >= 0).")
    battery: MqttValueConfig | None = Field(
        None, description="Home-battery power (W after scaling, + discharge)."
    )
    battery_soc: MqttValueConfig | None = Field(None, description="Home-battery state of charge (%).")
    voltage: MqttValueConfig | None = Field(None, description="Voltage (V).")
    max_age_s: float = Field(
        30.0, gt=0, le=3600, description="Values older than this are not combined into a reading (s)."
    )

    @model_validator(mode="after")
    def _needs_value(self) -> MqttMeterConfig:
        if all(v is None for v in (self.grid, self.pv, self.battery, self.battery_soc, self.voltage)):
            raise ValueError("configure at least one of grid, pv, battery, battery_soc, voltage")
        return self


#: The drivers of this package (see :mod:`ecotrack.devices.registry`); they load httpx, pymodbus or
#: pyserial only when built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "meter",
        "ecotrack-monitor",
        EcotrackMonitorMeterConfig,
        "ecotrack.meters.mqtt.sources:EcotrackMonitorSource.from_config",
        transports=frozenset({"mqtt"}),
    ),
    DriverSpec(
        "meter",
        "emonhub",
        EmonhubMeterConfig,
        "ecotrack.meters.mqtt.sources:EmonhubSource.from_config",
        transports=frozenset({"mqtt"}),
    ),
    DriverSpec(
        "meter",
        "dsmr-reader",
        DsmrReaderMeterConfig,
        "ecotrack.meters.mqtt.sources:DsmrReaderSource.from_config",
        transports=frozenset({"mqtt"}),
    ),
    DriverSpec(
        "meter",
        "mqtt",
        MqttMeterConfig,
        "ecotrack.meters.mqtt.sources:GenericMqttSource.from_config",
        transports=frozenset({"mqtt"}),
    ),
)
