"""Enphase Envoy / IQ Gateway (local): ``GET /production.json?details=1``.

The answer lists meters by ``type`` and ``measurementType``: PV is the ``eim`` meter measuring
``production`` (or, without production CTs, the ``inverters`` entry); grid is the
``net-consumption`` meter (``+`` import), whose ``lines`` give per-phase voltage and current (signed
here by the line's power, since Enphase reports the current's magnitude); the home battery (AC
Battery) is in ``storage`` when ``activeCount`` > 0, ``wNow`` ``+`` discharge. Entries are found by
their type, not by their position, because the position changes with what is installed. Without
consumption CTs there is no grid value (None).

Firmware 7 and later need an owner token (``Authorization: Bearer``) and serve HTTPS with a
self-signed certificate.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import EnphaseConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import pv_nonnegative, soc_pct, to_float

__all__ = ["EnphaseSource", "parse_production"]


def _find(
    entries: object, key: str, measurement: str | None, kind: str | None = None
) -> dict[str, Any] | None:
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if measurement is not None and entry.get("measurementType") != measurement:
            continue
        if kind is not None and entry.get("type") != kind:
            continue
        return entry
    return None


def parse_production(data: Any, t_s: float) -> MeterReading:
    """The reading in a production.json answer."""
    if not isinstance(data, dict) or not isinstance(data.get("production"), list):
        raise SourceError("production.json: no 'production' list in the answer")
    production = data["production"]
    pv_entry = _find(production, "production", "production", "eim") or _find(
        production, "production", None, "inverters"
    )
    if pv_entry is None or pv_entry.get("wNow") is None:
        raise SourceError("production.json: no production meter or inverters entry with wNow")
    pv = pv_nonnegative(to_float(pv_entry["wNow"], "production.wNow"))

    grid = None
    voltages: tuple[float, ...] | None = None
    currents: tuple[float, ...] | None = None
    net = _find(data.get("consumption"), "consumption", "net-consumption")
    if net is not None and net.get("wNow") is not None:
        grid = to_float(net["wNow"], "net-consumption.wNow")
        lines = net.get("lines")
        if isinstance(lines, list) and lines:
            volts, amps = [], []
            for i, line in enumerate(lines):
                if not isinstance(line, dict):
                    raise SourceError(f"net-consumption.lines[{i}]: expected an object")
                volts.append(to_float(line.get("rmsVoltage"), f"net-consumption.lines[{i}].rmsVoltage"))
                amp = abs(to_float(line.get("rmsCurrent"), f"net-consumption.lines[{i}].rmsCurrent"))
                w = to_float(line.get("wNow", 0.0), f"net-consumption.lines[{i}].wNow")
                amps.append(-amp if w < 0 else amp)
            voltages, currents = tuple(volts), tuple(amps)

    battery = soc = None
    storage = _find(data.get("storage"), "storage", None, "acb")
    if storage is not None and to_float(storage.get("activeCount", 0), "storage.activeCount") > 0:
        battery = to_float(storage.get("wNow"), "storage.wNow")
        if storage.get("percentFull") is not None:
            soc = soc_pct(to_float(storage["percentFull"], "storage.percentFull"), "storage.percentFull")
    return MeterReading(
        t_s=t_s,
        grid_w=grid,
        pv_w=pv,
        battery_w=battery,
        battery_soc_pct=soc,
        voltage_v=sum(voltages) / len(voltages) if voltages else None,
        voltages_v=voltages,
        currents_a=currents,
    )


class EnphaseSource(HttpSource):
    """Polls an Envoy's production.json."""

    async def fetch(self, t_s: float) -> MeterReading:
        return parse_production(await self.get_json("/production.json", params={"details": "1"}), t_s)

    @classmethod
    def from_config(cls, name: str, config: EnphaseConfig, context: DeviceContext) -> EnphaseSource:
        """Build from an :class:`EnphaseConfig`."""
        headers = {"Authorization": f"Bearer {config.token.get_secret_value()}"} if config.token else None
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            headers=headers,
            verify_tls=config.verify_tls,
        )
