"""A meter that replays a day of PV and house load, plus the simulated cars.

It is the demo's and the tests' stand-in for a real grid meter: it plays a
:class:`~ecotrack.world.trace.Trace` (a recorded CSV day or a modelled day)
against the injected clock, starting at a chosen local time of day, and reports
``grid_w = load + ev - pv`` where ``ev`` is the power the simulated chargers in
the :class:`~ecotrack.chargers.base.SimulatedWorld` draw *right now*. Because
the grid value reacts to what the engine commands, the demo is a closed loop
like a real house.
"""

from __future__ import annotations

import logging
import math
from datetime import time as dtime
from pathlib import Path
from typing import Any, cast

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading, MeterSink, Source
from ecotrack.world.loads import SimulatedWorld
from ecotrack.world.trace import Trace, load_trace

log = logging.getLogger(__name__)

_DAY_S = 86400.0


def parse_time_of_day(value: str | dtime) -> float:
    """``"07:30"`` (or ``"07:30:15"``, or a ``datetime.time``) -> seconds since midnight."""
    if isinstance(value, dtime):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second
    parts = str(value).strip().split(":")
    if not 2 <= len(parts) <= 3:
        raise ValueError(f"time of day must look like HH:MM, got {value!r}")
    try:
        h, m = int(parts[0]), int(parts[1])
        s = float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        raise ValueError(f"time of day must look like HH:MM, got {value!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60):
        raise ValueError(f"time of day out of range: {value!r}")
    return h * 3600.0 + m * 60.0 + s


class ReplayMeter(Source):
    """Replays a trace as a grid + PV meter whose grid value includes the simulated cars."""

    def __init__(
        self,
        name: str,
        trace: Trace,
        clock: Clock,
        world: SimulatedWorld | None = None,
        *,
        interval_s: float = 2.0,
        start_local_s: float = 7.5 * 3600,
        loop: bool = True,
        pv_scale: float = 1.0,
        load_scale: float = 1.0,
    ) -> None:
        super().__init__(name)
        if not interval_s > 0.0:
            raise ValueError(f"meter {name!r}: interval_s must be > 0, got {interval_s!r}")
        self.trace = trace.scaled(pv_scale, load_scale) if (pv_scale, load_scale) != (1.0, 1.0) else trace
        self.clock = clock
        self.world = world if world is not None else SimulatedWorld()
        self.interval_s = float(interval_s)
        self.loop = loop
        # Offset into the trace at which local time equals start_local_s.
        first_local = trace.local_seconds_of_day(0.0)
        self.start_offset_s = (start_local_s - first_local) % _DAY_S
        if self.start_offset_s >= trace.duration_s:
            self.start_offset_s = math.fmod(self.start_offset_s, trace.duration_s)
        #: Clock time at which playback started (kept across restarts so a restart does not rewind).
        self._t0: float | None = None
        #: The last values played, for logs and status: (pv_w, load_w, ev_w).
        self.last: tuple[float, float, float] | None = None

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> ReplayMeter:
        """Build from a ``ReplayMeterConfig``: a trace file, or when ``trace`` is unset the modelled day of
        weather ``modelled_kind`` and random ``seed``."""
        trace_path: Path | None = getattr(config, "trace", None)
        if trace_path is not None:
            path = Path(trace_path)
            if not path.is_absolute() and context.base_dir is not None:
                path = context.base_dir / path
            trace = load_trace(path)
        else:
            from ecotrack.world.modelled import Kind, modelled_day

            kind = cast(Kind, str(getattr(config, "modelled_kind", "cloudy")))
            trace = modelled_day(kind, seed=int(getattr(config, "seed", 1)))
        return cls(
            name,
            trace,
            context.clock,
            context.world,
            interval_s=float(getattr(config, "interval_s", 2.0)),
            start_local_s=parse_time_of_day(getattr(config, "start_time", "07:30")),
            loop=bool(getattr(config, "loop", True)),
            pv_scale=float(getattr(config, "pv_scale", 1.0)),
            load_scale=float(getattr(config, "load_scale", 1.0)),
        )

    def position_s(self, now_s: float | None = None) -> float:
        """Seconds into the trace at clock time ``now_s`` (not wrapped)."""
        now = self.clock.now() if now_s is None else now_s
        t0 = now if self._t0 is None else self._t0
        return self.start_offset_s + (now - t0)

    def local_time(self, now_s: float | None = None) -> str:
        """Local time of day in the trace, ``HH:MM``, for logs."""
        sec = self.trace.local_seconds_of_day(self.position_s(now_s))
        return f"{int(sec // 3600):02d}:{int(sec % 3600 // 60):02d}"

    async def run(self, sink: MeterSink) -> None:
        """Emit a reading every ``interval_s`` clock seconds; return at the trace's end unless looping."""
        if self._t0 is None:
            self._t0 = self.clock.now()
        self.error = None
        while True:
            now = self.clock.now()
            pos = self.position_s(now)
            if not self.loop and pos >= self.trace.duration_s:
                log.info("meter %s: end of trace %s, not looping", self.name, self.trace.name)
                return
            pv_w, load_w = self.trace.at(pos)
            ev_w = self.world.ev_power_w()
            self.last = (pv_w, load_w, ev_w)
            sink.on_meter_reading(self.name, MeterReading(t_s=now, grid_w=load_w + ev_w - pv_w, pv_w=pv_w))
            await self.clock.sleep(self.interval_s)
