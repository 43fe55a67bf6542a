"""SmartPi (enerserve): current clamps on each phase of the grid connection, read over its REST API.

``GET /api/all/all/now`` answers::

    {"serial": "...", "name": "House", "datasets": [{"time": "...", "phases": [
        {"phase": 1, "name": "phase 1", "values": [
            {"type": "current", "unity": "A", "info": "", "data": 4.2},
            {"type": "voltage", "unity": "V", "info": "", "data": 231.0},
            {"type": "power", "unity": "W", "info": "", "data": -950.0}, ...]},
        ... phases 2 and 3; phase 4 is the neutral's current only ...]}]}

The power of a phase is signed (negative: that phase exports), so the grid power is the sum over
phases 1-3 and each current gets its phase's sign. A phase without a clamp is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import SmartPiConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import bounded, json_path, to_float

__all__ = ["PATH", "SmartPiSource", "parse_now"]

PATH = "/api/all/all/now"
MAX_PHASE_V = 500.0
MAX_PHASE_A = 1000.0


def _values(phase: Mapping[str, Any], where: str) -> dict[str, float]:
    values = phase.get("values")
    if not isinstance(values, list):
        raise SourceError(f"{where}: no values list")
    out: dict[str, float] = {}
    for entry in values:
        if isinstance(entry, Mapping) and isinstance(entry.get("type"), str):
            out[entry["type"]] = to_float(entry.get("data"), f"{where} {entry['type']}")
    return out


def parse_now(data: Any, t_s: float) -> MeterReading:
    """The reading in an /api/all/all/now (or /api/all/power/now) answer."""
    phases = json_path(data, "datasets[0].phases")
    if not isinstance(phases, list):
        raise SourceError("datasets[0].phases: expected a list")
    grid = 0.0
    voltages: list[float] = []
    currents: list[float] = []
    seen = 0
    for phase in phases:
        if not isinstance(phase, Mapping):
            raise SourceError("datasets[0].phases: expected objects")
        number = phase.get("phase")
        if number not in (1, 2, 3, "1", "2", "3"):
            continue  # phase 4: the neutral conductor's current
        where = f"phase {number}"
        values = _values(phase, where)
        if "power" not in values:
            raise SourceError(f"{where}: no power value")
        watts = bounded(values["power"], f"{where} power")
        grid += watts
        seen += 1
        if "current" in values:
            amps = bounded(abs(values["current"]), f"{where} current", low=0.0, high=MAX_PHASE_A, unit="A")
            currents.append(-amps if watts < 0 else amps)
        if "voltage" in values:
            voltages.append(
                bounded(values["voltage"], f"{where} voltage", low=0.0, high=MAX_PHASE_V, unit="V")
            )
    if not seen:
        raise SourceError("no phase 1-3 in the answer")
    measured = [v for v in voltages if v > 0]
    return MeterReading(
        t_s=t_s,
        grid_w=grid,
        voltage_v=sum(measured) / len(measured) if measured else None,
        voltages_v=tuple(voltages) if measured and len(voltages) == seen else None,
        currents_a=tuple(currents) if len(currents) == seen else None,
    )


class SmartPiSource(HttpSource):
    """Polls a SmartPi for the grid power and its phases."""

    async def fetch(self, t_s: float) -> MeterReading:
        return parse_now(await self.get_json(PATH), t_s)

    @classmethod
    def from_config(cls, name: str, config: SmartPiConfig, context: DeviceContext) -> SmartPiSource:
        """Build from a :class:`SmartPiConfig`."""
        auth = None
        if config.username is not None:
            password = config.password.get_secret_value() if config.password else ""
            auth = httpx.BasicAuth(config.username, password)
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            auth=auth,
        )
