"""Assembling the daemon: drivers, engine and services from a configuration, all wiring in one place.

``ecotrack run`` and ``ecotrack demo`` both go through :func:`build_engine`, so the demo is the real
program with simulated devices. The order is explicit: the device context (clock, simulated world,
transports), the meter and charger drivers from the registries, the engine with the site's setup, then
each service the configuration enables (MQTT, the web server, the history store).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext

if TYPE_CHECKING:
    from ecotrack.chargers.base import Charger
    from ecotrack.config import Config
    from ecotrack.devices.registry import DriverRegistry
    from ecotrack.meters.base import Source
    from ecotrack.runtime.engine import Engine
    from ecotrack.transport.mqtt.connection import MqttConnection

__all__ = ["attach_services", "build_drivers", "build_engine", "mqtt_connection", "run_engine"]


def build_drivers(
    config: Config, context: DeviceContext, registry: DriverRegistry | None = None
) -> tuple[dict[str, Source], dict[str, Charger]]:
    """Every meter and charger of ``config``, built by ``registry`` (default: the built-in drivers) with ``context``.

    ``context`` must already hold the transports the drivers need (its ``mqtt`` connection).
    """
    from ecotrack.devices.registry import builtin_registry

    reg = registry if registry is not None else builtin_registry()
    meters: dict[str, Source] = {
        name: reg.create("meter", name, cfg, context) for name, cfg in config.meters.items()
    }
    drivers: dict[str, Charger] = {
        name: reg.create("charger", name, cfg, context) for name, cfg in config.chargers.items()
    }
    return meters, drivers


def mqtt_connection(config: Config, base_dir: Path | None = None) -> MqttConnection | None:
    """The daemon's one MQTT connection when ``config`` has an ``mqtt:`` section (aiomqtt loads only then)."""
    if config.mqtt is None:
        return None
    from ecotrack.transport.mqtt.connection import MqttConnection

    return MqttConnection(config.mqtt, base_dir=base_dir)


def build_engine(
    config: Config,
    *,
    clock: Clock | None = None,
    base_dir: Path | None = None,
    data_dir: Path | None = None,
    wall: Callable[[], datetime] | None = None,
    context: DeviceContext | None = None,
    registry: DriverRegistry | None = None,
    services: bool = True,
    **engine_options: Any,
) -> Engine:
    """The engine for ``config`` with its drivers built and (unless ``services`` is False) its services attached.

    The MQTT connection (when configured) is made first and put in the device context, so the MQTT
    drivers and the MQTT service share it. ``engine_options`` go to
    :class:`~ecotrack.runtime.engine.Engine` (timeouts, backoffs; tests shorten them).
    """
    from ecotrack.runtime.engine import Engine

    if context is None:
        context = (
            DeviceContext(base_dir=base_dir)
            if clock is None
            else DeviceContext(clock=clock, base_dir=base_dir)
        )
    if context.mqtt is None:
        context.mqtt = mqtt_connection(config, context.base_dir)
    meters, drivers = build_drivers(config, context, registry)
    engine = Engine(
        config.site_setup(), meters, drivers, context.clock, data_dir=data_dir, wall=wall, **engine_options
    )
    if services:
        attach_services(engine, config, context.mqtt)
    return engine


def attach_services(engine: Engine, config: Config, mqtt: MqttConnection | None = None) -> None:
    """Register the services ``config`` enables (one line per feature); ``mqtt`` is the drivers' connection."""
    from ecotrack.services.mqtt.service import attach_mqtt
    from ecotrack.services.store.service import attach_store
    from ecotrack.services.web.server import attach_http

    attach_mqtt(engine, config, mqtt)
    attach_http(engine, config)
    attach_store(engine, config)  # tariff, planning rules, history store


async def run_engine(config: Config, base_dir: Path | None = None, data_dir: Path | None = None) -> None:
    """Run ``config`` with the real clock until SIGINT/SIGTERM (``ecotrack run``)."""
    await build_engine(config, base_dir=base_dir, data_dir=data_dir).run_until_signal()
