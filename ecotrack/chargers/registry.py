"""Charger drivers by configuration ``type`` (see :mod:`ecotrack.devices.registry`).

A new driver (twc, prism, ocpp) is one line at the end of this file.
"""

from __future__ import annotations

from ecotrack.chargers.base import Charger
from ecotrack.devices.registry import Registry


class ChargerRegistry(Registry[Charger]):
    """Registry of charger drivers."""

    def __init__(self) -> None:
        super().__init__("charger")


#: The default registry the engine uses.
charger_registry = ChargerRegistry()
charger_registry.register_lazy("simulated", "ecotrack.chargers.simulated:SimulatedCharger.from_config")
charger_registry.register_lazy("prism", "ecotrack.chargers.prism.mqtt:PrismMqttCharger.from_config")
charger_registry.register_lazy("prism-ubus", "ecotrack.chargers.prism.ubus:PrismUbusCharger.from_config")
charger_registry.register_lazy("twc", "ecotrack.chargers.twc.driver:TwcCharger.from_config")
