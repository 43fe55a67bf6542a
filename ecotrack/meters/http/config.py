"""Configuration models of the HTTP meters (one per vendor, plus the generic URL source).

Light on purpose: no httpx import, so loading a configuration stays cheap. Secrets are
``SecretStr`` so they never show in a repr, a log line or an error message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ecotrack.devices.registry import DriverSpec
from ecotrack.meters.config import MappedValue, PollConfig, RolesMixin

__all__ = [
    "DRIVERS",
    "EfergyConfig",
    "EmonCmsConfig",
    "EmonFeed",
    "EnphaseConfig",
    "FroniusConfig",
    "GrowattConfig",
    "HomeAssistantConfig",
    "HttpMeterConfig",
    "IotaWattConfig",
    "OpenHabConfig",
    "P1MonitorConfig",
    "PowerwallConfig",
    "SmartMeConfig",
    "SmartPiConfig",
    "SolarEdgeCloudConfig",
    "SolarLogConfig",
    "TedConfig",
    "UrlConfig",
    "VolkszaehlerConfig",
]


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https://, got {value!r}")
    return value.rstrip("/")


class HttpConfig(PollConfig):
    """Settings every HTTP meter has."""

    url: str = Field(
        description="Base URL of the device, e.g. http://192.168.1.20 (overridable from the environment)."
    )
    verify_tls: bool = Field(True, description="Check the HTTPS certificate (false for self-signed devices).")

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        return _http_url(v)


class FroniusConfig(HttpConfig):
    """Fronius inverter with Solar API v1 (local): grid, PV, battery and its state of charge."""

    type: Literal["fronius"] = Field(description="Meter type.")
    interval_s: float = Field(2.0, gt=0, le=86_400, description="Seconds between two readings.")


class SolarEdgeCloudConfig(HttpConfig):
    """SolarEdge monitoring portal (cloud) power flow. Limited to 300 requests a day per site and key."""

    type: Literal["solaredge"] = Field(description="Meter type.")
    url: str = Field("https://monitoringapi.solaredge.com", description="API base URL.")
    site_id: str = Field(min_length=1, description="Site id shown in the monitoring portal.")
    api_key: SecretStr = Field(description="API key of the site (monitoring portal, Admin, Site Access).")
    interval_s: float = Field(
        300.0, ge=60, le=86_400, description="Seconds between readings; the API allows 300 requests a day."
    )


class EnphaseConfig(HttpConfig):
    """Enphase Envoy / IQ Gateway (local) production.json; firmware 7+ needs a token and HTTPS."""

    type: Literal["enphase"] = Field(description="Meter type.")
    token: SecretStr | None = Field(None, description="Bearer token (Enlighten owner token) for firmware 7+.")
    verify_tls: bool = Field(False, description="The gateway serves HTTPS with a self-signed certificate.")


class PowerwallConfig(HttpConfig):
    """Tesla Powerwall 2 gateway (local API): grid, PV, battery power and state of charge."""

    type: Literal["powerwall"] = Field(description="Meter type.")
    password: SecretStr | None = Field(
        None, description="Customer password (last 5 characters of the serial on newer units)."
    )
    email: str = Field("", description="E-mail given at login (any value is accepted by the gateway).")
    verify_tls: bool = Field(False, description="The gateway serves HTTPS with a self-signed certificate.")
    soc_scale: Literal["app", "raw"] = Field(
        "app",
        description="app: state of charge as the Tesla app shows it ((raw-5)/0.95, 5 % reserve hidden); raw: as reported.",
    )


class HaEntity(MappedValue):
    """One Home Assistant entity."""

    entity: str = Field(pattern=r"^[a-z_]+\.[A-Za-z0-9_]+$", description="Entity id, e.g. sensor.grid_power.")
    unit: Literal["W", "kW", "%"] | None = Field(
        None, description="Unit when the entity has none (normally taken from unit_of_measurement)."
    )


class HomeAssistantConfig(HttpConfig, RolesMixin):
    """Home Assistant REST API: one entity per value (W or kW as the entity says)."""

    type: Literal["homeassistant"] = Field(description="Meter type.")
    token: SecretStr = Field(description="Long-lived access token (profile page, Security).")
    grid: HaEntity | None = Field(None, description="Entity with the grid power (+ import).")
    pv: HaEntity | None = Field(None, description="Entity with the PV power.")
    battery: HaEntity | None = Field(None, description="Entity with the battery power (+ discharge).")
    battery_soc: HaEntity | None = Field(None, description="Entity with the battery's state of charge (%).")


class OhItem(MappedValue):
    """One openHAB item."""

    item: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="Item name.")


class OpenHabConfig(HttpConfig, RolesMixin):
    """openHAB REST API: one item per value; a unit in the state (1234 W, 1.2 kW) is honoured, bare numbers are W."""

    type: Literal["openhab"] = Field(description="Meter type.")
    grid: OhItem | None = Field(None, description="Item with the grid power (+ import).")
    pv: OhItem | None = Field(None, description="Item with the PV power.")
    battery: OhItem | None = Field(None, description="Item with the battery power (+ discharge).")
    battery_soc: OhItem | None = Field(None, description="Item with the battery's state of charge (%).")


class SolarLogConfig(HttpConfig):
    """Solar-Log (open JSON interface /getjp): PV and consumption; grid = consumption - PV."""

    type: Literal["solarlog"] = Field(description="Meter type.")


class SmartMeConfig(HttpConfig):
    """smart-me cloud meter (by serial number, basic auth)."""

    type: Literal["smartme"] = Field(description="Meter type.")
    url: str = Field("https://smart-me.com", description="API base URL.")
    serial: str = Field(min_length=1, description="Serial number of the meter.")
    username: str = Field(min_length=1, description="smart-me user name.")
    password: SecretStr = Field(description="smart-me password.")
    role: Literal["grid", "pv"] = Field(
        "grid", description="What the meter measures: the grid connection or PV."
    )
    invert: bool = Field(
        False, description="The meter counts the other way round (export or production negative)."
    )
    interval_s: float = Field(10.0, gt=0, le=86_400, description="Seconds between two readings.")


class TedConfig(HttpConfig):
    """The Energy Detective (TED): the PV (Solar) line of its CSV export."""

    type: Literal["ted"] = Field(description="Meter type.")


class IwOutput(MappedValue):
    """One IotaWatt output."""

    output: str = Field(min_length=1, description="Output name as configured in IotaWatt.")


class IotaWattConfig(HttpConfig, RolesMixin):
    """IotaWatt power monitor: outputs (in Watts) mapped to grid, PV and battery."""

    type: Literal["iotawatt"] = Field(description="Meter type.")
    grid: IwOutput | None = Field(None, description="Output with the grid power (+ import).")
    pv: IwOutput | None = Field(None, description="Output with the PV power.")
    battery: IwOutput | None = Field(None, description="Output with the battery power (+ discharge).")
    battery_soc: None = Field(None, description="IotaWatt measures no state of charge.")


class VzChannel(MappedValue):
    """One Volkszähler channel."""

    uuid: str = Field(pattern=r"^[0-9A-Fa-f-]{8,}$", description="Channel UUID.")


class VolkszaehlerConfig(HttpConfig, RolesMixin):
    """Volkszähler middleware: the latest value of one channel per value."""

    type: Literal["volkszaehler"] = Field(description="Meter type.")
    data_path: str = Field(
        "/api/data.txt", description="Path of data.txt below url (/middleware.php/data.txt on some set-ups)."
    )
    grid: VzChannel | None = Field(None, description="Channel with the grid power (+ import).")
    pv: VzChannel | None = Field(None, description="Channel with the PV power.")
    battery: VzChannel | None = Field(None, description="Channel with the battery power (+ discharge).")
    battery_soc: None = Field(None, description="Not supported for Volkszähler.")


class UrlValue(MappedValue):
    """One value read from a URL: a plain number (optionally with W/kW), or JSON and a path."""

    url: str = Field(description="Full URL returning the value.")
    path: str | None = Field(
        None, description="Dotted path into a JSON answer (a.b[0].c); null: the body is a number."
    )
    unit: Literal["W", "kW", "%"] | None = Field(
        None, description="Unit when the answer carries none (default W)."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        return _http_url(v)


class UrlConfig(PollConfig, RolesMixin):
    """Generic URL source: each value from its own URL."""

    type: Literal["url"] = Field(description="Meter type.")
    verify_tls: bool = Field(True, description="Check HTTPS certificates.")
    token: SecretStr | None = Field(None, description="Bearer token sent with every request, if any.")
    grid: UrlValue | None = Field(None, description="Grid power (+ import).")
    pv: UrlValue | None = Field(None, description="PV power.")
    battery: UrlValue | None = Field(None, description="Battery power (+ discharge).")
    battery_soc: UrlValue | None = Field(None, description="Battery state of charge (%).")


class EmonFeed(MappedValue):
    """One Emoncms feed (its values are W unless ``scale`` says otherwise; a SoC feed is %)."""

    feed: int = Field(ge=1, le=10_000_000, description="Feed id (Feeds page of Emoncms).")


class EmonCmsConfig(HttpConfig, RolesMixin):
    """Emoncms (OpenEnergyMonitor, emonPi or emoncms.org): the latest value of one feed per role."""

    type: Literal["emoncms"] = Field(description="Meter type.")
    apikey: SecretStr | None = Field(
        None,
        description="Read API key (My Account); sent as an Authorization header, never in the URL. Null for public feeds.",
    )
    grid: EmonFeed | None = Field(None, description="Feed with the grid power (+ import).")
    pv: EmonFeed | None = Field(None, description="Feed with the PV power.")
    battery: EmonFeed | None = Field(None, description="Feed with the battery power (+ discharge).")
    battery_soc: EmonFeed | None = Field(None, description="Feed with the battery's state of charge (%).")
    interval_s: float = Field(10.0, gt=0, le=86_400, description="Seconds between two readings.")


class EfergyConfig(HttpConfig):
    """Efergy Engage hub (cloud): the instant power of the account's sensors (getInstant)."""

    type: Literal["efergy"] = Field(description="Meter type.")
    url: str = Field("https://engage.efergy.com", description="API base URL.")
    token: SecretStr = Field(description="App token (Engage web app: Settings, App tokens).")
    role: Literal["grid", "pv"] = Field(
        "grid",
        description="What the clamp measures: the grid connection (import only: a clamp sees no direction) or PV.",
    )
    interval_s: float = Field(
        30.0, ge=10, le=86_400, description="Seconds between readings; the hub uploads every 10 s or so."
    )
    max_age_s: float = Field(
        120.0, gt=0, le=86_400, description="A reading the hub uploaded longer ago than this is refused."
    )


