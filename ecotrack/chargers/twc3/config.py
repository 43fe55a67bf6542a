"""Configuration model and driver spec of the Gen3 Wall Connector (light: no httpx import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec

__all__ = ["DRIVERS", "Twc3ChargerConfig"]


class Twc3ChargerConfig(ConfigModel):
    """A Tesla Wall Connector Gen3: its local API reports but takes no current setting.

    Alone it is read-only: its loadpoint observes (state, power, sessions) and ecotrack keeps room on
    shared circuits for the charger's maximum while a car is connected. With ``control_vehicle`` naming a
    car that can be commanded, ecotrack sets the current through that car (``set_charging_amps``,
    ``charge_start``/``charge_stop``, as TWCManager does) while the Wall Connector measures it.
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

    control_vehicle: str | None = Field(
        None,
        min_length=1,
        description="Name of a vehicle (vehicles:) that can be commanded: the current is then set through the "
        "car (1 A up to the lower of max_a and 32 A, stop below 1 A) and measured by the Wall Connector. "
        "null: read-only.",
    )
    max_commands_per_hour: int = Field(
        60, ge=1, le=600, description="With control_vehicle: most raises (start, more amps) sent per hour; cuts always go."
    )
    follow_timeout_s: float = Field(
        30.0,
        ge=5,
        le=40,
        description="With control_vehicle: a car still drawing more than it was told this long after the command "
        "is stopped through the car and its loadpoint shows a fault (s). At most 40 s: a cut not seen within "
        "60 s no longer holds back the other chargers on its circuit.",
    )
    fault_retry_s: float = Field(
        900.0,
        ge=60,
        le=86_400,
        description="With control_vehicle: after such a fault the car is charged again once unplugged and "
        "plugged back in, or after this long (s).",
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
