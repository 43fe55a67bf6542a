"""What every meter and charger factory is handed: the clock, the simulated world, shared transports.

Nothing a driver needs from outside reaches it any other way: no module global, no late binding. The
application (:mod:`ecotrack.app`) builds one context per engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecotrack.clock import Clock, RealClock
from ecotrack.world.loads import SimulatedWorld

__all__ = ["DeviceContext"]


@dataclass(slots=True)
class DeviceContext:
    """Shared things a source or driver factory may need.

    ``base_dir`` is where relative paths in the configuration (trace files) are resolved from: the
    directory of the configuration file when there is one.
    """

    clock: Clock = field(default_factory=RealClock)
    world: SimulatedWorld = field(default_factory=SimulatedWorld)
    base_dir: Path | None = None
