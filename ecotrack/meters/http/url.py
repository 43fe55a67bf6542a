"""Generic URL source: each value from its own URL, as a plain number (``1234``, ``1.2 kW``) or
from a JSON answer at a dotted path (``data.grid.power``, ``meters[0].w``)."""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.http.config import UrlConfig, UrlValue
from ecotrack.meters.http.mapped import MappedHttpSource, roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import json_path, parse_quantity, to_float

__all__ = ["UrlSource"]


class UrlSource(MappedHttpSource):
    """Reads each configured value from its URL."""

    async def read_value(self, role: str, spec: UrlValue) -> tuple[float, str | None]:
        if spec.path is None:
            value, unit = parse_quantity(await self.get_text(spec.url), spec.url)
        else:
            node = json_path(await self.get_json(spec.url), spec.path)
            if isinstance(node, str):
                value, unit = parse_quantity(node, spec.path)
            elif node is None:
                raise SourceError(f"{spec.path}: null in the answer (no value)")
            else:
                value, unit = to_float(node, spec.path), None
        return value, unit or spec.unit

    def label(self, spec: Any) -> str:
        return str(spec.path or spec.url)

    def describe(self) -> str:
        return self.name

    @classmethod
    def from_config(cls, name: str, config: UrlConfig, context: DeviceContext) -> UrlSource:
        """Build from a :class:`UrlConfig`."""
        headers = {"Authorization": f"Bearer {config.token.get_secret_value()}"} if config.token else None
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            headers=headers,
            verify_tls=config.verify_tls,
            mapping=roles_of(config),
        )