class GrowattConfig(HttpConfig):
    """Growatt ShineServer (cloud): PV of a plant; grid, battery power and SoC of a MIX/SPH storage inverter."""

    type: Literal["growatt"] = Field(description="Meter type.")
    url: str = Field("https://server.growatt.com", description="ShineServer base URL.")
    username: str = Field(min_length=1, description="ShineServer / ShinePhone user name.")
    password: SecretStr = Field(description="ShineServer password.")
    plant_id: str | None = Field(
        None, pattern=r"^[0-9]+$", description="Plant id; null: the account's first plant."
    )
    mix_sn: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9]+$",
        description="Serial of a MIX/SPH storage inverter: read grid, battery and SoC from it; null: PV only.",
    )
    interval_s: float = Field(
        60.0, ge=30, le=86_400, description="Seconds between readings; the cloud updates every 5 minutes."
    )


class P1MonitorConfig(HttpConfig):
    """P1-monitor (ztatz.nl) on a Raspberry Pi at the smart meter: grid power and per-phase values."""

    type: Literal["p1monitor"] = Field(description="Meter type.")
    phases: bool = Field(
        True, description="Also read /api/v1/phase (voltages and signed currents per phase)."
    )


class SmartPiConfig(HttpConfig):
    """SmartPi (enerserve) current-clamp meter: per-phase power, current and voltage at the grid connection."""

    type: Literal["smartpi"] = Field(description="Meter type.")
    username: str | None = Field(None, description="User name, when the API asks for basic auth.")
    password: SecretStr | None = Field(None, description="Password for basic auth.")


