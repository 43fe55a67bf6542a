"""Fronius Solar API v1 (local): the site's power flow from one request.

``GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi`` returns ``Body.Data.Site`` with ``P_Grid``
(+ import), ``P_PV``, ``P_Akku`` (+ discharge) and ``P_Load`` (negative: consumption), and per
inverter a ``SOC`` when a battery is attached. Fronius' signs already match the project's.

Nulls are documented: ``P_PV`` is null while the inverters sleep (night) — that is 0 W of PV, not
an unknown; ``P_Akku`` is null without a battery and ``P_Grid`` without a smart meter — those stay
None (not measured). ``Head.Status.Code`` other than 0 is an error with Fronius' own reason.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import FroniusConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import field, json_path, pv_nonnegative, soc_pct, to_float

__all__ = ["PATH", "FroniusSource", "parse_power_flow"]

PATH = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"


def parse_power_flow(data: Any, t_s: float) -> MeterReading:
    """The reading in a GetPowerFlowRealtimeData answer."""
    code = json_path(data, "Head.Status.Code", default=0)
    if code not in (0, None):
        reason = json_path(data, "Head.Status.Reason", default="") or json_path(
            data, "Head.Status.UserMessage", default=""
        )
        raise SourceError(f"Fronius reports status {code}: {reason or 'no reason given'}")
    site = json_path(data, "Body.Data.Site")
    if not isinstance(site, dict):
        raise SourceError("Body.Data.Site: expected an object")
    pv = field(site, "P_PV", optional=True)
    soc: float | None = None
    inverters = json_path(data, "Body.Data.Inverters", default={})
    if isinstance(inverters, dict):
        for key, inverter in sorted(inverters.items()):
            if isinstance(inverter, dict) and inverter.get("SOC") is not None:
                soc = soc_pct(to_float(inverter["SOC"], f"Body.Data.Inverters.{key}.SOC"), "SOC")
                break
    return MeterReading(
        t_s=t_s,
        grid_w=field(site, "P_Grid", optional=True),
        pv_w=pv_nonnegative(pv) if pv is not None else 0.0,
        battery_w=field(site, "P_Akku", optional=True),
        battery_soc_pct=soc,
    )


class FroniusSource(HttpSource):
    """Polls a Fronius inverter's (or Datamanager's) power flow."""

    async def fetch(self, t_s: float) -> MeterReading:
        return parse_power_flow(await self.get_json(PATH, params={"Scope": "System"}), t_s)

    @classmethod
    def from_config(cls, name: str, config: FroniusConfig, context: DeviceContext) -> FroniusSource:
        """Build from a :class:`FroniusConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
        )
