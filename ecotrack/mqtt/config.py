"""Configuration models of the MQTT feature: the ``mqtt:`` section and the MQTT meter types.

:mod:`ecotrack.config` imports these (one ``mqtt:`` field on ``Config`` plus the meter types in the
``MeterConfig`` union); they live here, next to the code that uses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ecotrack.config_base import ConfigModel
from ecotrack.mqtt.payloads import MAX_PAYLOAD_BYTES
from ecotrack.mqtt.topics import validate_topic

__all__ = [
    "DsmrReaderMeterConfig",
    "EcotrackCompatConfig",
    "EcotrackMonitorMeterConfig",
    "EmonhubMeterConfig",
    "HomeAssistantConfig",
    "MqttConfig",
    "MqttMeterConfig",
    "MqttStatusConfig",
    "MqttTlsConfig",
    "MqttValueConfig",
    "TwcManagerCompatConfig",
]


def _topic(v: str) -> str:
    return validate_topic(v)


def _prefix(v: str) -> str:
    """A topic prefix: a valid topic without a trailing slash."""
    return validate_topic(v.rstrip("/"))


# ------------------------------------------------------------------------------------------- broker


class MqttTlsConfig(ConfigModel):
    """TLS to the broker. Off by default; set ``enabled: true`` (and usually port 8883)."""

    enabled: bool = Field(False, description="Connect with TLS.")
    ca_certs: Path | None = Field(
        None, description="CA bundle (PEM) to verify the broker with; null: the system's CAs."
    )
    certfile: Path | None = Field(None, description="Client certificate (PEM) for certificate login.")
    keyfile: Path | None = Field(None, description="Private key (PEM) of the client certificate.")
    insecure: bool = Field(
        False, description="Do not verify the broker's certificate or host name (testing only)."
    )

    @model_validator(mode="after")
    def _key_needs_cert(self) -> MqttTlsConfig:
        if self.keyfile is not None and self.certfile is None:
            raise ValueError("keyfile needs certfile")
        return self


class MqttStatusConfig(ConfigModel):
    """Retained status topics: ``<prefix>/site/<key>`` and ``<prefix>/loadpoints/<id>/<key>``."""

    enabled: bool = Field(True, description="Publish the state as retained topics.")
    min_interval_s: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="Rate limit: a topic is published at most this often; the latest value follows when "
        "the interval has passed (s).",
    )
    deadband_w: float = Field(20.0, ge=0, le=100_000, description="Power changes smaller than this are not published (W).")
    deadband_a: float = Field(0.1, ge=0, le=100, description="Current changes smaller than this are not published (A).")
    deadband_wh: float = Field(10.0, ge=0, le=1_000_000, description="Energy changes smaller than this are not published (Wh).")
    deadband_v: float = Field(1.0, ge=0, le=100, description="Voltage changes smaller than this are not published (V).")
    deadbands: dict[str, float] = Field(
        default_factory=dict,
        description="Per-topic deadband overriding the unit's, keyed by the topic below the prefix, e.g. "
        "'site/grid_w: 50'.",
    )

    @field_validator("deadbands")
    @classmethod
    def _check_deadbands(cls, v: dict[str, float]) -> dict[str, float]:
        for key, value in v.items():
            if not value >= 0:
                raise ValueError(f"deadband of {key!r} must be >= 0")
        return v


class EcotrackCompatConfig(ConfigModel):
    """Commands and status of the seed program ecotrack (``cmnd/prism/mode``, ``stat/prism/cA``)."""

    loadpoint: str | None = Field(
        None, description="Loadpoint the commands act on; null: the only loadpoint (an error when there are several)."
    )
    command_prefix: str = Field("cmnd/prism", description="Commands arrive on <command_prefix>/mode and /limit.")
    status_prefix: str | None = Field(
        None,
        description="Publish <status_prefix>/cA (the new current) and /status (JSON) like the seed did; "
        "null: do not. The seed used 'stat/prism'.",
    )
    half_a: float = Field(16.0, gt=0, le=80, description="Current of the 'half' command (A); the seed's max-curr.")
    status_every_s: float = Field(60.0, gt=0, le=3600, description="Publish /status at least this often (s).")

    _check_cmd = field_validator("command_prefix")(_prefix)

    @field_validator("status_prefix")
    @classmethod
    def _check_stat(cls, v: str | None) -> str | None:
        return None if v is None else _prefix(v)


class TwcManagerCompatConfig(ConfigModel):
    """TWCManager's MQTT control topics (``<prefix>/control/chargeNow`` = ``"amps,seconds"``, ``chargeNowEnd``)."""

    prefix: str = Field("TWC", description="TWCManager's MQTT topic prefix.")
    loadpoints: list[str] | None = Field(
        None, description="Loadpoints the commands act on; null: all of them (TWCManager controls every TWC)."
    )

    _check_prefix = field_validator("prefix")(_prefix)


class HomeAssistantConfig(ConfigModel):
    """Home Assistant MQTT discovery: one device per site and per loadpoint."""

    enabled: bool = Field(True, description="Publish discovery messages.")
    prefix: str = Field("homeassistant", description="Home Assistant's discovery prefix.")
    node_id: str = Field(
        "ecotrack",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Identifies this ecotrack instance in discovery topics and unique ids; change it when "
        "two instances share a broker. Entities under it that the configuration no longer has are removed.",
    )
    site_name: str = Field("ecotrack", min_length=1, description="Name of the site device in Home Assistant.")
    cleanup_wait_s: float = Field(
        1.0,
        ge=0,
        le=30,
        description="How long to collect the retained discovery messages of an earlier run before removing "
        "the ones of loadpoints no longer configured (s).",
    )

    _check_prefix = field_validator("prefix")(_prefix)


