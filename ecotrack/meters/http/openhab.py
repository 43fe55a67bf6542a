"""openHAB REST API: ``GET /rest/items/<item>/state`` answers the item's state as plain text.

A Number:Power item answers with its unit (``1234.5 W``, ``1.2 kW``); a plain Number item a bare
number, taken as W (times the configured ``scale``). ``NULL`` and ``UNDEF`` (no value yet, or the
binding lost the device) are errors.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.http.config import OhItem, OpenHabConfig
from ecotrack.meters.http.mapped import MappedHttpSource, roles_of
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import parse_quantity

__all__ = ["OpenHabSource", "parse_item_state"]


def parse_item_state(text: str, item: str) -> tuple[float, str | None]:
    """Value and unit of an item's plain-text state."""
    state = text.strip()
    if state in ("NULL", "UNDEF", ""):
        raise SourceError(f"item {item} is {state or 'empty'} in openHAB (no value)")
    return parse_quantity(state, f"item {item}")


class OpenHabSource(MappedHttpSource):
    """Reads the configured items from openHAB."""

    async def read_value(self, role: str, spec: OhItem) -> tuple[float, str | None]:
        return parse_item_state(await self.get_text(f"/rest/items/{spec.item}/state"), spec.item)

    def label(self, spec: Any) -> str:
        return f"item {spec.item}"

    @classmethod
    def from_config(cls, name: str, config: OpenHabConfig, context: DeviceContext) -> OpenHabSource:
        """Build from an :class:`OpenHabConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            mapping=roles_of(config),
        )
