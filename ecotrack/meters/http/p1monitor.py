"""P1-monitor (ztatz.nl): a Raspberry Pi on the Dutch/Belgian smart meter's P1 port, read over its API.

``GET /api/v1/smartmeter?limit=1&json=object&round=on`` answers a list with the newest record first;
its ``CONSUMPTION_W`` (import) and ``PRODUCTION_W`` (export) are both >= 0, so the grid power is
their difference. ``GET /api/v1/phase?limit=1&json=object&round=on`` adds per phase
``CONSUMPTION_L1_W`` / ``PRODUCTION_L1_W``, ``L1_V`` and ``L1_A`` (and L2, L3). The meter reports
currents without a sign; each gets the sign of its phase's net power (export negative), as the
project's meters do. A single-phase meter reports 0 V on L2 and L3: only L1 is given then.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import P1MonitorConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import bounded, field

__all__ = ["PHASE_PATH", "SMARTMETER_PATH", "P1MonitorSource", "parse_phase", "parse_smartmeter"]

SMARTMETER_PATH = "/api/v1/smartmeter"
PHASE_PATH = "/api/v1/phase"
QUERY = {"limit": "1", "json": "object", "round": "on"}

MAX_PHASE_V = 500.0
MAX_PHASE_A = 1000.0


def _newest(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, list) or not data:
        raise SourceError(f"{what}: expected a non-empty list of records")
    record = data[0]
    if not isinstance(record, dict):
        raise SourceError(f"{what}: expected a record object, got {type(record).__name__}")
    return record


def _nonnegative(record: dict[str, Any], name: str) -> float:
    value = field(record, name)
    assert value is not None
    return bounded(value, name, low=0.0)


def parse_smartmeter(data: Any) -> float:
    """The grid power (W, + import) in a /api/v1/smartmeter answer."""
    record = _newest(data, SMARTMETER_PATH)
    return _nonnegative(record, "CONSUMPTION_W") - _nonnegative(record, "PRODUCTION_W")


def parse_phase(data: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(voltages_v, currents_a)`` of the phases in a /api/v1/phase answer (currents signed)."""
    record = _newest(data, PHASE_PATH)
    voltages: list[float] = []
    currents: list[float] = []
    for n in (1, 2, 3):
        volts = field(record, f"L{n}_V")
        assert volts is not None
        volts = bounded(volts, f"L{n}_V", low=0.0, high=MAX_PHASE_V, unit="V")
        if n > 1 and volts == 0.0:
            continue
        amps = field(record, f"L{n}_A")
        assert amps is not None
        amps = bounded(abs(amps), f"L{n}_A", low=0.0, high=MAX_PHASE_A, unit="A")
        net = _nonnegative(record, f"CONSUMPTION_L{n}_W") - _nonnegative(record, f"PRODUCTION_L{n}_W")
        voltages.append(volts)
        currents.append(-amps if net < 0 else amps)
    return tuple(voltages), tuple(currents)


class P1MonitorSource(HttpSource):
    """Polls a P1-monitor for the grid power and, optionally, the phases."""

    def __init__(self, *args: Any, phases: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phases = phases

    async def fetch(self, t_s: float) -> MeterReading:
        grid = parse_smartmeter(await self.get_json(SMARTMETER_PATH, params=QUERY))
        if not self.phases:
            return MeterReading(t_s=t_s, grid_w=grid)
        voltages, currents = parse_phase(await self.get_json(PHASE_PATH, params=QUERY))
        measured = [v for v in voltages if v > 0]
        return MeterReading(
            t_s=t_s,
            grid_w=grid,
            voltage_v=sum(measured) / len(measured) if measured else None,
            voltages_v=voltages if measured else None,
            currents_a=currents,
        )

    @classmethod
    def from_config(cls, name: str, config: P1MonitorConfig, context: DeviceContext) -> P1MonitorSource:
        """Build from a :class:`P1MonitorConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            phases=config.phases,
        )
