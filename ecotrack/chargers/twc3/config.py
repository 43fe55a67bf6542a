"""Configuration model and driver spec of the Gen3 Wall Connector (light: no httpx import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec

__all__ = ["DRIVERS", "Twc3ChargerConfig"]


class Twc3ChargerConfig(ConfigModel):
    """A Tesla Wall Connector Gen3, read-only: its local API reports but takes no current setting.

    Its loadpoint observes (state, power, sessions); ecotrack keeps room on shared circuits for the
    charger's maximum while a car is connected, because nothing here can lower what it delivers.
    """

    type: Literal["twc3"] = Field(description="Charger type.")
    url: str = Field(description="Base URL of the Wall Connector, e.g. http://192.168.1.30.")
    max_a: float = Field(
        32.0,
        ge=6,
        le=48,
        description="The installer's maximum current set at commissioning (A): the most it may deliver.",
    )
    phases: Literal[1, 3] = Field(1, description="Phases the Wall Connector is wired for.")
    poll_s: float = Field(2.0, gt=0, le=60, description="Seconds between two reads of /api/1/vitals.")
    lifetime_every_s: float = Field(
        60.0, gt=0, le=86_400, description="Seconds between two reads of /api/1/lifetime (energy counter)."
    )
    timeout_s: float = Field(3.0, gt=0, le=60, description="Longest wait for an answer (s).")
    offline_after_s: float = Field(
        20.0, gt=0, le=3600, description="No good answer for this long: the charger counts as offline (s)."
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        v = v.strip()
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {v!r}")
        return v.rstrip("/")


#: The Gen3 driver (see :mod:`ecotrack.devices.registry`).
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("charger", "twc3", Twc3ChargerConfig, "ecotrack.chargers.twc3.driver:Twc3Charger.from_config"),
)
