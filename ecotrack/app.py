"""Assembling the daemon: an engine from a configuration plus the services the configuration asks for.

``ecotrack run`` and ``ecotrack demo`` both go through :func:`build_engine` and :func:`attach_services`,
so the demo is the real program with simulated devices. Each feature with a long-running task (MQTT,
the web server, the history store) adds one line to :func:`attach_services` calling its own
``attach_*(engine, config)``, which registers an engine service when its section is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ecotrack.clock import Clock

if TYPE_CHECKING:
    from ecotrack.config import Config
    from ecotrack.engine import Engine

__all__ = ["attach_services", "build_engine"]


def build_engine(
    config: Config,
    *,
    clock: Clock | None = None,
    base_dir: Path | None = None,
    data_dir: Path | None = None,
    wall: Callable[[], datetime] | None = None,
) -> Engine:
    """The engine for ``config`` with its services attached."""
    from ecotrack.engine import Engine

    engine = Engine(config, clock, base_dir=base_dir, data_dir=data_dir, wall=wall)
    attach_services(engine, config)
    return engine


def attach_services(engine: Engine, config: Config) -> None:
    """Register the services ``config`` enables (one line per feature)."""
    from ecotrack.mqtt.service import attach_mqtt
    from ecotrack.store.service import attach_store
    from ecotrack.web.server import attach_http

    attach_mqtt(engine, config)
    attach_http(engine, config)
    attach_store(engine, config)  # tariff, planning rules, history store
