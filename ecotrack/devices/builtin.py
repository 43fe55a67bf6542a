"""The modules whose ``DRIVERS`` make up the built-in registry (names only: nothing is imported here).

A new built-in driver adds its light config module to this list; see :mod:`ecotrack.devices.registry`.
"""

from __future__ import annotations

__all__ = ["MODULES"]

#: Light modules (config models and specs, no driver code) each exposing ``DRIVERS``.
MODULES: tuple[str, ...] = (
    "ecotrack.meters.replay_config",
    "ecotrack.meters.http.config",
    "ecotrack.meters.modbus.config",
    "ecotrack.meters.dsmr.config",
    "ecotrack.meters.mqtt.config",
    "ecotrack.chargers.simulated_config",
    "ecotrack.chargers.twc.config",
    "ecotrack.chargers.prism.config",
    "ecotrack.chargers.twc3.config",
    "ecotrack.vehicles.config",
    "ecotrack.chargers.ocpp.config",
)
