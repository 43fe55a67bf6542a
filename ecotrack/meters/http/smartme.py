"""smart-me (cloud): ``GET /api/DeviceBySerial?serial=S`` with basic auth.

``ActivePower`` is in kW (or in ``ActivePowerUnit`` when the answer names it), ``+`` for power drawn
through the meter — import when the meter sits at the grid connection. Three-phase meters add
``VoltageL1..3`` and ``CurrentL1..3`` (signed here like ``ActivePowerL1..3`` when those are given).
"""

from __future__ import annotations

from typing import Any

import httpx

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import SmartMeConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import power_w, pv_nonnegative, to_float

__all__ = ["SmartMeSource", "parse_device"]


def _phases(data: dict[str, Any], prefix: str) -> list[float] | None:
    values = [data.get(f"{prefix}L{i}") for i in (1, 2, 3)]
    if values[0] is None:
        return None
    return [to_float(v, f"{prefix}L{i + 1}") for i, v in enumerate(values) if v is not None]


def parse_device(data: Any, t_s: float, *, role: str = "grid", invert: bool = False) -> MeterReading:
    """The reading in a DeviceBySerial answer."""
    if not isinstance(data, dict):
        raise SourceError("DeviceBySerial: expected an object")
    if data.get("ActivePower") is None:
        raise SourceError("DeviceBySerial: no ActivePower in the answer (wrong serial?)")
    unit = data.get("ActivePowerUnit") or "kW"
    watts = power_w(to_float(data["ActivePower"], "ActivePower"), str(unit), "ActivePower")
    watts = -watts if invert else watts
    volts = _phases(data, "Voltage")
    amps = _phases(data, "Current")
    powers = _phases(data, "ActivePower")
    if amps is not None and powers is not None and len(powers) == len(amps):
        amps = [-abs(a) if p < 0 else abs(a) for a, p in zip(amps, powers, strict=True)]
    if amps is not None and invert:
        amps = [-a for a in amps]
    if role == "pv":
        return MeterReading(t_s=t_s, pv_w=pv_nonnegative(watts))
    return MeterReading(
        t_s=t_s,
        grid_w=watts,
        voltage_v=sum(volts) / len(volts) if volts else None,
        voltages_v=tuple(volts) if volts else None,
        currents_a=tuple(amps) if amps else None,
    )


class SmartMeSource(HttpSource):
    """Polls one smart-me meter by serial number."""

    def __init__(
        self, *args: Any, serial: str, role: str = "grid", invert: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.serial = serial
        self.role = role
        self.invert = invert

    async def fetch(self, t_s: float) -> MeterReading:
        data = await self.get_json("/api/DeviceBySerial", params={"serial": self.serial})
        return parse_device(data, t_s, role=self.role, invert=self.invert)

    @classmethod
    def from_config(cls, name: str, config: SmartMeConfig, context: DeviceContext) -> SmartMeSource:
        """Build from a :class:`SmartMeConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            auth=httpx.BasicAuth(config.username, config.password.get_secret_value()),
            serial=config.serial,
            role=config.role,
            invert=config.invert,
        )
