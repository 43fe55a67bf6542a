"""Solar-Log open JSON interface: ``POST /getjp`` with ``{"801":{"170":null}}``.

The answer's ``801.170`` object holds the current values under numeric keys: ``101`` PV power (W),
``110`` consumption (W). Solar-Log reports no grid power, so grid = consumption - PV (``+`` import);
a battery, if any, is not part of that answer and not reported. With the web interface's password
protection on, Solar-Log answers ``ACCESS DENIED`` instead of JSON.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import SolarLogConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import field, json_path, pv_nonnegative

__all__ = ["SolarLogSource", "parse_getjp"]

QUERY = '{"801":{"170":null}}'


def parse_getjp(data: Any, t_s: float) -> MeterReading:
    """The reading in a getjp answer."""
    values = json_path(data, "801.170")
    if not isinstance(values, dict):
        raise SourceError("801.170: expected an object")
    pv = pv_nonnegative(field(values, "101") or 0.0)
    consumption = field(values, "110")
    assert consumption is not None  # field() without optional never returns None
    return MeterReading(t_s=t_s, grid_w=consumption - pv, pv_w=pv)


class SolarLogSource(HttpSource):
    """Polls a Solar-Log's open JSON interface."""

    async def fetch(self, t_s: float) -> MeterReading:
        response = await self.request(
            "POST", "/getjp", content=QUERY, headers={"Content-Type": "application/json"}
        )
        if "ACCESS DENIED" in response.text[:100].upper():
            raise SourceError(
                f"{self.base_url}/getjp: ACCESS DENIED: turn off the password protection of the "
                "Solar-Log's open JSON interface (Configuration, System, Access control)"
            )
        return parse_getjp(self.parse_json(response), t_s)

    @classmethod
    def from_config(cls, name: str, config: SolarLogConfig, context: DeviceContext) -> SolarLogSource:
        """Build from a :class:`SolarLogConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
        )
