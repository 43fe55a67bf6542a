"""Meter sources by configuration ``type`` (see :mod:`ecotrack.registry`).

A new source (mqtt, http vendors, modbus, dsmr) is one line at the end of this file.
"""

from __future__ import annotations

from ecotrack.meters.base import Source
from ecotrack.registry import Registry


class SourceRegistry(Registry[Source]):
    """Registry of meter sources."""

    def __init__(self) -> None:
        super().__init__("meter")


#: The default registry the engine uses.
source_registry = SourceRegistry()
source_registry.register_lazy("replay", "ecotrack.meters.replay:ReplayMeter.from_config")
source_registry.register_lazy("ecotrack-monitor", "ecotrack.mqtt.sources:EcotrackMonitorSource.from_config")
source_registry.register_lazy("emonhub", "ecotrack.mqtt.sources:EmonhubSource.from_config")
source_registry.register_lazy("dsmr-reader", "ecotrack.mqtt.sources:DsmrReaderSource.from_config")
source_registry.register_lazy("mqtt", "ecotrack.mqtt.sources:GenericMqttSource.from_config")
