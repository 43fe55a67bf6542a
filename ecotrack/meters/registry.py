"""Meter sources by configuration ``type`` (see :mod:`ecotrack.devices.registry`).

A new source (mqtt, http vendors, modbus, dsmr) is one line at the end of this file.
"""

from __future__ import annotations

from ecotrack.devices.registry import Registry
from ecotrack.meters.base import Source


class SourceRegistry(Registry[Source]):
    """Registry of meter sources."""

    def __init__(self) -> None:
        super().__init__("meter")


#: The default registry the engine uses.
source_registry = SourceRegistry()
source_registry.register_lazy("replay", "ecotrack.meters.replay:ReplayMeter.from_config")
source_registry.register_lazy("ecotrack-monitor", "ecotrack.meters.mqtt.sources:EcotrackMonitorSource.from_config")
source_registry.register_lazy("emonhub", "ecotrack.meters.mqtt.sources:EmonhubSource.from_config")
source_registry.register_lazy("dsmr-reader", "ecotrack.meters.mqtt.sources:DsmrReaderSource.from_config")
source_registry.register_lazy("mqtt", "ecotrack.meters.mqtt.sources:GenericMqttSource.from_config")
source_registry.register_lazy("fronius", "ecotrack.meters.http.fronius:FroniusSource.from_config")
source_registry.register_lazy("solaredge", "ecotrack.meters.http.solaredge:SolarEdgeCloudSource.from_config")
source_registry.register_lazy("enphase", "ecotrack.meters.http.enphase:EnphaseSource.from_config")
source_registry.register_lazy("powerwall", "ecotrack.meters.http.powerwall:PowerwallSource.from_config")
source_registry.register_lazy(
    "homeassistant", "ecotrack.meters.http.homeassistant:HomeAssistantSource.from_config"
)
source_registry.register_lazy("openhab", "ecotrack.meters.http.openhab:OpenHabSource.from_config")
source_registry.register_lazy("solarlog", "ecotrack.meters.http.solarlog:SolarLogSource.from_config")
source_registry.register_lazy("smartme", "ecotrack.meters.http.smartme:SmartMeSource.from_config")
source_registry.register_lazy("ted", "ecotrack.meters.http.ted:TedSource.from_config")
source_registry.register_lazy("iotawatt", "ecotrack.meters.http.iotawatt:IotaWattSource.from_config")
source_registry.register_lazy(
    "volkszaehler", "ecotrack.meters.http.volkszaehler:VolkszaehlerSource.from_config"
)
source_registry.register_lazy("url", "ecotrack.meters.http.url:UrlSource.from_config")
source_registry.register_lazy("kostal", "ecotrack.meters.modbus.kostal:KostalSource.from_config")
source_registry.register_lazy("sunspec", "ecotrack.meters.modbus.sunspec:SunSpecSource.from_config")
source_registry.register_lazy(
    "solaredge_modbus", "ecotrack.meters.modbus.solaredge:SolarEdgeModbusSource.from_config"
)
source_registry.register_lazy("dsmr", "ecotrack.meters.dsmr.source:DsmrSource.from_config")
