"""Assembling the daemon: drivers, engine, rules and services from a configuration, all wiring in one place.

``ecotrack run`` and ``ecotrack demo`` both go through :func:`build_app`, so the demo is the real program
with simulated devices. The order is explicit: the device context (clock, simulated world, transports),
the meter and charger drivers from the registries, the tariff and the planning rules, the engine with the
site's setup and the full rule list, then each service the configuration enables (MQTT, the history
store, the web server), each given its own section, the engine's public surface and the data directory.

Imports follow the configuration: a service's module (and its framework: FastAPI and uvicorn, SQLAlchemy,
aiomqtt) is imported only when its section enables it, so a daemon with web, store and MQTT off loads
none of them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
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
    from ecotrack.runtime.rules import Rule
    from ecotrack.runtime.setup import SiteSetup
    from ecotrack.services.mqtt.service import MqttService
    from ecotrack.services.store.service import Recorder
    from ecotrack.services.web.server import HttpService
    from ecotrack.tariffs.base import Tariff
    from ecotrack.transport.mqtt.connection import MqttConnection
    from ecotrack.transport.ocpp.server import CentralSystem
    from ecotrack.vehicles.base import Vehicle
    from ecotrack.vehicles.garage import Garage

__all__ = [
    "App",
    "attach_services",
    "build_app",
    "build_drivers",
    "build_engine",
    "build_rules",
    "build_tariff",
    "build_vehicles",
    "mqtt_connection",
    "ocpp_central_system",
    "run_engine",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    """The assembled daemon: its engine and device context, and the services the configuration enabled.

    A handle instead of lookups: whoever built the app (the CLI, the demo, a test) reaches the web
    service or the history store through it, never through a module global keyed by the engine.
    """

    engine: Engine
    context: DeviceContext
    #: The tariff of the ``tariff:`` section (plans and session costs use it), or None.
    tariff: Tariff | None = None
    web: HttpService | None = None
    recorder: Recorder | None = None
    mqtt: MqttService | None = None

    @property
    def connection(self) -> MqttConnection | None:
        """The shared MQTT connection (``mqtt:`` section) the drivers got in their context, or None."""
        return self.context.mqtt

    async def run_until_signal(self) -> None:
        """Run the engine (and with it every service) until SIGINT/SIGTERM."""
        await self.engine.run_until_signal()


def wrap_phase_relays(config: Config, drivers: dict[str, Charger], context: DeviceContext) -> dict[str, Charger]:
    """Every charger of a loadpoint with a ``phase_switch`` relay, wrapped so the engine can switch 1p/3p."""
    out = dict(drivers)
    for name, lp in config.loadpoints.items():
        relay = lp.phase_switch
        if relay is None:
            continue
        from ecotrack.chargers.phase_relay import PhaseRelayCharger

        connection = context.require_mqtt(f"loadpoint {name!r}: phase_switch")
        out[lp.charger] = PhaseRelayCharger(
            out[lp.charger], connection, relay.topic, {1: relay.payload_1p, 3: relay.payload_3p}
        )
    return out


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


def build_vehicles(
    config: Config,
    context: DeviceContext,
    registry: DriverRegistry | None = None,
    data_dir: Path | None = None,
) -> dict[str, Vehicle]:
    """Every vehicle source of ``config``'s ``vehicles:`` section, built by ``registry`` with ``context``.

    An entry with a ``token_file: null`` setting (the Fleet API's) keeps its tokens in the data
    directory (``data_dir``, else the configured or platform one).
    """
    if not config.vehicles:
        return {}
    from ecotrack.devices.registry import builtin_registry

    reg = registry if registry is not None else builtin_registry()
    built: dict[str, Vehicle] = {}
    for name, cfg in config.vehicles.items():
        if "token_file" in type(cfg).model_fields and getattr(cfg, "token_file", None) is None:
            from ecotrack.config_load import resolve_data_dir

            where = data_dir if data_dir is not None else resolve_data_dir(config)
            cfg = cfg.model_copy(update={"token_file": where / f"tesla-{name}.json"})
        vehicle: Vehicle = reg.create("vehicle", name, cfg, context)
        built[name] = vehicle
        context.shared(("vehicle", name), functools.partial(_same, vehicle))  # a tesla-vehicle charger finds it
    return built


def _same(value: Any) -> Any:
    return value


def build_garage(config: Config, vehicles: dict[str, Vehicle]) -> Garage | None:
    """Which car is on which loadpoint (each loadpoint's default ``vehicle:``); None without vehicles."""
    if not vehicles:
        return None
    from ecotrack.vehicles.garage import Garage

    return Garage(vehicles, {name: lp.vehicle for name, lp in config.loadpoints.items()})


def mqtt_connection(config: Config, base_dir: Path | None = None) -> MqttConnection | None:
    """The daemon's one MQTT connection when ``config`` has an ``mqtt:`` section (aiomqtt loads only then).

    It is made before the drivers and put in their device context, so the MQTT meters and chargers and
    the MQTT service share one client (one client id, one last will).
    """
    if config.mqtt is None:
        return None
    from ecotrack.transport.mqtt.connection import MqttConnection

    return MqttConnection(config.mqtt, base_dir=base_dir)


def ocpp_central_system(config: Config, context: DeviceContext) -> CentralSystem | None:
    """The daemon's one OCPP central system when ``config`` has an ``ocpp:`` section, put in ``context``.

    Made before the drivers: every ``type: ocpp`` charger attaches to it through ``context.shared``, so
    all charge points share one listener (websockets and the ocpp package load only then).
    """
    if config.ocpp is None:
        return None
    from ecotrack.transport.ocpp.server import CENTRAL_SYSTEM_KEY, CentralSystem

    section = config.ocpp
    return context.shared(CENTRAL_SYSTEM_KEY, lambda: CentralSystem(section, context.clock.now))


def build_tariff(config: Config) -> Tariff | None:
    """The tariff of the ``tariff:`` section, or None (the aWATTar client is imported only for that type)."""
    if config.tariff is None:
        return None
    from ecotrack.tariffs.config import build_tariff as from_section

    return from_section(config.tariff)


def build_rules(
    config: Config, setup: SiteSetup, tariff: Tariff | None, garage: Garage | None = None
) -> list[Rule]:
    """The engine's full rule list: energy limit, the car's rules, charge now, the planning rules, the user's mode.

    A plan without its own power assumes the loadpoint's full power: its maximum current at the site's
    voltage on the loadpoint's phases. A plan by SoC without ``battery_kwh`` takes the ``capacity_kwh``
    of the loadpoint's vehicle. With vehicles, the car's charge limit (off) and minimum SoC (now) rank
    right after the energy limit.
    """
    from ecotrack.runtime.rules import EnergyLimitRule, ManualRule, default_rules

    rules = default_rules()
    if garage is not None:
        from ecotrack.planning.vehicle import vehicle_rules

        after = next((i + 1 for i, r in enumerate(rules) if isinstance(r, EnergyLimitRule)), 0)
        rules[after:after] = vehicle_rules(garage)
    if config.rules is None and not config.schedules and not config.plans:
        return rules
    from ecotrack.planning.rules import build_rules as planning_rules

    max_power_w = {lp.name: lp.max_a * setup.params.voltage_v * lp.phases for lp in setup.params.loadpoints}
    plans = {name: _with_capacity(config, plan) for name, plan in config.plans.items()}
    planned = planning_rules(config.rules, config.schedules, plans, max_power_w, tariff)
    at = next((i for i, r in enumerate(rules) if isinstance(r, ManualRule)), len(rules))
    rules[at:at] = planned
    if planned:
        log.info("rules: %s", " > ".join(r.name for r in rules))
    return rules


def _with_capacity(config: Config, plan: Any) -> Any:
    """``plan`` with ``battery_kwh`` from its loadpoint's vehicle when it plans by SoC without one."""
    if plan.soc_pct is None or plan.battery_kwh is not None:
        return plan
    lp = config.loadpoints.get(plan.loadpoint)
    vehicle = config.vehicles.get(lp.vehicle) if lp is not None and lp.vehicle is not None else None
    capacity = getattr(vehicle, "capacity_kwh", None)
    return plan.model_copy(update={"battery_kwh": capacity}) if capacity is not None else plan


def build_app(
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
) -> App:
    """The daemon for ``config``: drivers, tariff, rules, engine and (unless ``services`` is False) services.

    ``data_dir`` is where services keep their files (the web token, the SQLite history, CSV logs);
    without one no history is kept and the web token lives in the platform's data directory.
    ``engine_options`` go to :class:`~ecotrack.runtime.engine.Engine` (timeouts, backoffs; tests shorten
    them). Nothing runs until :meth:`App.run_until_signal` (or ``app.engine.run()``).
    """
    from ecotrack.runtime.engine import Engine
    from ecotrack.tariffs.config import AwattarTariffConfig

    if context is None:
        context = (
            DeviceContext(base_dir=base_dir)
            if clock is None
            else DeviceContext(clock=clock, base_dir=base_dir)
        )
    if context.mqtt is None:
        context.mqtt = mqtt_connection(config, context.base_dir)
    central = ocpp_central_system(config, context)
    vehicles = build_vehicles(config, context, registry, data_dir)  # before the chargers: a car may be one
    meters, drivers = build_drivers(config, context, registry)
    garage = build_garage(config, vehicles)
    if any(getattr(c, "control_vehicle", None) is not None for c in config.chargers.values()):
        from ecotrack.vehicles.gen3 import wrap_car_control

        drivers = wrap_car_control(drivers, dict(config.chargers), vehicles, context.clock)
    if any(getattr(c, "stop_method", None) == "vehicle" for c in config.chargers.values()):
        from ecotrack.vehicles.stop import wrap_stop_method

        owners = {lp.charger: name for name, lp in config.loadpoints.items()}
        drivers = wrap_stop_method(drivers, dict(config.chargers), garage, owners)
    drivers = wrap_phase_relays(config, drivers, context)
    setup = config.site_setup()
    tariff = build_tariff(config)
    rules = build_rules(config, setup, tariff, garage)
    engine = Engine(
        setup, meters, drivers, context.clock, wall=wall, rules=rules, garage=garage, **engine_options
    )
    for name, vehicle in vehicles.items():
        engine.add_service(f"vehicle:{name}", vehicle.run)
    if tariff is not None and isinstance(config.tariff, AwattarTariffConfig):
        from ecotrack.tariffs.awattar import AwattarTariff

        assert isinstance(tariff, AwattarTariff)
        engine.add_service("tariff", tariff.run)  # fetches the day-ahead prices
    if central is not None:
        engine.add_service("ocpp", central.run)  # the listener every OCPP wallbox connects to
    if config.rules is not None:
        for lp, kwh in config.rules.energy_limit_kwh.items():
            engine.set_energy_limit(lp, kwh)
    app = App(engine=engine, context=context, tariff=tariff)
    if services:
        attach_services(app, config, data_dir)
    return app


def attach_services(app: App, config: Config, data_dir: Path | None = None) -> None:
    """Add the services ``config`` enables to ``app``, importing each service's module only then."""
    engine = app.engine
    if config.mqtt is not None and app.connection is not None:
        from ecotrack.services.mqtt.service import attach_mqtt

        app.mqtt = attach_mqtt(engine, config.mqtt, app.connection)
    store = config.store
    if store.enabled and (store.url is not None or data_dir is not None):
        from ecotrack.services.store.service import attach_store

        app.recorder = attach_store(engine, store, data_dir, app.tariff)
    if config.http.enabled:
        from ecotrack.config_load import resolve_data_dir
        from ecotrack.services.web.server import attach_http

        web_dir = data_dir if data_dir is not None else resolve_data_dir(config)
        app.web = attach_http(engine, config.http, web_dir, app.recorder)
    else:
        log.info("web dashboard and API disabled (http.enabled: false)")


def build_engine(config: Config, **options: Any) -> Engine:
    """:func:`build_app`'s engine alone (tests and benchmarks that need no service handle)."""
    return build_app(config, **options).engine


async def run_engine(config: Config, base_dir: Path | None = None, data_dir: Path | None = None) -> None:
    """Run ``config`` with the real clock until SIGINT/SIGTERM (``ecotrack run``)."""
    await build_app(config, base_dir=base_dir, data_dir=data_dir).run_until_signal()
