"""What every meter and charger factory is handed: the clock, the simulated world, shared transports.

Nothing a driver needs from outside reaches it any other way: no module global, no late binding. The
application (:mod:`ecotrack.app`) builds one context per engine, with the MQTT connection in it when the
configuration has an ``mqtt:`` section; resources several drivers share (one TWC bus per serial port)
live in the context too (:meth:`DeviceContext.shared`), so two engines never share them by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ecotrack.clock import Clock, RealClock
from ecotrack.world.loads import SimulatedWorld

if TYPE_CHECKING:
    from ecotrack.transport.mqtt.connection import MqttConnection

__all__ = ["DeviceContext"]

T = TypeVar("T")


@dataclass(slots=True)
class DeviceContext:
    """Shared things a source or driver factory may need.

    ``base_dir`` is where relative paths in the configuration (trace files) are resolved from: the
    directory of the configuration file when there is one. ``mqtt`` is the one broker connection of the
    daemon (None without an ``mqtt:`` section); drivers that talk MQTT take it in their factory.
    """

    clock: Clock = field(default_factory=RealClock)
    world: SimulatedWorld = field(default_factory=SimulatedWorld)
    base_dir: Path | None = None
    mqtt: MqttConnection | None = None
    _shared: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: Hashable, factory: Callable[[], T]) -> T:
        """The resource under ``key`` (e.g. ``("twc-bus", port)``), made by ``factory`` on first use.

        Drivers of one context get the same object; another context (another engine) gets its own.
        """
        if key not in self._shared:
            self._shared[key] = factory()
        value: T = self._shared[key]
        return value

    def require_mqtt(self, what: str) -> MqttConnection:
        """The MQTT connection; ValueError naming ``what`` (e.g. "meter 'grid'") when there is none."""
        if self.mqtt is None:
            raise ValueError(f"{what} talks MQTT but the configuration has no mqtt: section (host, port)")
        return self.mqtt