#: Every HTTP meter config.
HttpMeterConfig = (
    FroniusConfig
    | SolarEdgeCloudConfig
    | EnphaseConfig
    | PowerwallConfig
    | HomeAssistantConfig
    | OpenHabConfig
    | SolarLogConfig
    | SmartMeConfig
    | TedConfig
    | IotaWattConfig
    | VolkszaehlerConfig
    | UrlConfig
    | EmonCmsConfig
    | EfergyConfig
    | GrowattConfig
    | P1MonitorConfig
    | SmartPiConfig
)

#: The drivers of this package (see :mod:`ecotrack.devices.registry`); they load httpx, pymodbus or
#: pyserial only when built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("meter", "fronius", FroniusConfig, "ecotrack.meters.http.fronius:FroniusSource.from_config"),
    DriverSpec(
        "meter",
        "solaredge",
        SolarEdgeCloudConfig,
        "ecotrack.meters.http.solaredge:SolarEdgeCloudSource.from_config",
    ),
    DriverSpec("meter", "enphase", EnphaseConfig, "ecotrack.meters.http.enphase:EnphaseSource.from_config"),
    DriverSpec(
        "meter", "powerwall", PowerwallConfig, "ecotrack.meters.http.powerwall:PowerwallSource.from_config"
    ),
    DriverSpec(
        "meter",
        "homeassistant",
        HomeAssistantConfig,
        "ecotrack.meters.http.homeassistant:HomeAssistantSource.from_config",
    ),
    DriverSpec("meter", "openhab", OpenHabConfig, "ecotrack.meters.http.openhab:OpenHabSource.from_config"),
    DriverSpec(
        "meter", "solarlog", SolarLogConfig, "ecotrack.meters.http.solarlog:SolarLogSource.from_config"
    ),
    DriverSpec("meter", "smartme", SmartMeConfig, "ecotrack.meters.http.smartme:SmartMeSource.from_config"),
    DriverSpec("meter", "ted", TedConfig, "ecotrack.meters.http.ted:TedSource.from_config"),
    DriverSpec(
        "meter", "iotawatt", IotaWattConfig, "ecotrack.meters.http.iotawatt:IotaWattSource.from_config"
    ),
    DriverSpec(
        "meter",
        "volkszaehler",
        VolkszaehlerConfig,
        "ecotrack.meters.http.volkszaehler:VolkszaehlerSource.from_config",
    ),
    DriverSpec("meter", "url", UrlConfig, "ecotrack.meters.http.url:UrlSource.from_config"),
    DriverSpec("meter", "emoncms", EmonCmsConfig, "ecotrack.meters.http.emoncms:EmonCmsSource.from_config"),
    DriverSpec("meter", "efergy", EfergyConfig, "ecotrack.meters.http.efergy:EfergySource.from_config"),
    DriverSpec("meter", "growatt", GrowattConfig, "ecotrack.meters.http.growatt:GrowattSource.from_config"),
    DriverSpec(
        "meter", "p1monitor", P1MonitorConfig, "ecotrack.meters.http.p1monitor:P1MonitorSource.from_config"
    ),
    DriverSpec("meter", "smartpi", SmartPiConfig, "ecotrack.meters.http.smartpi:SmartPiSource.from_config"),
)
