"""The Energy Detective (TED): ``GET /history/export.csv?T=1&D=0&M=1&C=1``.

The CSV export has one line per MTU; the line starting with ``Solar,`` carries the PV power in kW in
its third column, negative when the MTU's clamp counts generation as negative — the magnitude is
PV power. No ``Solar`` line (no solar MTU configured) is an error.
"""

from __future__ import annotations

import csv
import io

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import TedConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import to_float

__all__ = ["TedSource", "parse_export"]

PARAMS = {"T": "1", "D": "0", "M": "1", "C": "1"}


def parse_export(text: str, t_s: float) -> MeterReading:
    """The PV reading in a TED CSV export."""
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].strip() == "Solar":
            if len(row) < 3:
                raise SourceError(f"TED export: the Solar line has {len(row)} columns, expected at least 3")
            kw = to_float(row[2], "TED export Solar kW")
            return MeterReading(t_s=t_s, pv_w=abs(kw) * 1000.0)
    raise SourceError("TED export: no 'Solar' line (is a solar MTU configured?)")


class TedSource(HttpSource):
    """Polls a TED's CSV export for the PV power."""

    async def fetch(self, t_s: float) -> MeterReading:
        return parse_export(await self.get_text("/history/export.csv", params=PARAMS), t_s)

    @classmethod
    def from_config(cls, name: str, config: TedConfig, context: DeviceContext) -> TedSource:
        """Build from a :class:`TedConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
        )