class MqttConfig(ConfigModel):
    """The MQTT broker and what ecotrack publishes and accepts on it."""

    host: str = Field("localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (1883; 8883 with TLS).")
    username: str | None = Field(None, description="User name; null: anonymous.")
    password: str | None = Field(None, description="Password (better set by ECOTRACK__MQTT__PASSWORD).")
    client_id: str = Field(
        "ecotrack",
        min_length=1,
        max_length=128,
        description="MQTT client id; must be unique on the broker (two clients with one id kick each other off).",
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="Keep-alive interval (s); the last will fires after 1.5x.")
    tls: MqttTlsConfig = Field(default_factory=MqttTlsConfig, description="TLS settings.")
    topic_prefix: str = Field(
        "ecotrack",
        description="Root of ecotrack's own topics: <prefix>/status (online/offline), <prefix>/site/..., "
        "<prefix>/loadpoints/<id>/... with setters on .../<key>/set.",
    )
    reconnect_min_s: float = Field(0.5, gt=0, le=60, description="First wait before reconnecting (s); doubles.")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="Longest wait between reconnects (s).")
    control: bool = Field(True, description="Accept setters on <prefix>/loadpoints/<id>/<key>/set.")
    status: MqttStatusConfig = Field(default_factory=MqttStatusConfig, description="Retained status topics.")
    ecotrack_compat: EcotrackCompatConfig | None = Field(
        None, description="Accept the seed program's cmnd/prism/mode and /limit (and optionally publish stat/prism)."
    )
    twcmanager_compat: TwcManagerCompatConfig | None = Field(
        None, description="Accept TWCManager's <prefix>/control/chargeNow and chargeNowEnd."
    )
    homeassistant: HomeAssistantConfig = Field(
        default_factory=HomeAssistantConfig, description="Home Assistant discovery."
    )

    _check_prefix = field_validator("topic_prefix")(_prefix)

    @model_validator(mode="after")
    def _check_backoff(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self

    @property
    def availability_topic(self) -> str:
        """``<topic_prefix>/status``: ``online`` (retained) while connected, ``offline`` as last will."""
        return f"{self.topic_prefix}/status"


# -------------------------------------------------------------------------------------------- meters


class _MqttMeterBase(ConfigModel):
    max_payload_bytes: int = Field(
        MAX_PAYLOAD_BYTES, ge=64, le=16 * 1024 * 1024, description="Larger messages are rejected unread (bytes)."
    )


class EcotrackMonitorMeterConfig(_MqttMeterBase):
    """The seed ecotrack's energy monitor: JSON on ``emon/data`` with ``type: power``, ``pwr1`` (+ import), ``volts``."""

    type: Literal["ecotrack-monitor"] = Field(description="Meter type.")
    topic: str = Field("emon/data", description="Topic of the monitor's JSON messages.")
    grid_key: str = Field("pwr1", min_length=1, description="Key of the house-feed power (W, + import / - export).")
    voltage_key: str | None = Field("volts", description="Key of the mains voltage (V); null: none.")
    pv_key: str | None = Field(
        None, description="Key of the PV power (W), e.g. 'pwr2' when that CT measures the panels; null: none."
    )

    _check_topic = field_validator("topic")(_topic)


class EmonhubMeterConfig(_MqttMeterBase):
    """OpenEnergyMonitor emonhub: ``emon/<node>/<key>`` plain numbers, or one JSON object on ``emon/<node>``."""

    type: Literal["emonhub"] = Field(description="Meter type.")
    base_topic: str = Field("emon", description="emonhub's MQTT base topic.")
    node: str = Field(min_length=1, pattern=r"^[^/+#]+$", description="Node name, e.g. 'emonpi' or 'emontx4'.")
    grid_key: str = Field("power1", min_length=1, description="Key of the grid power (W).")
    grid_invert: bool = Field(
        False, description="Flip the grid sign (when the CT reads + for export instead of + for import)."
    )
    pv_key: str | None = Field(None, description="Key of the PV power (W); null: none.")
    pv_invert: bool = Field(False, description="Flip the PV sign (PV must come out >= 0).")
    voltage_key: str | None = Field("vrms", description="Key of the voltage (V); null: none.")
    max_age_s: float = Field(
        30.0, gt=0, le=3600, description="A PV or voltage value older than this is not combined with a grid value (s)."
    )

    _check_base = field_validator("base_topic")(_prefix)


class DsmrReaderMeterConfig(_MqttMeterBase):
    """DSMR-reader's JSON telegram topic (Dutch/Belgian smart meters): delivered - returned, in kW."""

    type: Literal["dsmr-reader"] = Field(description="Meter type.")
    topic: str = Field("dsmr/json", description="DSMR-reader's 'JSON telegram' topic.")
    delivered_key: str = Field("electricity_currently_delivered", description="Key of the power delivered (kW).")
    returned_key: str = Field("electricity_currently_returned", description="Key of the power returned (kW).")
    voltage_key: str | None = Field("phase_voltage_l1", description="Key of the voltage (V); null: none.")

    _check_topic = field_validator("topic")(_topic)


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
    battery: MqttValueConfig | None = Field(None, description="Home-battery power (W after scaling, + discharge).")
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
