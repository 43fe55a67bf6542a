"""Sources that read each value with its own request (Home Assistant, openHAB, IotaWatt, Volkszähler, URL).

They differ only in how one value is fetched (:meth:`MappedHttpSource.read_value` returns a number
and, when the device says, its unit); mapping the values to grid/PV/battery/SoC with the user's
``scale`` and ``invert`` and the unit conversion are the same for all, and live here. The requests
of one poll run concurrently; if any fails, the whole poll fails (a reading with the grid from now
and PV from a minute ago would be worse than a stale one).
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Any

from ecotrack.meters.base import MeterReading
from ecotrack.meters.config import MappedValue
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.values import ROLES, reading_from_roles, role_value

__all__ = ["MappedHttpSource"]


class MappedHttpSource(HttpSource):
    """An HTTP source whose values are mapped one by one from the configuration's roles."""

    #: Unit of a power that arrives without one (None: that is an error).
    default_unit: str | None = "W"

    def __init__(self, *args: Any, mapping: dict[str, MappedValue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = {role: spec for role, spec in mapping.items() if role in ROLES}

    @abstractmethod
    async def read_value(self, role: str, spec: Any) -> tuple[float, str | None]:
        """Fetch the raw value (and its unit, when the device gives one) for ``role``."""

    def label(self, spec: Any) -> str:
        """How the user named the value (entity, item, output...), for messages."""
        return str(spec)

    async def fetch(self, t_s: float) -> MeterReading:
        roles = list(self.mapping)
        raw = await asyncio.gather(*(self.read_value(role, self.mapping[role]) for role in roles))
        values = {
            role: role_value(
                role,
                value,
                unit,
                self.label(self.mapping[role]),
                invert=self.mapping[role].invert,
                scale=self.mapping[role].scale,
                default_unit=self.default_unit,
            )
            for role, (value, unit) in zip(roles, raw, strict=True)
        }
        return reading_from_roles(t_s, values)


def roles_of(config: Any) -> dict[str, MappedValue]:
    """The configured roles of a mapped config (those not null)."""
    return {role: spec for role in ROLES if isinstance(spec := getattr(config, role, None), MappedValue)}
