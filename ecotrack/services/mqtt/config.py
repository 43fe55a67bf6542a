"""Configuration of the MQTT service: the ``mqtt:`` section (the broker plus status, control, compatibility
topics and Home Assistant discovery)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.transport.mqtt.config import MqttConnectionConfig, check_topic_prefix

__all__ = [
    "EcotrackCompatConfig",
    "HomeAssistantConfig",
    "MqttConfig",
    "MqttStatusConfig",
    "TwcManagerCompatConfig",
]


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
    deadband_w: float = Field(
        20.0, ge=0, le=100_000, description="Power changes smaller than this are not published (W)."
    )
    deadband_a: float = Field(
        0.1, ge=0, le=100, description="Current changes smaller than this are not published (A)."
    )
    deadband_wh: float = Field(
        10.0, ge=0, le=1_000_000, description="Energy changes smaller than this are not published (Wh)."
    )
    deadband_v: float = Field(
        1.0, ge=0, le=100, description="Voltage changes smaller than this are not published (V)."
    )
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
        None,
        description="Loadpoint the commands act on; null: the only loadpoint (an error when there are several).",
    )
    command_prefix: str = Field(
        "cmnd/prism", description="Commands arrive on <command_prefix>/mode and /limit."
    )
    status_prefix: str | None = Field(
        None,
        description="Publish <status_prefix>/cA (the new current) and /status (JSON) like the seed did; "
        "null: do not. The seed used 'stat/prism'.",
    )
    half_a: float = Field(
        16.0, gt=0, le=80, description="Current of the 'half' command (A); the seed's max-curr."
    )
    status_every_s: float = Field(60.0, gt=0, le=3600, description="Publish /status at least this often (s).")

    _check_cmd = field_validator("command_prefix")(check_topic_prefix)

    @field_validator("status_prefix")
    @classmethod
    def _check_stat(cls, v: str | None) -> str | None:
        return None if v is None else check_topic_prefix(v)


class TwcManagerCompatConfig(ConfigModel):
    """TWCManager's MQTT control topics (``<prefix>/control/chargeNow`` = ``"amps,seconds"``, ``chargeNowEnd``)."""

    prefix: str = Field("TWC", description="TWCManager's MQTT topic prefix.")
    loadpoints: list[str] | None = Field(
        None, description="Loadpoints the commands act on; null: all of them (TWCManager controls every TWC)."
    )

    _check_prefix = field_validator("prefix")(check_topic_prefix)


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

    _check_prefix = field_validator("prefix")(check_topic_prefix)


class MqttConfig(MqttConnectionConfig):
    """The MQTT broker and what ecotrack publishes and accepts on it."""

    control: bool = Field(True, description="Accept setters on <prefix>/loadpoints/<id>/<key>/set.")
    status: MqttStatusConfig = Field(default_factory=MqttStatusConfig, description="Retained status topics.")
    ecotrack_compat: EcotrackCompatConfig | None = Field(
        None,
        description="Accept the seed program's cmnd/prism/mode and /limit (and optionally publish stat/prism).",
    )
    twcmanager_compat: TwcManagerCompatConfig | None = Field(
        None, description="Accept TWCManager's <prefix>/control/chargeNow and chargeNowEnd."
    )
    homeassistant: HomeAssistantConfig = Field(
        default_factory=HomeAssistantConfig, description="Home Assistant discovery."
    )
