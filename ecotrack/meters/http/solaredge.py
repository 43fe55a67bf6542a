"""SolarEdge monitoring portal (cloud): the site's current power flow.

``GET /site/<id>/currentPowerFlow?api_key=K`` returns ``siteCurrentPowerFlow`` with ``GRID``,
``LOAD``, ``PV`` and ``STORAGE`` objects whose ``currentPower`` is a magnitude in ``unit`` (W or
kW); the *direction* of grid and battery power is only in ``connections`` (``{"from": "GRID", "to":
"Load"}`` means import). A non-zero grid or storage power with no connection telling its direction
is an error rather than a guess. Objects missing from the answer (no meter, no battery) are None.

The portal allows 300 requests a day per site and key, hence the 5-minute default interval: use it
as a PV meter, not as the grid meter the control loop reacts to.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import SolarEdgeCloudConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import json_path, power_w, pv_nonnegative, soc_pct, to_float

__all__ = ["SolarEdgeCloudSource", "parse_current_power_flow"]


def parse_current_power_flow(data: Any, t_s: float) -> MeterReading:
    """The reading in a currentPowerFlow answer."""
    flow = json_path(data, "siteCurrentPowerFlow")
    if not isinstance(flow, dict):
        raise SourceError("siteCurrentPowerFlow: expected an object")
    unit = flow.get("unit")
    if not isinstance(unit, str):
        raise SourceError("siteCurrentPowerFlow.unit: missing")
    upper = {k.upper(): v for k, v in flow.items()}
    edges: set[tuple[str, str]] = set()
    for conn in flow.get("connections") or []:
        if isinstance(conn, dict) and isinstance(conn.get("from"), str) and isinstance(conn.get("to"), str):
            edges.add((conn["from"].upper(), conn["to"].upper()))

    def magnitude(key: str) -> float | None:
        node = upper.get(key)
        if not isinstance(node, dict) or node.get("currentPower") is None:
            return None
        return abs(
            power_w(to_float(node["currentPower"], f"{key}.currentPower"), unit, f"{key}.currentPower")
        )

    pv = magnitude("PV")
    grid = magnitude("GRID")
    if grid:
        if ("GRID", "LOAD") in edges:
            pass
        elif ("LOAD", "GRID") in edges or ("PV", "GRID") in edges or ("STORAGE", "GRID") in edges:
            grid = -grid
        else:
            raise SourceError(f"GRID.currentPower is {grid:g} W but no connection tells import or export")
    battery = magnitude("STORAGE")
    if battery:
        if any(a == "STORAGE" for a, _ in edges):
            pass
        elif any(b == "STORAGE" for _, b in edges):
            battery = -battery
        else:
            status = str(upper.get("STORAGE", {}).get("status", "")).lower()
            if status == "charging":
                battery = -battery
            elif status != "discharging":
                raise SourceError(
                    f"STORAGE.currentPower is {battery:g} W but no connection tells its direction"
                )
    soc = None
    storage = upper.get("STORAGE")
    if isinstance(storage, dict) and storage.get("chargeLevel") is not None:
        soc = soc_pct(to_float(storage["chargeLevel"], "STORAGE.chargeLevel"), "STORAGE.chargeLevel")
    return MeterReading(
        t_s=t_s,
        grid_w=grid,
        pv_w=pv_nonnegative(pv) if pv is not None else None,
        battery_w=battery,
        battery_soc_pct=soc,
    )


class SolarEdgeCloudSource(HttpSource):
    """Polls the SolarEdge monitoring API for one site."""

    def __init__(self, *args: Any, site_id: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site_id = site_id
        self._api_key = api_key

    async def fetch(self, t_s: float) -> MeterReading:
        data = await self.get_json(
            f"/site/{self.site_id}/currentPowerFlow", params={"api_key": self._api_key}
        )
        return parse_current_power_flow(data, t_s)

    @classmethod
    def from_config(
        cls, name: str, config: SolarEdgeCloudConfig, context: DeviceContext
    ) -> SolarEdgeCloudSource:
        """Build from a :class:`SolarEdgeCloudConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            site_id=config.site_id,
            api_key=config.api_key.get_secret_value(),
        )
