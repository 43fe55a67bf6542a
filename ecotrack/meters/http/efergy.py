"""Efergy Engage hub (cloud API, ``/mobile_proxy``): the power of the account's mains sensors.

``GET /mobile_proxy/getCurrentValuesSummary?token=T`` answers one object per sensor::

    [{"cid": "PWER", "sid": "123456", "units": "kWm", "age": 7,
      "data": [{"1700000000000": 1530}]}]

``cid`` ``PWER`` is a mains (clamp) sensor; its one ``data`` entry maps the upload time (ms) to the
power in W. ``age`` is how many seconds ago the hub uploaded it: a hub that lost its link keeps the
last value forever, so a reading older than ``max_age_s`` is refused rather than used. Other
sensor kinds (temperature, sub-meters) are skipped. Errors come back as
``{"error": {"id": 400, "desc": "bad token", ...}}`` (often with status 200).

The API takes the token only as a query parameter; error messages never show the query, and
:class:`~ecotrack.meters.http.client.QueryRedactor` keeps it out of httpx's request log line.
A clamp has no direction: as ``role: grid`` it reports import only (never export).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import EfergyConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import bounded, pv_nonnegative, to_float

__all__ = ["PATH", "EfergySource", "parse_current_values"]

log = logging.getLogger(__name__)

PATH = "/mobile_proxy/getCurrentValuesSummary"

#: The sensor kind of a mains power clamp.
MAINS = "PWER"


def parse_current_values(data: Any, *, max_age_s: float) -> float:
    """The summed power (W) of the mains sensors in a getCurrentValuesSummary answer."""
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):
            desc = str(error.get("desc") or error.get("more") or "no reason given")[:120]
            hint = (
                "; check the token" if "token" in desc.lower() or error.get("id") in (400, 401, 403) else ""
            )
            raise SourceError(f"Efergy refused the request ({error.get('id')}): {desc}{hint}")
        raise SourceError("expected a list of sensors, got an object")
    if not isinstance(data, list):
        raise SourceError(f"expected a list of sensors, got {type(data).__name__}")
    total: float | None = None
    for i, sensor in enumerate(data):
        if not isinstance(sensor, Mapping):
            raise SourceError(f"sensor {i}: expected an object")
        if sensor.get("cid") != MAINS:
            log.debug("Efergy: skipping sensor %s of kind %r", sensor.get("sid"), sensor.get("cid"))
            continue
        sid = sensor.get("sid", i)
        age = to_float(sensor.get("age", 0), f"sensor {sid}: age")
        if age > max_age_s:
            raise SourceError(
                f"sensor {sid}: last upload {age:g} s ago (more than {max_age_s:g} s): hub offline?"
            )
        entries = sensor.get("data")
        if (
            not isinstance(entries, list)
            or not entries
            or not isinstance(entries[0], Mapping)
            or not entries[0]
        ):
            raise SourceError(f"sensor {sid}: no data")
        value = to_float(next(iter(entries[0].values())), f"sensor {sid}")
        watts = bounded(value, f"sensor {sid}", low=0.0)
        total = watts if total is None else total + watts
    if total is None:
        raise SourceError(f"no mains sensor ({MAINS}) on this account")
    return total


class EfergySource(HttpSource):
    """Polls the Efergy Engage cloud for the mains power."""

    def __init__(
        self, *args: Any, token: str, role: str = "grid", max_age_s: float = 120.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._token = token
        self.role = role
        self.max_age_s = max_age_s

    async def fetch(self, t_s: float) -> MeterReading:
        data = await self.get_json(PATH, params={"token": self._token})
        watts = parse_current_values(data, max_age_s=self.max_age_s)
        if self.role == "pv":
            return MeterReading(t_s=t_s, pv_w=pv_nonnegative(watts))
        return MeterReading(t_s=t_s, grid_w=watts)

    @classmethod
    def from_config(cls, name: str, config: EfergyConfig, context: DeviceContext) -> EfergySource:
        """Build from an :class:`EfergyConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            token=config.token.get_secret_value(),
            role=config.role,
            max_age_s=config.max_age_s,
        )
