"""Volkszähler middleware: ``GET <data_path>?from=now&uuid=<channel>`` answers the channel's latest
value as text, e.g. ``1234.5 W`` (a bare number is taken as W times ``scale``)."""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.http.config import VolkszaehlerConfig, VzChannel
from ecotrack.meters.http.mapped import MappedHttpSource, roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import parse_quantity

__all__ = ["VolkszaehlerSource"]


class VolkszaehlerSource(MappedHttpSource):
    """Reads the configured channels from a Volkszähler middleware."""

    def __init__(self, *args: Any, data_path: str = "/api/data.txt", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_path = "/" + data_path.lstrip("/")

    async def read_value(self, role: str, spec: VzChannel) -> tuple[float, str | None]:
        text = await self.get_text(self.data_path, params={"from": "now", "uuid": spec.uuid})
        if not text.strip():
            raise SourceError(f"channel {spec.uuid}: empty answer (no data for now?)")
        return parse_quantity(text, f"channel {spec.uuid}")

    def label(self, spec: Any) -> str:
        return f"channel {spec.uuid}"

    @classmethod
    def from_config(cls, name: str, config: VolkszaehlerConfig, context: DeviceContext) -> VolkszaehlerSource:
        """Build from a :class:`VolkszaehlerConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            mapping=roles_of(config),
            data_path=config.data_path,
        )
